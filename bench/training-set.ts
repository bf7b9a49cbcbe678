// A point-in-time training set of 500,000 labelled rows on MySQL, and the same join in pandas as
// the peer, in the same run. Generates proposals (labels), hires and a realistic feature history
// (several rows per entity over time, ~10% of batch rows backfilled days later) directly in a fresh
// MySQL database; times `buildDataset` (target < 60 s), then the join alone in both (gigintel's
// in-memory join of the three stored sets vs pandas' merge_asof on CSV exports of the same inputs).
//   npm run bench -- bench/training-set.ts [labels=500000] [providers=50000] [jobs=10000] [mysql server URL]
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertNewRows } from '../pipelines/contract/source.repository.js';
import { buildDataset } from '../pipelines/datasets/build-dataset.js';
import { matchingSpec } from '../pipelines/datasets/matching-dataset.js';
import { loadHistoryIndex, pointInTimeJoin, type HistoryIndex } from '../pipelines/datasets/point-in-time-join.js';
import { featureSet } from '../pipelines/features/definitions/catalog.js';
import type { FeatureType, FeatureValue, FeatureValues } from '../pipelines/features/feature-set.js';
import { appendHistory, scanHistory } from '../pipelines/features/store/offline-store.repository.js';
import type { StoredFeatureRow } from '../pipelines/features/store/feature-store.types.js';
import { createDatabase, type Db } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createMysqlDatabase, dropMysqlDatabase, MYSQL_SERVER_URL, uniqueName } from '../tests/helpers/test-env.js';
import { uniform } from '../pipelines/synthetic/random.js';

const [LABELS = 500_000, PROVIDERS = 50_000, JOBS = 10_000] = process.argv.slice(2, 5).map(Number);
process.env.TEST_MYSQL_URL ??= process.argv[5] ?? MYSQL_SERVER_URL;
const H = 3_600_000, DAY = 24 * H;
const T0 = Date.UTC(2026, 9, 1), DAYS = 30, FROM = T0, TO = T0 + DAYS * DAY;
const SKILLS = 200, CLIENTS = 2_000, CATEGORIES = 20;
const ZONES: [string, number][] = [['UTC', 0], ['America/New_York', -4], ['Europe/Berlin', 2], ['Asia/Kolkata', 5.5]];

// Seeded: the same data every run.
const rand = uniform(42);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const some = (prefix: string, n: number, lo: number, hi: number) => [...new Set(Array.from({ length: int(lo, hi) }, () => `${prefix}${int(1, n)}`))].sort();
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ms = (t: number) => `${(t / 1000).toFixed(1)} s`;

/** Plausible values for a set's features: by name where the pair transforms read them, by type otherwise. */
function values(set: string, key: string, asOf: number): FeatureValues {
  const out: FeatureValues = {};
  const zone = pick(ZONES);
  const known: Record<string, () => FeatureValue> = {
    provider_id: () => key, skill_ids: () => some('sk', SKILLS, 3, 8), qualification_ids: () => some('q', 20, 0, 2),
    categories: () => some('cat', CATEGORIES, 1, 3), parent_categories: () => some('pcat', 5, 1, 2), hourly_rate_minor: () => int(1500, 15000),
    currency: () => 'USD', country: () => 'US', timezone: () => zone[0], utc_offset_h: () => zone[1], seniority: () => int(0, 2),
    smoothed_rating: () => r3(3.5 + rand() * 1.5), log_review_count: () => r3(Math.log1p(int(0, 200))), response_rate: () => r3(rand()),
    completion_rate: () => r3(rand()), last_active_at: () => asOf - int(0, 5 * DAY), days_since_active: () => r3(rand() * 5),
    client_ids: () => some('c', CLIENTS, 0, 3), seo_tags: () => some('tag', 50, 0, 4),
    required_skill_ids: () => some('sk', SKILLS, 2, 5), nice_skill_ids: () => some('sk', SKILLS, 0, 3), category_id: () => `cat${int(1, CATEGORIES)}`,
    parent_category_id: () => `pcat${int(1, 5)}`, budget_min_minor: () => int(10_000, 50_000), budget_max_minor: () => int(50_000, 200_000),
    fixed_price_minor: () => null, estimated_hours: () => 20, hourly_budget_min_minor: () => int(1000, 3000), hourly_budget_max_minor: () => int(3000, 12000),
    client_id: () => `c${int(1, CLIENTS)}`, client_timezone: () => zone[0], client_utc_offset_h: () => zone[1], wanted_seniority: () => int(0, 2),
    idf: () => r3(1 + rand() * 4),
  };
  const byType: Record<FeatureType, () => FeatureValue> = {
    float: () => r3(rand() * 10), int: () => int(0, 50), bool: () => rand() < 0.5, string: () => `v${int(1, 5)}`, string_list: () => [], float_list: () => [],
  };
  for (const f of featureSet(set).features) out[f.name] = (known[f.name] ?? byType[f.type])();
  return out;
}

async function generate(db: Db): Promise<number> {
  const started = performance.now();
  const chunked = async <T>(rows: T[], write: (c: T[]) => Promise<unknown>, size = 5000) => {
    for (let i = 0; i < rows.length; i += size) await write(rows.slice(i, i + size));
  };
  const person = { country: 'US', timezone: 'UTC', joined_at: 0, updated_at: 0 };
  await chunked(Array.from({ length: CLIENTS }, (_, i) => ({ id: `c${i + 1}`, name: 'client', ...person })), (c) => insertNewRows(db, 'client', ['id'], c));
  await chunked(Array.from({ length: PROVIDERS }, (_, i) => ({ id: `p${i + 1}`, headline: 'p', hourly_rate_minor: 5000, currency: 'USD', level: 'expert', review_count: 0, completed_jobs: 0, ...person })),
    (c) => insertNewRows(db, 'provider', ['id'], c));
  await chunked(Array.from({ length: JOBS }, (_, i) => ({ id: `j${i + 1}`, client_id: `c${int(1, CLIENTS)}`, kind: 'hourly', title: 'j', currency: 'USD', posted_at: 0, status: 'open', updated_at: 0 })),
    (c) => insertNewRows(db, 'job', ['id'], c));
  // Proposals: busy providers send many (a skewed draw), uniform over the window; ~4% end in a hire.
  const proposals: Record<string, unknown>[] = [], hires: Record<string, unknown>[] = [];
  for (let i = 0; i < LABELS; i++) {
    const provider = `p${1 + Math.floor(PROVIDERS * rand() ** 2)}`, job = `j${int(1, JOBS)}`, at = FROM + Math.floor(rand() * (TO - FROM));
    proposals.push({ id: `pr${i}`, provider_id: provider, job_id: job, price_minor: 1000, currency: 'USD', event_at: at, ingested_at: at + 1000 });
    if (rand() < 0.04) hires.push({ id: `h${i}`, job_id: job, provider_id: provider, proposal_id: `pr${i}`, amount_minor: 1000, currency: 'USD', event_at: at + DAY, ingested_at: at + DAY });
  }
  await chunked(proposals, (c) => insertNewRows(db, 'proposal', ['id'], c));
  await chunked(hires, (c) => insertNewRows(db, 'hire', ['id'], c));
  const edges = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < 100_000; i++) {
    const a = `p${int(1, PROVIDERS)}`, b = rand() < 0.5 ? `c${int(1, CLIENTS)}` : `p${int(1, PROVIDERS)}`;
    if (a !== b) edges.set(`${a}|${b}`, { user_a: a, user_b: b, kind: 'worked_with', connected_at: T0 - 60 * DAY + Math.floor(rand() * 90 * DAY), updated_at: 0 });
  }
  await chunked([...edges.values()], (c) => insertNewRows(db, 'connection', ['user_a', 'user_b'], c));

  // History: daily batch runs (as-of 02:00, written 30 min later; 10% backfilled 2–15 days later)
  // and stream updates (written 2 s after the event), from 10 days before the window to its end.
  const history: StoredFeatureRow[] = [];
  const batchRows = (set: string, key: string, n: number) => {
    for (const day of new Set(Array.from({ length: n }, () => int(-10, DAYS - 1)))) {
      const eventAt = T0 + day * DAY + 2 * H;
      const createdAt = rand() < 0.1 ? eventAt + int(2, 15) * DAY : eventAt + H / 2;
      history.push({ featureSet: set, version: 1, entityKey: key, eventAt, createdAt, values: values(set, key, eventAt) });
    }
  };
  for (let i = 1; i <= PROVIDERS; i++) {
    batchRows('provider_profile', `p${i}`, 4);
    for (let k = 0; k < 6; k++) {
      const eventAt = T0 - 10 * DAY + Math.floor(rand() * (DAYS + 10) * DAY);
      history.push({ featureSet: 'provider_activity', version: 1, entityKey: `p${i}`, eventAt, createdAt: eventAt + 2000, values: values('provider_activity', `p${i}`, eventAt) });
    }
  }
  for (let i = 1; i <= JOBS; i++) batchRows('job_profile', `j${i}`, 3);
  for (let s = 1; s <= SKILLS; s++) {
    for (let d = -10; d < DAYS; d++) history.push({ featureSet: 'skill_idf', version: 1, entityKey: `sk${s}`, eventAt: T0 + d * DAY + 2 * H, createdAt: T0 + d * DAY + 3 * H, values: values('skill_idf', `sk${s}`, 0) });
  }
  await chunked(history, (c) => appendHistory(db, c));
  process.stdout.write(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores; generated ${LABELS} proposals, ${hires.length} hires, ${edges.size} connections, ${history.length} history rows in ${ms(performance.now() - started)}\n`);
  return history.length;
}

/** Streams rows to a CSV file (RFC 4180 quoting). */
async function writeCsvFile(path: string, header: string[], rows: AsyncIterable<unknown[]> | Iterable<unknown[]>): Promise<void> {
  const out = createWriteStream(path);
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  let buf = `${header.join(',')}\n`;
  for await (const r of rows) {
    buf += `${r.map(cell).join(',')}\n`;
    if (buf.length > 1 << 20) { if (!out.write(buf)) await once(out, 'drain'); buf = ''; }
  }
  out.end(buf);
  await once(out, 'finish');
}

const name = uniqueName('gi_bench_ts');
const url = await createMysqlDatabase(name);
const handle = createDatabase({ url });
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-ts-'));
try {
  await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
  const db = handle.db;
  await generate(db);

  // 1. The whole build, as `gigintel dataset build matching` runs it.
  const cpu0 = process.cpuUsage();
  const built = await buildDataset({ db, dataDir: dir }, { kind: 'matching', from: FROM, to: TO });
  const cpu = process.cpuUsage(cpu0);
  const s = built.snapshot, t = built.timings;
  process.stdout.write(`gigintel build: ${s.rowCount} rows × ${s.columns.length} columns in ${ms(s.buildMs)} wall, ${ms((cpu.user + cpu.system) / 1000)} CPU of this process (labels ${ms(t.labels)}, history ${ms(t.history)}, ` +
    `join + pair features ${ms(t.join)}, Arrow write ${ms(t.write)}); label rate ${(s.labelRate! * 100).toFixed(2)}%, file ${(s.byteSize / 1e6).toFixed(1)} MB\n`);

  // 2. The join alone, on the same three stored sets the peer joins (no request-time pair features).
  const spec = matchingSpec();
  const labels = await spec.readLabels(db, { from: FROM, to: TO });
  const indexes: HistoryIndex[] = [];
  let t0 = performance.now();
  for (const j of spec.joins) {
    const ref = { name: j.set.name, version: j.set.version, features: j.set.features.map((f) => ({ name: f.name, ttlMs: f.ttlMs, type: f.type })) };
    indexes.push(await loadHistoryIndex(ref, scanHistory(db, { featureSet: j.set.name, version: j.set.version, eventAtOrBefore: TO, createdAtOrBefore: TO })));
  }
  const jsLoadMs = performance.now() - t0;
  t0 = performance.now();
  const joinCpu0 = process.cpuUsage();
  const joined = pointInTimeJoin(labels, spec.joins.map((j, i) => ({ index: indexes[i]!, keyColumn: j.keyColumn })));
  const jsJoinMs = performance.now() - t0;
  const joinCpu = process.cpuUsage(joinCpu0);

  // 3. The same inputs as CSV for pandas (not timed), then its join (timed inside the script).
  t0 = performance.now();
  const col = (n: string) => labels.columns.find((c) => c.name === n)!.values;
  const [pid, prov, job] = [col('proposal_id'), col('provider_id'), col('job_id')];
  await writeCsvFile(join(dir, 'labels.csv'), ['proposal_id', 'provider_id', 'job_id', 'label_at'],
    Array.from({ length: labels.rows }, (_, i) => [pid[i], prov[i], job[i], labels.labelAt[i]]));
  const sets: Record<string, { key: string; ttl: Record<string, number | null> }> = {};
  for (const j of spec.joins) {
    const features = j.set.features.map((f) => f.name);
    sets[j.set.name] = { key: j.keyColumn, ttl: Object.fromEntries(j.set.features.map((f) => [f.name, f.ttlMs])) };
    await writeCsvFile(join(dir, `history_${j.set.name}.csv`), ['entity_key', 'event_at', 'created_at', ...features], (async function* () {
      for await (const r of scanHistory(db, { featureSet: j.set.name, version: 1, eventAtOrBefore: TO, createdAtOrBefore: TO })) {
        const v = JSON.parse(r.valuesJson) as FeatureValues;
        yield [r.entityKey, r.eventAt, r.createdAt, ...features.map((f) => v[f])];
      }
    })());
  }
  const exportMs = performance.now() - t0;
  const peer = spawnSync(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', [new URL('./training-set-peer.py', import.meta.url).pathname, dir, JSON.stringify(sets)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (peer.status !== 0) throw new Error(`pandas peer failed:\n${peer.stderr}`);
  const p = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { join_ms: number; cpu_ms: number; read_ms: number; rows: number; non_null: Record<string, number>; pandas: string };

  // The two joins must agree: the same count of non-null values in every feature column.
  const mismatched = Object.entries(p.non_null).filter(([c, n]) => Math.round((1 - (joined.nullRates[c] ?? 1)) * labels.rows) !== n).map(([c]) => c);
  process.stdout.write(`join only (${labels.rows} labels × ${spec.joins.length} sets, ${indexes.reduce((a, i) => a + i.rows, 0)} history rows, values parsed beforehand on both sides): ` +
    `gigintel ${ms(jsJoinMs)} (CPU ${ms((joinCpu.user + joinCpu.system) / 1000)}), pandas ${p.pandas} ${ms(p.join_ms)} (CPU ${ms(p.cpu_ms)}); ` +
    `pandas/gigintel = ${(p.join_ms / jsJoinMs).toFixed(2)}× wall, ${(p.cpu_ms / ((joinCpu.user + joinCpu.system) / 1000)).toFixed(2)}× CPU\n`);
  process.stdout.write(`load + join: gigintel ${ms(jsLoadMs + jsJoinMs)} (history streamed from MySQL and parsed ${ms(jsLoadMs)}), ` +
    `pandas ${ms(p.read_ms + p.join_ms)} (CSV read ${ms(p.read_ms)}; the CSV export, ${ms(exportMs)}, not counted)\n`);
  process.stdout.write(mismatched.length === 0
    ? `results agree: non-null counts equal in all ${Object.keys(p.non_null).length} feature columns\n`
    : `RESULTS DIFFER in ${mismatched.length} columns: ${mismatched.slice(0, 5).join(', ')}\n`);
} finally {
  await handle.close();
  await dropMysqlDatabase(name);
  rmSync(dir, { recursive: true, force: true });
}
