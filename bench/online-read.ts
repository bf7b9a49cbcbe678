// Online store reads: write N entities (default 100,000) of a realistic 20-feature provider set to
// Redis, MySQL and SQLite through the stores the service uses, then time R reads (default 2,000)
// of 500 random entities each, one at a time, and print p50/p95/p99 per backend (target: p99 under
// 3 ms on Redis). The database stores are the peer: what serving costs without Redis.
//   npm run bench -- bench/online-read.ts [entities] [reads] [batch]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { FeatureSetRef, FeatureValues } from '../pipelines/features/feature-set.js';
import { createDbOnlineStore } from '../pipelines/features/store/db-online-store.js';
import type { FeatureRow, OnlineStore } from '../pipelines/features/store/feature-store.types.js';
import { createRedisOnlineStore } from '../pipelines/features/store/redis-online-store.js';
import { createDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';

const ENTITIES = Number(process.argv[2] ?? 100_000);
const READS = Number(process.argv[3] ?? 2_000);
const BATCH = Number(process.argv[4] ?? 500);
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 25);

const SET: FeatureSetRef = {
  name: 'provider_profile', version: 1, features: [
    ['rating_smoothed', 30 * DAY], ['log_review_count', 30 * DAY], ['response_rate', 7 * DAY], ['completion_rate', 30 * DAY],
    ['days_since_active', DAY], ['hourly_rate_minor', 30 * DAY], ['currency', null], ['country', null], ['timezone', null],
    ['utc_offset_h', null], ['level', 30 * DAY], ['seniority_years', 30 * DAY], ['skills', 30 * DAY], ['skill_weights', 30 * DAY],
    ['seo_tags', 30 * DAY], ['is_verified', null], ['proposals_7d', DAY], ['hires_30d', DAY], ['connections', 7 * DAY], ['top_category', 30 * DAY],
  ].map(([name, ttlMs]) => ({ name: name as string, ttlMs: ttlMs as number | null })),
};

/** mulberry32: every run writes and reads the same entities. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SKILLS = ['typescript', 'react', 'node', 'python', 'sql', 'figma', 'seo', 'copywriting', 'aws', 'docker', 'go', 'excel'];
const COUNTRIES = [['DE', 'Europe/Berlin', 'EUR', 1], ['US', 'America/New_York', 'USD', -5], ['PL', 'Europe/Warsaw', 'PLN', 1], ['JP', 'Asia/Tokyo', 'JPY', 9]] as const;

function entityRows(): FeatureRow[] {
  const r = rng(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: ENTITIES }, (_, i) => {
    const [country, timezone, currency, offset] = pick(COUNTRIES);
    const skills = [...new Set(Array.from({ length: 3 + Math.floor(r() * 6) }, () => pick(SKILLS)))];
    const reviews = Math.floor(r() * 300);
    const values: FeatureValues = {
      rating_smoothed: 3.5 + r() * 1.5, log_review_count: Math.log1p(reviews), response_rate: r(), completion_rate: 0.5 + r() / 2,
      days_since_active: Math.floor(r() * 60), hourly_rate_minor: 1_000 + Math.floor(r() * 15_000), currency, country, timezone,
      utc_offset_h: offset, level: pick(['entry', 'intermediate', 'expert']), seniority_years: Math.floor(r() * 20), skills,
      skill_weights: skills.map(() => r()), seo_tags: skills.slice(0, 3).map((s) => `${s}-freelancer`), is_verified: r() < 0.6,
      proposals_7d: Math.floor(r() * 15), hires_30d: Math.floor(r() * 4), connections: Math.floor(r() * 500), top_category: pick(['dev', 'design', 'writing', 'data']),
    };
    return { featureSet: SET.name, version: SET.version, entityKey: `prov_${i.toString(36).padStart(6, '0')}`, eventAt: NOW - Math.floor(r() * DAY), values };
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function run(label: string, store: OnlineStore, rows: FeatureRow[]): Promise<void> {
  let t = performance.now();
  const chunk = 5_000;
  for (let i = 0; i < rows.length; i += chunk) await store.write(rows.slice(i, i + chunk), NOW);
  const writeS = (performance.now() - t) / 1000;

  const r = rng(11);
  const keys = () => Array.from({ length: BATCH }, () => rows[Math.floor(r() * rows.length)]!.entityKey);
  for (let i = 0; i < 100; i++) await store.read(SET, keys(), NOW); // warm up connections and the JIT
  const times: number[] = [];
  let found = 0;
  // Client CPU per read as well: on a shared box the wall-clock tail mostly measures the neighbours.
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < READS; i++) {
    const ks = keys();
    t = performance.now();
    const res = await store.read(SET, ks, NOW);
    times.push(performance.now() - t);
    found += res.filter((x) => x.found).length;
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(`${label.padEnd(8)} write ${rows.length.toLocaleString('en')} rows: ${Math.round(rows.length / writeS).toLocaleString('en')} rows/s | `
    + `read ${READS} × ${BATCH}: p50 ${f(pct(times, 0.5))}, p95 ${f(pct(times, 0.95))}, p99 ${f(pct(times, 0.99))}, max ${f(times.at(-1)!)}, client CPU ${f((cpu.user + cpu.system) / 1000 / READS)}/read `
    + `(${found === READS * BATCH ? 'all found' : `${found} found`}; load average ${loadavg()[0]!.toFixed(1)})`);
}

const rows = entityRows();
console.log(`${ENTITIES.toLocaleString('en')} entities × ${SET.features.length} features, ~${Math.round(JSON.stringify(rows[0]!.values).length)} bytes of JSON each`);

const prefix = `gibench:${uniqueName('online')}`;
const redis = new Redis(REDIS_URL);
try {
  await run('redis', createRedisOnlineStore({ redis, prefix, sets: [SET] }), rows);
} finally {
  await deleteRedisKeys(prefix);
  await redis.quit();
}

async function withDatabase(label: string, url: string, cleanup: () => Promise<void>): Promise<void> {
  let handle: DatabaseHandle | undefined;
  try {
    handle = createDatabase({ url });
    await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    await run(label, createDbOnlineStore({ db: handle.db }), rows);
  } finally {
    await handle?.close();
    await cleanup();
  }
}

const name = uniqueName('gi_bench_online');
await withDatabase('mysql', await createMysqlDatabase(name), () => dropMysqlDatabase(name));
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-online-'));
await withDatabase('sqlite', `sqlite:${join(dir, 'online.db')}`, async () => rmSync(dir, { recursive: true, force: true }));
