// A metric's sufficient statistics per variant (n, Σx, Σx², the ratio and CUPED cross sums),
// aggregated in the database so no unit-level row reaches Node. Two ways to the same numbers:
// - in full, on any dialect and metric: the facts joined to the exposures, each exposed unit's
//   value after exposure (x), denominator (y) and pre-exposure covariate (c) into a temporary
//   table on its connection, and the cap and the sums read from it;
// - incrementally, on MySQL for metrics over metric_event (as GrowthBook's incremental refresh
//   does): the per-unit values kept in a table of their own (experiment_rollup), and each
//   analysis computes again only the units whose exposure or facts came in since the last one.
//   A join of 13M facts to 10M exposures is a minute of MariaDB's time; reading the kept values is
//   a few seconds. The first analysis (and a change of phase, covariate window or end time, or a
//   refresh touching a large share of the units) builds the table with the full join.
import { randomBytes } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import { ConflictError } from '../platform/errors/app-error.js';
import { isMysql, type Db, type Tx } from '../platform/db/database.js';
import type { MetricDefinition } from './metrics/metric-catalog.js';

export interface MetricQuery {
  experiment: string;
  phase: number;
  metric: MetricDefinition;
  /** Facts before this time count (the analysis time, or the experiment's stop). */
  to: number;
  /**
   * `to` is "now" (a running experiment analysed without a fixed end). The incremental table then
   * counts every fact after exposure that has come in, whatever its time, rather than fixing its
   * end at the first analysis; facts are not dated in the future, so the two agree.
   */
  openEnded?: boolean;
  currency: string;
  /** CUPED: the same metric over this many ms before each unit's exposure; null: no covariate. */
  covariateWindowMs: number | null;
}

export interface VariantSums {
  variant: number;
  n: number; sumX: number; sumX2: number;
  sumY: number; sumY2: number; sumXY: number;
  sumC: number; sumC2: number; sumXC: number;
}

export interface MetricStats {
  /** The winsorisation cap used (mean metrics with a percentile), or null. */
  cap: number | null;
  sums: VariantSums[];
  /** How the per-unit values were had: joined in full, or from the kept table (built now, or brought up to date). */
  source: { mode: 'full' } | { mode: 'built'; units: number } | { mode: 'refreshed'; touched: number };
}

export interface MetricStatsOptions {
  /** Connections a keyed join is split over (default: two for a large experiment, else one). */
  parts?: number;
  /** false: always join in full (default true: incremental where the dialect and metric allow). */
  incremental?: boolean;
  /** Build the kept per-unit table again from all facts (a "full refresh"). */
  rebuild?: boolean;
  /** Slack before the oldest open transaction when placing the watermark (default 5 s; tests set 0). */
  watermarkMarginMs?: number;
}

let tempSeq = 0;

/** Bytes a row of the per-unit table takes in a MEMORY table, with room to spare. */
const MEMORY_ROW_BYTES = 64;
/** Above this the per-unit table goes to Aria (on disk) rather than the server's memory. */
const MEMORY_TABLE_MAX_BYTES = 2 ** 30;
/** unit_key is 52 bits of an MD5 (migration 20261207T1200): uniform over [0, 2^52). */
const KEY_SPACE = 2 ** 52;
/** Below this many exposed units one connection does it (a split costs a few round trips). */
const SPLIT_MIN_UNITS = 200_000;
/** The most values above the cap a split may send back to be merged. */
const SPLIT_MAX_TOP = 250_000;

export async function metricStats(
  db: Db, q: MetricQuery & { capPercentile: number | null }, exposures: ReadonlyMap<number, number>, opts: MetricStatsOptions = {},
): Promise<MetricStats> {
  const mysql = isMysql(db as never);
  const units = [...exposures.values()].reduce((a, b) => a + b, 0);
  const capped = q.capPercentile !== null && q.metric.kind === 'mean';
  const event = mysql ? q.metric.event : undefined;
  const capOf = capped ? q.capPercentile : null;
  const kept = event !== undefined && opts.incremental !== false;
  // Keyed joins of a large experiment split the key range over two connections (two cores). The
  // full join's parts send their values above the cap here to be merged, so it splits only while
  // those stay few; a kept table's cap is read down its index on one connection.
  const parts = !event ? 1 : opts.parts ?? (units >= SPLIT_MIN_UNITS && (kept || !capped || (1 - q.capPercentile!) * units <= SPLIT_MAX_TOP) ? 2 : 1);
  if (kept) return keptStats(db, q, event, exposures, { units, parts, capPercentile: capOf, rebuild: opts.rebuild === true, marginMs: opts.watermarkMarginMs ?? TRX_MARGIN_MS });

  const names = Array.from({ length: parts }, () => `gi_metric_units_${process.pid}_${++tempSeq}`);
  return withConnections(db, parts, async (conns) => {
    try {
      await Promise.all(conns.map(async (conn, i) => {
        await createUnitTable(conn, mysql, names[i]!, Math.ceil(units / parts));
        const select = event ? keyedUnitValues(q, event, { range: parts > 1 ? keyRange(i, parts) : null, withUnit: false }) : unitValues(conn, q);
        await readCommitted(conn, mysql, (c) => sql`INSERT INTO ${sql.raw(names[i]!)} (variant, x, y, c) ${select}`.execute(c));
      }));
      const stats = await capAndSums(conns.map((conn, i) => ({ conn, table: names[i]!, range: null, y: true })), capOf, exposures);
      return { ...stats, source: { mode: 'full' as const } };
    } finally {
      await Promise.all(conns.map((conn, i) => sql.raw(mysql ? `DROP TEMPORARY TABLE IF EXISTS ${names[i]!}` : `DROP TABLE IF EXISTS temp.${names[i]!}`).execute(conn).catch(() => undefined)));
    }
  });
}

interface KeyRange { lo: number; hi: number }

function keyRange(i: number, parts: number): KeyRange {
  return { lo: Math.floor((KEY_SPACE * i) / parts), hi: Math.floor((KEY_SPACE * (i + 1)) / parts) };
}

/** A per-unit table (or one key range of it) on the connection that reads it; the kept tables have no y (never ratios). */
interface UnitSource { conn: Db; table: string; range: KeyRange | null; y: boolean }

function inRange(s: UnitSource): RawBuilder<unknown> {
  return s.range ? sql` AND unit_key >= ${s.range.lo} AND unit_key < ${s.range.hi}` : sql``;
}

/** Runs a statement in its own READ COMMITTED transaction on MySQL: its reads of the facts take no locks, so ingestion goes on. */
async function readCommitted<T>(conn: Db, mysql: boolean, fn: (c: Db | Tx) => Promise<T>): Promise<T> {
  return mysql ? conn.transaction().setIsolationLevel('read committed').execute(fn) : fn(conn);
}

/**
 * The cap (the percentile of the units that have a value, read from the top) and the per-variant
 * sums of per-unit tables; units without facts add nothing to any sum, so n comes from the
 * exposure counts. The parts' top values are merged here.
 */
async function capAndSums(
  sources: readonly UnitSource[], capPercentile: number | null, exposures: ReadonlyMap<number, number>,
  /** Where the cap is read (default the same parts): a kept table's index on x answers it on one connection. */
  capSources: readonly UnitSource[] = sources,
): Promise<Omit<MetricStats, 'source'>> {
  const from = (s: UnitSource) => sql.raw(s.table);
  let cap: number | null = null;
  if (capPercentile !== null) {
    // Zeros left out, or a rare metric's cap would be 0.
    const counts = await Promise.all(capSources.map((s) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM ${from(s)} WHERE x > 0${inRange(s)}`.execute(s.conn)));
    const n = counts.reduce((a, r) => a + Number(r.rows[0]?.n ?? 0), 0);
    if (n > 0) {
      const offset = Math.min(n - 1, Math.max(0, Math.ceil(capPercentile * n) - 1));
      // The same value counted from the top: a short sort (the top 1% or so) instead of all of them.
      const fromTop = n - 1 - offset;
      if (capSources.length === 1) {
        const s = capSources[0]!;
        const row = await sql<{ x: unknown }>`SELECT x FROM ${from(s)} WHERE x > 0${inRange(s)} ORDER BY x DESC LIMIT 1 OFFSET ${fromTop}`.execute(s.conn);
        cap = row.rows[0] ? Number(row.rows[0].x) : null;
      } else {
        // The union's value at fromTop is among each part's top fromTop + 1 values.
        const tops = await Promise.all(capSources.map((s) => sql<{ x: unknown }>`SELECT x FROM ${from(s)} WHERE x > 0${inRange(s)} ORDER BY x DESC LIMIT ${fromTop + 1}`.execute(s.conn)));
        const merged = tops.flatMap((r) => r.rows.map((x) => Number(x.x))).sort((a, b) => b - a);
        cap = merged[fromTop] ?? null;
      }
    }
  }
  const partSums = await Promise.all(sources.map((s) => variantSums(s, cap)));
  const sums = [...exposures].sort(([a], [b]) => a - b).map(([variant, n]) => {
    const s: VariantSums = { variant, n, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0, sumC: 0, sumC2: 0, sumXC: 0 };
    for (const part of partSums) {
      const r = part.get(variant);
      if (!r) continue;
      s.sumX += r.sumX; s.sumX2 += r.sumX2; s.sumY += r.sumY; s.sumY2 += r.sumY2; s.sumXY += r.sumXY;
      s.sumC += r.sumC; s.sumC2 += r.sumC2; s.sumXC += r.sumXC;
    }
    return s;
  });
  return { cap, sums };
}

/** Runs fn with n connections of the pool held (temporary tables live on their connection). */
function withConnections<T>(db: Db, n: number, fn: (conns: Db[]) => Promise<T>, held: Db[] = []): Promise<T> {
  if (held.length === n) return fn(held);
  return db.connection().execute((conn) => withConnections(db, n, fn, [...held, conn as unknown as Db]));
}

/** The per-unit table: MySQL, a MEMORY table sized for the part (else Aria), as it holds a row per unit with facts. */
async function createUnitTable(conn: Db, mysql: boolean, name: string, units: number): Promise<void> {
  const table = sql.raw(name);
  if (!mysql) {
    await sql`CREATE TEMPORARY TABLE ${table} (variant INTEGER NOT NULL, x DOUBLE PRECISION NOT NULL, y DOUBLE PRECISION NOT NULL, c DOUBLE PRECISION NOT NULL)`.execute(conn);
    return;
  }
  const bytes = Math.max(16 * 2 ** 20, units * MEMORY_ROW_BYTES);
  const engine = bytes <= MEMORY_TABLE_MAX_BYTES ? 'MEMORY' : 'Aria';
  // The session limit applies when the table is created; reset at once, the connection goes back to the pool.
  if (engine === 'MEMORY') await sql`SET SESSION max_heap_table_size = ${bytes}`.execute(conn);
  try {
    await sql`CREATE TEMPORARY TABLE ${table} (variant INTEGER NOT NULL, x DOUBLE NOT NULL, y DOUBLE NOT NULL, c DOUBLE NOT NULL) ENGINE=${sql.raw(engine)}`.execute(conn);
  } finally {
    if (engine === 'MEMORY') await sql`SET SESSION max_heap_table_size = DEFAULT`.execute(conn);
  }
}

/** Per-variant sums of one per-unit table (or key range), x and c capped; y is 0 where a table has none. */
async function variantSums(s: UnitSource, cap: number | null): Promise<Map<number, Omit<VariantSums, 'variant' | 'n'>>> {
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  const cx = (col: RawBuilder<unknown>) => (cap === null ? col : sql`CASE WHEN ${col} > ${cap} THEN ${cap} ELSE ${col} END`);
  const xs = cx(sql`x`), cs = cx(sql`c`);
  const ys = s.y ? sql`, SUM(y) AS sy, SUM(y * y) AS syy, SUM(${xs} * y) AS sxy` : sql``;
  const res = await sql<Record<string, unknown>>`
    SELECT variant, SUM(${xs}) AS sx, SUM(${xs} * ${xs}) AS sxx${ys},
      SUM(${cs}) AS sc, SUM(${cs} * ${cs}) AS scc, SUM(${xs} * ${cs}) AS sxc
    FROM ${sql.raw(s.table)} WHERE 1 = 1${inRange(s)} GROUP BY variant`.execute(s.conn);
  return new Map(res.rows.map((r) => [Number(r.variant), {
    sumX: num(r.sx), sumX2: num(r.sxx), sumY: num(r.sy), sumY2: num(r.syy), sumXY: num(r.sxy), sumC: num(r.sc), sumC2: num(r.scc), sumXC: num(r.sxc),
  }]));
}

/** The metric's fact SELECT for this dialect: table names quoted, the currency bound. */
function factsSql(db: Db | Tx, m: MetricDefinition, currency: string): RawBuilder<unknown> {
  const text = isMysql(db as never) ? m.facts.replace(/"(\w+)"/g, '`$1`') : m.facts;
  const parts = text.split(':currency');
  return sql.join(parts.map((p) => sql.raw(p)), sql`${currency}`);
}

/** A unit's value: the sum of `v` over its facts matching `cond`, or 1/0 (any) for a conversion. */
function unitValue(kind: MetricDefinition['kind'], cond: RawBuilder<unknown>, v: RawBuilder<unknown>): RawBuilder<unknown> {
  const sum = sql`SUM(CASE WHEN ${cond} THEN ${v} ELSE 0 END)`;
  return kind === 'binomial' ? sql`CASE WHEN ${sum} > 0 THEN 1 ELSE 0 END` : sum;
}

/** Any metric, any dialect: the metric's facts joined to the exposures by the text unit id. */
function unitValues(db: Db | Tx, q: MetricQuery): RawBuilder<unknown> {
  const w = q.covariateWindowMs ?? 0;
  const after = sql`f.at >= e.exposed_at AND f.at < ${q.to}`;
  const before = sql`f.at >= e.exposed_at - ${w} AND f.at < e.exposed_at`;
  const x = unitValue(q.metric.kind, after, sql`f.num`);
  const c = q.covariateWindowMs === null ? sql`0` : unitValue(q.metric.kind, before, sql`f.num`);
  const from = q.covariateWindowMs === null ? sql`e.exposed_at` : sql`e.exposed_at - ${w}`;
  return sql`SELECT e.variant, ${x}, ${unitValue('mean', after, sql`f.den`)}, ${c}
    FROM (${factsSql(db, q.metric, q.currency)}) f
    JOIN experiment_exposure e ON e.unit_id = f.unit AND e.experiment = ${q.experiment} AND e.phase = ${q.phase}
    WHERE f.at >= ${from} AND f.at < ${q.to}
    GROUP BY e.variant, e.unit_id`;
}

/**
 * A metric_event metric's per-unit columns over facts `f` and the unit's exposure `e`: x after
 * exposure (before `to`, or open-ended), c in the covariate window before it, and the condition
 * that keeps only the facts either can use.
 */
function keyedColumns(q: MetricQuery, event: { sum: boolean }, openEnded: boolean): { x: RawBuilder<unknown>; c: RawBuilder<unknown>; facts: RawBuilder<unknown> } {
  const w = q.covariateWindowMs ?? 0;
  const v = event.sum ? sql`f.value` : sql`1`;
  const end = openEnded ? sql`` : sql` AND f.event_at < ${q.to}`;
  const after = sql`f.event_at >= e.exposed_at${end}`;
  const before = sql`f.event_at >= e.exposed_at - ${w} AND f.event_at < e.exposed_at`;
  const from = q.covariateWindowMs === null ? sql`e.exposed_at` : sql`e.exposed_at - ${w}`;
  return {
    x: unitValue(q.metric.kind, after, v),
    c: q.covariateWindowMs === null ? sql`0` : unitValue(q.metric.kind, before, v),
    facts: sql`f.event_at >= ${from}${end}`,
  };
}

/**
 * MySQL, metrics over metric_event: driven from the metric's facts in (name, unit_key, unit_id)
 * index order, each looking up its unit's exposure by the integer key (then comparing the ids), so
 * the per-unit GROUP BY streams in index order with no temporary table of its own, and no lookup
 * compares collated text keys down a B-tree (about half the time of the text join).
 * withUnit: the unit's key and id lead the columns (the kept table), else a 0 for y follows x.
 */
function keyedUnitValues(q: MetricQuery, event: { name: string; sum: boolean }, o: { range: KeyRange | null; withUnit: boolean; openEnded?: boolean }): RawBuilder<unknown> {
  const { x, c, facts } = keyedColumns(q, event, o.openEnded ?? false);
  return sql`SELECT ${o.withUnit ? sql`f.unit_key, f.unit_id, MIN(e.variant), ${x}, ${c}` : sql`MIN(e.variant), ${x}, 0, ${c}`}
    FROM metric_event f FORCE INDEX (metric_event_name_key)
    STRAIGHT_JOIN experiment_exposure e FORCE INDEX (experiment_exposure_unit_key)
      ON e.unit_key = f.unit_key AND e.experiment = ${q.experiment} AND e.phase = ${q.phase} AND e.unit_id = f.unit_id
    WHERE f.name = ${event.name} AND ${facts}${o.range ? sql` AND f.unit_key >= ${o.range.lo} AND f.unit_key < ${o.range.hi}` : sql``}
    GROUP BY f.unit_key, f.unit_id`;
}

// --- the kept per-unit tables (MySQL) ---------------------------------------------------------

const KEPT_PREFIX = 'gi_rollup_';
/** How long another analysis of the same metric may hold it before this one gives up. */
const LOCK_WAIT_S = 600;
/** With the server's list of open transactions: slack before the oldest one (its start has second precision). */
const TRX_MARGIN_MS = 5_000;
/** Without that list (no PROCESS privilege): how long an insert may take from its statement's start to its commit and still be counted. */
const BLIND_LOOKBACK_MS = 10 * 60_000;
/** A refresh that would compute more than this share of the exposed units again builds the table instead (split, in key order). */
const REBUILD_SHARE = 0.2;

function tableName(): string {
  return `${KEPT_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/**
 * The time before which every exposure and event is visible (ms, the server's clock): now, or the
 * start of the oldest transaction still open on this database (its rows carry an ingested_at from
 * before it commits), less a margin; a fixed lookback when the server will not list its
 * transactions. A writer whose session is on another database is not seen (keep writers on it).
 */
async function completeBefore(conn: Db, marginMs: number): Promise<number> {
  const now = Number((await sql<{ t: unknown }>`SELECT ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000) AS t`.execute(conn)).rows[0]!.t);
  try {
    // Transactions of sessions on this database (the service's, an import's): another database's load is no concern.
    const r = await sql<{ t: unknown }>`SELECT ROUND(UNIX_TIMESTAMP(MIN(t.trx_started)) * 1000) AS t
      FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
      WHERE t.trx_mysql_thread_id <> CONNECTION_ID() AND p.DB = DATABASE()`.execute(conn);
    const oldest = r.rows[0]?.t;
    return Math.min(now, oldest === null || oldest === undefined ? now : Number(oldest)) - marginMs;
  } catch {
    return now - BLIND_LOOKBACK_MS;
  }
}

async function tableExists(conn: Db, name: string): Promise<boolean> {
  const r = await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE table_schema = DATABASE() AND table_name = ${name}`.execute(conn);
  return Number(r.rows[0]?.n ?? 0) > 0;
}

/** The lock serialising the builds and refreshes of one experiment metric (names are at most 64 characters). */
function lockName(experiment: string, metric: string): RawBuilder<unknown> {
  return sql`CONCAT('gi_rollup:', LEFT(SHA2(CONCAT(${experiment}, '\n', ${metric}), 256), 40))`;
}

async function keptStats(
  db: Db, q: MetricQuery & { capPercentile: number | null }, event: { name: string; sum: boolean },
  exposures: ReadonlyMap<number, number>,
  o: { units: number; parts: number; capPercentile: number | null; rebuild: boolean; marginMs: number },
): Promise<MetricStats> {
  const { units, parts, capPercentile } = o;
  const openEnded = q.openEnded ?? false;
  const params = `window=${q.covariateWindowMs ?? 'none'};to=${openEnded ? 'open' : q.to}`;
  return withConnections(db, parts, async (conns) => {
    const main = conns[0]!;
    const got = await sql<{ ok: unknown }>`SELECT GET_LOCK(${lockName(q.experiment, q.metric.key)}, ${LOCK_WAIT_S}) AS ok`.execute(main);
    if (Number(got.rows[0]?.ok) !== 1) throw new ConflictError(`another analysis of ${q.experiment} (${q.metric.key}) has been running for ${LOCK_WAIT_S} s; try again later`, { experiment: q.experiment, metric: q.metric.key });
    try {
      const mark = await completeBefore(main, o.marginMs);
      const kept = await main.selectFrom('experiment_rollup').selectAll().where('experiment', '=', q.experiment).where('metric', '=', q.metric.key).executeTakeFirst();
      let table: string | null = null;
      let source: MetricStats['source'] | null = null;
      if (kept && !o.rebuild && Number(kept.phase) === q.phase && kept.params === params && await tableExists(main, kept.table_name)) {
        const touched = await refreshKept(main, { id: Number(kept.id), table: kept.table_name, watermark: Number(kept.watermark) }, q, event, openEnded, mark, units);
        if (touched !== null) { table = kept.table_name; source = { mode: 'refreshed', touched }; }
      }
      if (table === null) {
        const built = await buildKept(conns, kept ? { id: Number(kept.id), table: kept.table_name } : null, q, event, { openEnded, params, mark, parts });
        table = built.table;
        source = { mode: 'built', units: built.units };
      }
      const stats = await capAndSums(conns.map((conn, i) => ({ conn, table: table!, range: parts > 1 ? keyRange(i, parts) : null, y: false })), capPercentile, exposures,
        [{ conn: main, table, range: null, y: false }]);
      return { ...stats, source: source! };
    } finally {
      await sql`SELECT RELEASE_LOCK(${lockName(q.experiment, q.metric.key)})`.execute(main).catch(() => undefined);
    }
  });
}

/** A new kept table from all facts (split over the connections by key range); the old one dropped once the new one is recorded. */
async function buildKept(
  conns: Db[], old: { id: number; table: string } | null, q: MetricQuery, event: { name: string; sum: boolean },
  o: { openEnded: boolean; params: string; mark: number; parts: number },
): Promise<{ table: string; units: number }> {
  const main = conns[0]!;
  const table = tableName();
  await sql`CREATE TABLE ${sql.raw(table)} (unit_key BIGINT NOT NULL, unit_id VARCHAR(200) NOT NULL, variant INT NOT NULL, x DOUBLE NOT NULL, c DOUBLE NOT NULL, PRIMARY KEY (unit_key, unit_id)) ENGINE=InnoDB`.execute(main);
  let units = 0;
  try {
    const inserted = await Promise.all(conns.map((conn, i) => readCommitted(conn, true, (c) => sql`INSERT INTO ${sql.raw(table)} (unit_key, unit_id, variant, x, c)
      ${keyedUnitValues(q, event, { range: o.parts > 1 ? keyRange(i, o.parts) : null, withUnit: true, openEnded: o.openEnded })}`.execute(c))));
    units = inserted.reduce((a, r) => a + Number(r.numAffectedRows ?? 0), 0);
    // The cap's percentile is read down this index from the top (sorted once here, kept up to date by refreshes).
    await sql`ALTER TABLE ${sql.raw(table)} ADD INDEX kept_x (x)`.execute(main);
    const now = Date.now();
    const row = { experiment: q.experiment, metric: q.metric.key, phase: q.phase, params: o.params, table_name: table, watermark: o.mark, built_at: now, refreshed_at: now };
    await main.insertInto('experiment_rollup').values(row)
      .onDuplicateKeyUpdate({ phase: row.phase, params: row.params, table_name: row.table_name, watermark: row.watermark, built_at: now, refreshed_at: now }).execute();
  } catch (err) {
    await sql`DROP TABLE IF EXISTS ${sql.raw(table)}`.execute(main).catch(() => undefined);
    throw err;
  }
  if (old && old.table !== table) await sql`DROP TABLE IF EXISTS ${sql.raw(old.table)}`.execute(main);
  return { table, units };
}

/**
 * Brings a kept table up to date: the units whose exposure or facts were ingested since its
 * watermark are computed again from all their facts (so a unit counted twice is impossible, and
 * late facts land where their time says), their rows replaced or added, and the watermark moves
 * on; in one READ COMMITTED transaction. Null when so many units changed that a build is cheaper.
 */
async function refreshKept(
  conn: Db, kept: { id: number; table: string; watermark: number }, q: MetricQuery, event: { name: string; sum: boolean },
  openEnded: boolean, mark: number, units: number,
): Promise<number | null> {
  const touched = sql.raw(`gi_touched_${process.pid}_${++tempSeq}`);
  await sql`CREATE TEMPORARY TABLE ${touched} (unit_key BIGINT NOT NULL, unit_id VARCHAR(200) NOT NULL, PRIMARY KEY (unit_key, unit_id)) ENGINE=InnoDB`.execute(conn);
  try {
    await readCommitted(conn, true, async (c) => {
      await sql`INSERT IGNORE INTO ${touched} (unit_key, unit_id) SELECT unit_key, unit_id FROM experiment_exposure FORCE INDEX (experiment_exposure_ingested)
        WHERE experiment = ${q.experiment} AND phase = ${q.phase} AND ingested_at >= ${kept.watermark}`.execute(c);
      await sql`INSERT IGNORE INTO ${touched} (unit_key, unit_id) SELECT unit_key, unit_id FROM metric_event FORCE INDEX (metric_event_ingested)
        WHERE name = ${event.name} AND ingested_at >= ${kept.watermark}`.execute(c);
    });
    const n = Number((await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM ${touched}`.execute(conn)).rows[0]?.n ?? 0);
    if (n > 10_000 && n > REBUILD_SHARE * units) return null;
    const { x, c, facts } = keyedColumns(q, event, openEnded);
    const table = sql.raw(kept.table);
    await readCommitted(conn, true, async (trx) => {
      // In key order through the key indexes, like the build (lookups by the text id land on random
      // pages). A unit's facts only ever grow, so its row is replaced or added, never removed.
      if (n > 0) {
        await sql`INSERT INTO ${table} (unit_key, unit_id, variant, x, c)
          SELECT t.unit_key, t.unit_id, MIN(e.variant), ${x}, ${c}
          FROM ${touched} t
          STRAIGHT_JOIN experiment_exposure e FORCE INDEX (experiment_exposure_unit_key)
            ON e.unit_key = t.unit_key AND e.experiment = ${q.experiment} AND e.phase = ${q.phase} AND e.unit_id = t.unit_id
          STRAIGHT_JOIN metric_event f FORCE INDEX (metric_event_name_key) ON f.name = ${event.name} AND f.unit_key = t.unit_key AND f.unit_id = t.unit_id
          WHERE ${facts}
          GROUP BY t.unit_key, t.unit_id
          ON DUPLICATE KEY UPDATE variant = VALUES(variant), x = VALUES(x), c = VALUES(c)`.execute(trx);
      }
      await trx.updateTable('experiment_rollup').set({ watermark: mark, refreshed_at: Date.now() }).where('id', '=', kept.id).execute();
    });
    return n;
  } finally {
    await sql`DROP TEMPORARY TABLE IF EXISTS ${touched}`.execute(conn).catch(() => undefined);
  }
}
