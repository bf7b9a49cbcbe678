// Streamed downloads over HTTP (issue #9: time to first byte under 500 ms): `gigintel serve api` on
// MariaDB with a ledger of N transactions, then GET /v1/exports/transactions as CSV and XLSX for the
// whole range — time to the response headers, to the first body byte, and to the last.
// Run: npm run bench -- bench/exports-download.ts [rows, default 1000000] [rounds, default 3]
import { get } from 'node:http';
import { loadavg } from 'node:os';
import { createPool } from 'mysql2/promise';
import { cleanEnv, freePort, median, start, stop, waitFor } from './bench-lib.js';
import { MYSQL_SERVER_URL } from '../tests/helpers/test-env.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 3);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const ADMIN = 'gi_bench_exports_admin_key_0123456789';
const name = `gi_bench_exports_${Date.now().toString(36)}`;
const DAY = 86_400_000;
const end = Math.floor(Date.now() / DAY) * DAY;

interface Timing { headersMs: number; firstByteMs: number; totalMs: number; bytes: number; rssMb: number }

function download(url: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let firstByteMs = -1;
    let bytes = 0;
    get(url, { headers: { authorization: `Bearer ${ADMIN}` } }, (res) => {
      const headersMs = performance.now() - t0;
      if (res.statusCode !== 200) { reject(new Error(`HTTP ${res.statusCode}`)); res.resume(); return; }
      res.on('data', (c: Buffer) => { if (firstByteMs < 0) firstByteMs = performance.now() - t0; bytes += c.length; });
      res.on('end', () => resolve({ headersMs, firstByteMs, totalMs: performance.now() - t0, bytes, rssMb: 0 }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const admin = createPool({ uri: MYSQL_SERVER_URL, connectionLimit: 2 });
await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
const url = `${MYSQL_SERVER_URL}/${name}`;
const env = cleanEnv({
  GIGINTEL_DATABASE_URL: url, GIGINTEL_ADMIN_KEY: ADMIN, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_FEATURE_DEMO_SEED: 'false',
  GIGINTEL_SCORING_MODELS: '', GIGINTEL_RATE_LIMIT_ENABLED: 'false',
});
let server: ReturnType<typeof start> | null = null;
try {
  const migrate = start(process.execPath, ['bin/gigintel.js', 'migrate', 'up'], env);
  await new Promise((r) => migrate.once('exit', r));
  // The ledger: a million rows across 30 days, three currencies, every kind.
  const kinds = ['escrow_deposit', 'escrow_release', 'refund', 'wallet_topup', 'payout', 'platform_fee'];
  const currencies = ['USD', 'EUR', 'JPY'];
  const started = performance.now();
  const db = createPool({ uri: url, connectionLimit: 2 });
  for (let b = 0; b < rows; b += 1000) {
    const values: unknown[] = [];
    for (let i = b; i < Math.min(rows, b + 1000); i += 1) {
      const at = end - 30 * DAY + Math.floor((i / rows) * 30 * DAY);
      values.push([`t_${i}`, kinds[i % kinds.length], 'succeeded', 100 + (i * 7919) % 500_000, currencies[i % 3], `k_${i}`, `u_${i % 50_000}`, at, at]);
    }
    await db.query('INSERT INTO `transaction` (id, kind, status, amount_minor, currency, idempotency_key, user_id, event_at, ingested_at) VALUES ?', [values]);
  }
  await db.end();
  console.log(`ledger: ${rows.toLocaleString('en')} transactions inserted in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const port = await freePort();
  server = start(process.execPath, ['bin/gigintel.js', 'serve', 'api', '--port', String(port)], env);
  await waitFor(`http://127.0.0.1:${port}/readyz`, 120_000);
  const range = `from=${new Date(end - 30 * DAY).toISOString().slice(0, 10)}&to=${new Date(end + DAY).toISOString().slice(0, 10)}`;
  console.log(`GET /v1/exports/transactions, ${rows.toLocaleString('en')} rows, ${rounds} rounds, medians; load before ${load()}`);
  for (const format of ['csv', 'xlsx'] as const) {
    const runs: Timing[] = [];
    for (let r = 0; r < rounds; r += 1) runs.push(await download(`http://127.0.0.1:${port}/v1/exports/transactions?format=${format}&${range}`));
    const ttfb = median(runs.map((x) => x.firstByteMs));
    const total = median(runs.map((x) => x.totalMs));
    console.log(`  ${format.padEnd(4)} headers ${median(runs.map((x) => x.headersMs)).toFixed(0)} ms, first byte ${ttfb.toFixed(0)} ms (target < 500: ${ttfb < 500 ? 'met' : 'MISSED'}), `
      + `whole file ${(total / 1000).toFixed(1)} s = ${Math.round(rows / (total / 1000)).toLocaleString('en')} rows/s, ${(runs[0]!.bytes / 1e6).toFixed(1)} MB; load ${load()}`);
  }
} finally {
  if (server) await stop(server);
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}
