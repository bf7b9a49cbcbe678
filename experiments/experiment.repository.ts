// The experiments' SQL: definitions and phases, first exposures (insert-ignore keeps the first),
// stored analyses, and the sufficient statistics of a metric per variant — aggregated in the
// database (n, Σx, Σx², the ratio and CUPED cross sums), so no unit-level row reaches Node.
import { sql, type RawBuilder } from 'kysely';
import { isMysql, type Db, type Tx } from '../platform/db/database.js';
import type { ExperimentPhaseTable, ExperimentTable } from './experiment.table.js';
import type { MetricDefinition } from './metrics/metric-catalog.js';

export type ExperimentRow = ExperimentTable;
export type PhaseRow = ExperimentPhaseTable;

export async function insertExperiment(db: Db | Tx, row: ExperimentRow): Promise<boolean> {
  const q = db.insertInto('experiment').values(row);
  const res = isMysql(db as never) ? await q.ignore().executeTakeFirst() : await q.onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function getExperiment(db: Db | Tx, key: string): Promise<ExperimentRow | undefined> {
  return db.selectFrom('experiment').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function listExperiments(db: Db | Tx, q: { status?: string; model?: string; after?: string; limit: number }): Promise<ExperimentRow[]> {
  let query = db.selectFrom('experiment').selectAll();
  if (q.status) query = query.where('status', '=', q.status);
  if (q.model) query = query.where('model', '=', q.model);
  if (q.after) query = query.where('key', '>', q.after);
  return query.orderBy('key').limit(q.limit).execute();
}

/** Compare-and-set on updated_at: false when someone changed the experiment since it was read. */
export async function updateExperiment(db: Db | Tx, key: string, expectedUpdatedAt: number, patch: Partial<ExperimentRow>): Promise<boolean> {
  const res = await db.updateTable('experiment').set(patch).where('key', '=', key).where('updated_at', '=', expectedUpdatedAt).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function insertPhase(db: Db | Tx, row: PhaseRow): Promise<void> {
  await db.insertInto('experiment_phase').values(row).execute();
}

export async function closePhase(db: Db | Tx, key: string, phase: number, at: number): Promise<void> {
  await db.updateTable('experiment_phase').set({ ended_at: at }).where('experiment', '=', key).where('phase', '=', phase).where('ended_at', 'is', null).execute();
}

export async function listPhases(db: Db | Tx, key: string): Promise<PhaseRow[]> {
  return db.selectFrom('experiment_phase').selectAll().where('experiment', '=', key).orderBy('phase').execute();
}

export interface ExposureRow { experiment: string; unit_id: string; phase: number; variant: number; exposed_at: number }

/** Idempotent: a unit's first exposure to an experiment is the one kept. */
export async function insertExposures(db: Db | Tx, rows: readonly ExposureRow[]): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const q = db.insertInto('experiment_exposure').values(chunk);
    const res = isMysql(db as never)
      ? await q.ignore().executeTakeFirst()
      : await q.onConflict((oc) => oc.columns(['experiment', 'unit_id']).doNothing()).executeTakeFirst();
    inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return inserted;
}

export interface MetricEventRow { name: string; unit_id: string; value: number; event_at: number }

export async function insertMetricEvents(db: Db | Tx, rows: readonly MetricEventRow[]): Promise<number> {
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('metric_event').values(rows.slice(i, i + 1000)).execute();
  return rows.length;
}

export async function getExposure(db: Db | Tx, key: string, unitId: string): Promise<ExposureRow | undefined> {
  return db.selectFrom('experiment_exposure').select(['experiment', 'unit_id', 'phase', 'variant', 'exposed_at']).where('experiment', '=', key).where('unit_id', '=', unitId).executeTakeFirst();
}

export async function exposureCounts(db: Db | Tx, key: string, phase: number): Promise<Map<number, number>> {
  const rows = await db.selectFrom('experiment_exposure').select(['variant', sql<number>`count(*)`.as('n')])
    .where('experiment', '=', key).where('phase', '=', phase).groupBy('variant').execute();
  return new Map(rows.map((r) => [Number(r.variant), Number(r.n)]));
}

export async function insertAnalysis(db: Db | Tx, row: { experiment: string; phase: number; report: string; trigger: string; created_at: number }): Promise<number> {
  const res = await db.insertInto('experiment_analysis').values(row).executeTakeFirst();
  return Number(res.insertId);
}

export async function latestAnalysis(db: Db | Tx, key: string): Promise<{ id: number; phase: number; report: string; trigger: string; created_at: number } | undefined> {
  const r = await db.selectFrom('experiment_analysis').selectAll().where('experiment', '=', key).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
  return r && { ...r, id: Number(r.id), phase: Number(r.phase), created_at: Number(r.created_at) };
}

/** Stored analyses, oldest first (the last `limit`): the results page draws p-values over time. */
export async function listAnalyses(db: Db | Tx, key: string, limit: number): Promise<{ id: number; phase: number; report: string; trigger: string; created_at: number }[]> {
  const rows = await db.selectFrom('experiment_analysis').selectAll().where('experiment', '=', key)
    .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.reverse().map((r) => ({ ...r, id: Number(r.id), phase: Number(r.phase), created_at: Number(r.created_at) }));
}

// --- metric statistics --------------------------------------------------------------------------

export interface MetricQuery {
  experiment: string;
  phase: number;
  metric: MetricDefinition;
  /** Facts before this time count (the analysis time, or the experiment's stop). */
  to: number;
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

/** The metric's fact SELECT for this dialect: table names quoted, the currency bound. */
function factsSql(db: Db | Tx, m: MetricDefinition, currency: string): RawBuilder<unknown> {
  const text = isMysql(db as never) ? m.facts.replace(/"(\w+)"/g, '`$1`') : m.facts;
  const parts = text.split(':currency');
  return sql.join(parts.map((p) => sql.raw(p)), sql`${currency}`);
}

/**
 * One pass per metric: the facts joined to the exposures, grouped per exposed unit into its value
 * after exposure (x), its denominator (y, ratio metrics) and its pre-exposure covariate (c, CUPED),
 * written to a narrow temporary table on its connection; the cap and the per-variant sums are
 * then read from that table. Units without facts add nothing to any sum, so n comes from the
 * exposure counts and the exposures need not be joined again. On MySQL, metrics over metric_event
 * join by the integer unit key, and a large experiment's key range is split over two connections
 * (each its own table; the cap merged from the parts' top values, the sums added here).
 */
export interface MetricStats {
  /** The winsorisation cap used (mean metrics with a percentile), or null. */
  cap: number | null;
  sums: VariantSums[];
}

let tempSeq = 0;

/** Bytes a row of the per-unit table takes in a MEMORY table, with room to spare. */
const MEMORY_ROW_BYTES = 64;
/** Above this the per-unit table goes to Aria (on disk) rather than the server's memory. */
const MEMORY_TABLE_MAX_BYTES = 2 ** 30;

export async function metricStats(
  db: Db, q: Omit<MetricQuery, 'cap'> & { capPercentile: number | null }, exposures: ReadonlyMap<number, number>,
  /** parts: connections a keyed join is split over (default: two for a large experiment, else one). */
  opts: { parts?: number } = {},
): Promise<MetricStats> {
  const mysql = isMysql(db as never);
  const units = [...exposures.values()].reduce((a, b) => a + b, 0);
  const capped = q.capPercentile !== null && q.metric.kind === 'mean';
  const event = mysql ? q.metric.event : undefined;
  // Keyed joins of a large experiment split the key range over two connections (two cores), when
  // the values above the cap, which the parts send here to be merged, stay few.
  const parts = !event ? 1 : opts.parts ?? (units >= SPLIT_MIN_UNITS && (!capped || (1 - q.capPercentile!) * units <= SPLIT_MAX_TOP) ? 2 : 1);
  const names = Array.from({ length: parts }, () => `gi_metric_units_${process.pid}_${++tempSeq}`);
  return withConnections(db, parts, async (conns) => {
    try {
      await Promise.all(conns.map(async (conn, i) => {
        await createUnitTable(conn, mysql, names[i]!, Math.ceil(units / parts));
        const range = { lo: Math.floor((KEY_SPACE * i) / parts), hi: Math.floor((KEY_SPACE * (i + 1)) / parts) };
        const select = event ? keyedUnitValues(q, event, parts > 1 ? range : null) : unitValues(conn, q);
        await sql`INSERT INTO ${sql.raw(names[i]!)} (variant, x, y, c) ${select}`.execute(conn);
      }));
      let cap: number | null = null;
      if (capped) {
        // The percentile of the units that have a value (zeros left out, or a rare metric's cap would be 0).
        const counts = await Promise.all(conns.map((conn, i) => sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM ${sql.raw(names[i]!)} WHERE x > 0`.execute(conn)));
        const n = counts.reduce((a, r) => a + Number(r.rows[0]?.n ?? 0), 0);
        if (n > 0) {
          const offset = Math.min(n - 1, Math.max(0, Math.ceil(q.capPercentile! * n) - 1));
          // The same value counted from the top: a short sort (the top 1% or so) instead of all of them.
          const fromTop = n - 1 - offset;
          if (parts === 1) {
            const row = await sql<{ x: unknown }>`SELECT x FROM ${sql.raw(names[0]!)} WHERE x > 0 ORDER BY x DESC LIMIT 1 OFFSET ${fromTop}`.execute(conns[0]!);
            cap = row.rows[0] ? Number(row.rows[0].x) : null;
          } else {
            // The union's value at fromTop is among each part's top fromTop + 1 values.
            const tops = await Promise.all(conns.map((conn, i) => sql<{ x: unknown }>`SELECT x FROM ${sql.raw(names[i]!)} WHERE x > 0 ORDER BY x DESC LIMIT ${fromTop + 1}`.execute(conn)));
            const merged = tops.flatMap((r) => r.rows.map((x) => Number(x.x))).sort((a, b) => b - a);
            cap = merged[fromTop] ?? null;
          }
        }
      }
      const partSums = await Promise.all(conns.map((conn, i) => variantSums(conn, names[i]!, cap)));
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
    } finally {
      await Promise.all(conns.map((conn, i) => sql.raw(mysql ? `DROP TEMPORARY TABLE IF EXISTS ${names[i]!}` : `DROP TABLE IF EXISTS temp.${names[i]!}`).execute(conn).catch(() => undefined)));
    }
  });
}

/** unit_key is 52 bits of an MD5 (migration 20261207T1200): uniform over [0, 2^52). */
const KEY_SPACE = 2 ** 52;
/** Below this many exposed units one connection does it (a split costs a few round trips). */
const SPLIT_MIN_UNITS = 200_000;
/** The most values above the cap a split may send back to be merged. */
const SPLIT_MAX_TOP = 250_000;

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

/** Per-variant sums of one per-unit table, x and c capped. */
async function variantSums(conn: Db, name: string, cap: number | null): Promise<Map<number, Omit<VariantSums, 'variant' | 'n'>>> {
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  const cx = (col: RawBuilder<unknown>) => (cap === null ? col : sql`CASE WHEN ${col} > ${cap} THEN ${cap} ELSE ${col} END`);
  const xs = cx(sql`x`), cs = cx(sql`c`);
  const res = await sql<Record<string, unknown>>`
    SELECT variant, SUM(${xs}) AS sx, SUM(${xs} * ${xs}) AS sxx, SUM(y) AS sy, SUM(y * y) AS syy, SUM(${xs} * y) AS sxy,
      SUM(${cs}) AS sc, SUM(${cs} * ${cs}) AS scc, SUM(${xs} * ${cs}) AS sxc
    FROM ${sql.raw(name)} GROUP BY variant`.execute(conn);
  return new Map(res.rows.map((r) => [Number(r.variant), {
    sumX: num(r.sx), sumX2: num(r.sxx), sumY: num(r.sy), sumY2: num(r.syy), sumXY: num(r.sxy), sumC: num(r.sc), sumC2: num(r.scc), sumXC: num(r.sxc),
  }]));
}

type UnitValueQuery = Omit<MetricQuery, 'cap'>;

/** A unit's value: the sum of `v` over its facts matching `cond`, or 1/0 (any) for a conversion. */
function unitValue(kind: MetricDefinition['kind'], cond: RawBuilder<unknown>, v: RawBuilder<unknown>): RawBuilder<unknown> {
  const sum = sql`SUM(CASE WHEN ${cond} THEN ${v} ELSE 0 END)`;
  return kind === 'binomial' ? sql`CASE WHEN ${sum} > 0 THEN 1 ELSE 0 END` : sum;
}

/** Any metric, any dialect: the metric's facts joined to the exposures by the text unit id. */
function unitValues(db: Db | Tx, q: UnitValueQuery): RawBuilder<unknown> {
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
 * MySQL, metrics over metric_event: driven from the metric's facts in (name, unit_key, unit_id)
 * index order, each looking up its unit's exposure by the integer key (then comparing the ids), so
 * the per-unit GROUP BY streams in index order with no temporary table of its own, and no lookup
 * compares collated text keys down a B-tree (about half the time of the text join).
 */
function keyedUnitValues(q: UnitValueQuery, event: { name: string; sum: boolean }, range: { lo: number; hi: number } | null): RawBuilder<unknown> {
  const w = q.covariateWindowMs ?? 0;
  const v = event.sum ? sql`f.value` : sql`1`;
  const after = sql`f.event_at >= e.exposed_at AND f.event_at < ${q.to}`;
  const before = sql`f.event_at >= e.exposed_at - ${w} AND f.event_at < e.exposed_at`;
  const x = unitValue(q.metric.kind, after, v);
  const c = q.covariateWindowMs === null ? sql`0` : unitValue(q.metric.kind, before, v);
  const from = q.covariateWindowMs === null ? sql`e.exposed_at` : sql`e.exposed_at - ${w}`;
  return sql`SELECT MIN(e.variant), ${x}, 0, ${c}
    FROM metric_event f FORCE INDEX (metric_event_name_key)
    STRAIGHT_JOIN experiment_exposure e FORCE INDEX (experiment_exposure_unit_key)
      ON e.unit_key = f.unit_key AND e.experiment = ${q.experiment} AND e.phase = ${q.phase} AND e.unit_id = f.unit_id
    WHERE f.name = ${event.name} AND f.event_at >= ${from} AND f.event_at < ${q.to}${range ? sql` AND f.unit_key >= ${range.lo} AND f.unit_key < ${range.hi}` : sql``}
    GROUP BY f.unit_key, f.unit_id`;
}
