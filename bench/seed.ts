// Seeding the synthetic marketplace at benchmark scale into a fresh SQLite file and a fresh MySQL
// database, timed separately (migrations excluded). Target: under 60 s each.
//   npm run bench -- bench/seed.ts [providers=100000] [jobs=20000] [events=1000000] [mysql server URL]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from 'mysql2/promise';
import { createDatabase } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { seedMarketplace } from '../pipelines/synthetic/seed-marketplace.js';

const [providers = 100_000, jobs = 20_000, events = 1_000_000] = process.argv.slice(2, 5).map(Number);
const mysqlServer = process.argv[5] ?? 'mysql://root@127.0.0.1:3306';
const options = { providers, jobs, events, days: 30, seed: 'bench' };

async function run(label: string, url: string): Promise<void> {
  const handle = createDatabase({ url });
  try {
    await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    const phases: string[] = [];
    let last = performance.now();
    const summary = await seedMarketplace(handle.db, options, (phase, done, total) => {
      if (done !== total) return;
      const now = performance.now();
      phases.push(`${phase} ${((now - last) / 1000).toFixed(1)} s`);
      last = now;
    });
    const rows = Object.values(summary.rows).reduce((a, b) => a + b, 0);
    process.stdout.write(`${label.padEnd(7)} ${(summary.ms / 1000).toFixed(1)} s  ${rows} rows (${summary.eventRows} events), ${Math.round(rows / (summary.ms / 1000))} rows/s\n`);
    process.stdout.write(`        phases (generation and writing interleaved): ${phases.join(', ')}\n`);
  } finally {
    await handle.close();
  }
}

process.stdout.write(`seed: ${providers} providers, ${jobs} jobs, ${events} events target\n`);
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-seed-'));
try {
  await run('sqlite', `sqlite:${join(dir, 'seed.db')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const name = `gi_bench_seed_${process.pid}`;
const admin = createPool({ uri: mysqlServer, connectionLimit: 1 });
await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
try {
  await run('mysql', `${mysqlServer}/${name}`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}
