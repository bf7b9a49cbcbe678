// Bulk import throughput and memory: generate an N-row providers CSV (default 1,000,000), import it
// into a fresh MySQL database through the same core the CLI and the API use, and print rows/s and
// the RSS at 10 %, 50 % and 100 % of the bytes read (it must stay flat), plus the peak.
// Run: npm run bench -- bench/import.ts [rows] [chunkSize] [concurrency]
// (node --expose-gc --import tsx bench/import.ts … adds the live heap to the memory figures)
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { importRows } from '../pipelines/import/import-rows.js';
import { createDatabase } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createMysqlDatabase, dropMysqlDatabase, uniqueName } from '../tests/helpers/test-env.js';
import { uniform } from '../pipelines/synthetic/random.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const CHUNK = Number(process.argv[3] ?? 2_500);
const CONC = Number(process.argv[4] ?? 4);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
// With node --expose-gc, also the live heap after a full collection: tells growth from garbage.
const gc = (globalThis as { gc?: () => void }).gc;
const memory = () => {
  const rss = process.memoryUsage().rss;
  if (!gc) return `RSS ${mb(rss)}`;
  gc();
  return `RSS ${mb(rss)}, live heap ${mb(process.memoryUsage().heapUsed)}`;
};

const COUNTRIES = [['DE', 'Europe/Berlin', 'EUR'], ['US', 'America/New_York', 'USD'], ['GB', 'Europe/London', 'GBP'],
  ['JP', 'Asia/Tokyo', 'JPY'], ['BR', 'America/Sao_Paulo', 'BRL'], ['PL', 'Europe/Warsaw', 'PLN'], ['PH', 'Asia/Manila', 'PHP']] as const;
const ROLES = ['TypeScript engineer', 'UI/UX designer', 'Data analyst', 'Copywriter', 'DevOps engineer', 'Mobile developer', 'SEO specialist', 'Video editor'];
const ADJ = ['Senior', 'Freelance', 'Certified', 'Full-stack', 'Lead', 'Junior', 'Bilingual'];
const LEVELS = ['entry', 'intermediate', 'expert'];


async function generate(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  const r = uniform(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  out.write('id,headline,hourly_rate_minor,currency,country,timezone,level,rating,review_count,response_rate,completed_jobs,joined_at,last_active_at\n');
  const start = Date.UTC(2019, 0, 1);
  let buf = '';
  for (let i = 1; i <= rows; i++) {
    const [country, tz, currency] = pick(COUNTRIES);
    const reviews = Math.floor(r() * 200);
    const joined = start + Math.floor(r() * 6 * 365 * 86_400_000);
    buf += `prov_${i.toString(36).padStart(6, '0')},"${pick(ADJ)} ${pick(ROLES)}, ${1 + Math.floor(r() * 20)} years",${500 + Math.floor(r() * 20_000)},` +
      `${currency},${country},${tz},${pick(LEVELS)},${reviews ? (3 + r() * 2).toFixed(2) : ''},${reviews},${r().toFixed(3)},${Math.floor(reviews * 1.3)},` +
      `${new Date(joined).toISOString()},${joined + Math.floor(r() * 300 * 86_400_000)}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-import-'));
const name = uniqueName('gi_bench_import');
const file = join(dir, 'providers.csv');
try {
  let t = performance.now();
  await generate(file, ROWS);
  const size = statSync(file).size;
  console.log(`generated ${ROWS.toLocaleString('en')} rows (${mb(size)}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const url = await createMysqlDatabase(name);
  const handle = createDatabase({ url });
  try {
    await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    const marks = [0.1, 0.5];
    const seen: string[] = [];
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    const rssAtStart = process.memoryUsage().rss;
    t = performance.now();
    const report = await importRows({
      db: handle.db, table: 'provider', format: 'csv', input: createReadStream(file, { highWaterMark: 1 << 16 }), chunkSize: CHUNK, concurrency: CONC,
      onProgress: (p) => {
        while (marks.length && p.bytes >= size * marks[0]!) {
          seen.push(`${marks.shift()! * 100}%: ${p.rows.toLocaleString('en')} rows, ${memory()}`);
        }
      },
    });
    clearInterval(sampler);
    const secs = (performance.now() - t) / 1000;
    seen.push(`100%: ${report.rows.toLocaleString('en')} rows, ${memory()}`);
    const count = (await sql<{ n: number }>`select count(*) as n from provider`.execute(handle.db)).rows[0]!.n;
    console.log(`imported ${report.written.toLocaleString('en')} rows (${report.rejected} rejected; ${Number(count).toLocaleString('en')} in the table) ` +
      `in ${secs.toFixed(1)} s with chunks of ${CHUNK}, ${CONC} in flight: ${Math.round(report.rows / secs).toLocaleString('en')} rows/s`);
    console.log(`RSS at start ${mb(rssAtStart)}; ${seen.join('; ')}; peak ${mb(peak)}`);

    // The same file again: every row identical, nothing rewritten.
    t = performance.now();
    const again = await importRows({ db: handle.db, table: 'provider', format: 'csv', input: createReadStream(file), chunkSize: CHUNK, concurrency: CONC });
    const secs2 = (performance.now() - t) / 1000;
    console.log(`re-import (no changes): ${Math.round(again.rows / secs2).toLocaleString('en')} rows/s`);
  } finally {
    await handle.close();
    await dropMysqlDatabase(name);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
