// Online store reads: write N entities (default 100,000) of a realistic 20-feature provider set to
// Redis, MySQL and SQLite through the stores the service uses, then time R reads (default 2,000)
// of 500 random entities each, one at a time, and print p50/p95/p99 per backend (target: p99 under
// 3 ms on Redis). Redis runs three value formats side by side, each in its own worker thread, reads
// interleaved; the database stores are the peer: what serving costs without Redis.
//   npm run bench -- bench/online-read.ts [entities] [reads] [batch]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import type { FeatureSetRef, FeatureValues } from '../pipelines/features/feature-set.js';
import { createDbOnlineStore } from '../pipelines/features/store/db-online-store.js';
import type { FeatureRow, OnlineStore } from '../pipelines/features/store/feature-store.types.js';
import { createRedisOnlineStore, type RedisOnlineStoreOptions } from '../pipelines/features/store/redis-online-store.js';
import { createDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';
import { uniform } from '../pipelines/synthetic/random.js';

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

const SKILLS = ['typescript', 'react', 'node', 'python', 'sql', 'figma', 'seo', 'copywriting', 'aws', 'docker', 'go', 'excel'];
const COUNTRIES = [['DE', 'Europe/Berlin', 'EUR', 1], ['US', 'America/New_York', 'USD', -5], ['PL', 'Europe/Warsaw', 'PLN', 1], ['JP', 'Asia/Tokyo', 'JPY', 9]] as const;

function entityRows(): FeatureRow[] {
  const r = uniform(7);
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

interface Timed { ms: number; cpuUs: number; found: number }

/** One store under test; the Redis ones each live in their own worker thread (see below). */
interface Contender {
  label: string;
  /** Writes every row; the seconds it took. */
  write(): Promise<number>;
  read(keys: string[]): Promise<Timed>;
  valueBytes?(): Promise<number>;
  close(): Promise<void>;
}

async function writeAll(store: OnlineStore, rows: FeatureRow[]): Promise<number> {
  const t = performance.now();
  const chunk = 5_000;
  for (let i = 0; i < rows.length; i += chunk) await store.write(rows.slice(i, i + chunk), NOW);
  return (performance.now() - t) / 1000;
}

/** Client CPU per read as well: on a shared box the wall-clock tail mostly measures the neighbours. */
async function timedRead(store: OnlineStore, keys: string[]): Promise<Timed> {
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const res = await store.read(SET, keys, NOW);
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuUs: cpu.user + cpu.system, found: res.filter((x) => x.found).length };
}

const localContender = (label: string, store: OnlineStore, rows: FeatureRow[]): Contender => ({
  label, write: () => writeAll(store, rows), read: (keys) => timedRead(store, keys), close: async () => {},
});

/**
 * Writes the rows through every contender, then times the reads round-robin: read i asks every
 * contender for the same 500 keys back to back, so on a shared box they all meet the same noise.
 */
async function run(contenders: Contender[], rows: FeatureRow[]): Promise<void> {
  const writeS: number[] = [];
  for (const c of contenders) writeS.push(await c.write());
  const r = uniform(11);
  const keys = () => Array.from({ length: BATCH }, () => rows[Math.floor(r() * rows.length)]!.entityKey);
  for (let i = 0; i < 100; i++) for (const c of contenders) await c.read(keys()); // warm up connections and the JIT
  const times = contenders.map((): number[] => []);
  const cpu = contenders.map(() => 0);
  const found = contenders.map(() => 0);
  for (let i = 0; i < READS; i++) {
    const ks = keys();
    for (const [n, c] of contenders.entries()) {
      const res = await c.read(ks);
      times[n]!.push(res.ms);
      cpu[n]! += res.cpuUs;
      found[n]! += res.found;
    }
  }
  const f = (ms: number) => `${ms.toFixed(2)} ms`;
  for (const [n, c] of contenders.entries()) {
    const ts = times[n]!.sort((a, b) => a - b);
    const bytes = c.valueBytes ? `, ${await c.valueBytes()} B/value` : '';
    console.log(`${c.label.padEnd(20)} write ${rows.length.toLocaleString('en')} rows: ${Math.round(rows.length / writeS[n]!).toLocaleString('en')} rows/s${bytes} | `
      + `read ${READS} × ${BATCH}: p50 ${f(pct(ts, 0.5))}, p95 ${f(pct(ts, 0.95))}, p99 ${f(pct(ts, 0.99))}, max ${f(ts.at(-1)!)}, client CPU ${f(cpu[n]! / 1000 / READS)}/read `
      + `(${found[n] === READS * BATCH ? 'all found' : `${found[n]} found`}; load average ${loadavg()[0]!.toFixed(1)})`);
  }
}

// The Redis value formats: the first one (JSON {e, c, v}); the binary one with the values as a JSON
// object (the store not told the set) and as a msgpack array in feature order (told the set, as the
// service is). Each is measured in a worker thread of its own: in one isolate the three
// would share the decoding call sites and slow each other down (polymorphic inline caches), which
// no serving process meets. Each worker has its own connection and key prefix.
const VARIANTS = {
  json: { label: 'redis json (before)', opts: { format: 'json' } },
  object: { label: 'redis binary object', opts: { sets: [] } },
  array: { label: 'redis binary array', opts: {} },
} satisfies Record<string, { label: string; opts: Partial<RedisOnlineStoreOptions> }>;
type Variant = keyof typeof VARIANTS;
type Request = { op: 'write' } | { op: 'read'; keys: string[] } | { op: 'bytes' } | { op: 'close' };

async function serveVariant(variant: Variant, prefix: string): Promise<void> {
  const rows = entityRows();
  const redis = new Redis(REDIS_URL);
  const store = createRedisOnlineStore({ redis, prefix: `${prefix}:${variant}`, sets: [SET], ...VARIANTS[variant].opts });
  parentPort!.on('message', (req: Request) => {
    const answer = req.op === 'write' ? writeAll(store, rows)
      : req.op === 'read' ? timedRead(store, req.keys)
        : req.op === 'bytes' ? redis.strlen(`${prefix}:${variant}:fo:${SET.name}:${SET.version}:${rows[0]!.entityKey}`)
          : redis.quit();
    void answer.then((result) => parentPort!.postMessage({ result }), (err: unknown) => parentPort!.postMessage({ error: String(err) }))
      .then(() => { if (req.op === 'close') parentPort!.close(); });
  });
}

function workerContender(variant: Variant, prefix: string): Contender {
  // The worker runs this file again through tsx's loader, which a Node 20 worker does not inherit.
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { variant, prefix } });
  const ask = <T>(req: Request) => new Promise<T>((resolve, reject) => {
    worker.once('message', (m: { result?: T; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.result as T)));
    worker.postMessage(req);
  });
  return {
    label: VARIANTS[variant].label,
    write: () => ask<number>({ op: 'write' }),
    read: (keys) => ask<Timed>({ op: 'read', keys }),
    valueBytes: () => ask<number>({ op: 'bytes' }),
    close: async () => { await ask({ op: 'close' }); await worker.terminate(); },
  };
}

async function withDatabase(label: string, url: string, rows: FeatureRow[], cleanup: () => Promise<void>): Promise<void> {
  let handle: DatabaseHandle | undefined;
  try {
    handle = createDatabase({ url });
    await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
    await run([localContender(label, createDbOnlineStore({ db: handle.db }), rows)], rows);
  } finally {
    await handle?.close();
    await cleanup();
  }
}

async function main(): Promise<void> {
  const rows = entityRows();
  console.log(`${ENTITIES.toLocaleString('en')} entities × ${SET.features.length} features, ~${Math.round(JSON.stringify(rows[0]!.values).length)} bytes of JSON each`);
  const prefix = `gibench:${uniqueName('online')}`;
  const contenders = (Object.keys(VARIANTS) as Variant[]).map((v) => workerContender(v, prefix));
  try {
    await run(contenders, rows);
  } finally {
    for (const c of contenders) await c.close();
    await deleteRedisKeys(prefix);
  }
  const name = uniqueName('gi_bench_online');
  await withDatabase('mysql', await createMysqlDatabase(name), rows, () => dropMysqlDatabase(name));
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-online-'));
  await withDatabase('sqlite', `sqlite:${join(dir, 'online.db')}`, rows, async () => rmSync(dir, { recursive: true, force: true }));
}

if (isMainThread) await main();
else await serveVariant((workerData as { variant: Variant }).variant, (workerData as { prefix: string }).prefix);
