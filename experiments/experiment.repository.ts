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
  return db.selectFrom('experiment_exposure').selectAll().where('experiment', '=', key).where('unit_id', '=', unitId).executeTakeFirst();
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

// --- metric statistics --------------------------------------------------------------------------

export interface MetricQuery {
  experiment: string;
  phase: number;
  metric: MetricDefinition;
  /** Facts before this time count (the analysis time, or the experiment's stop). */
  to: number;
  currency: string;
  /** Cap per unit value (winsorisation), mean metrics only; null: none. */
  cap: number | null;
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

/** Per unit: Σnum and Σden of its facts in [from(exposure), to); binomial metrics become 0/1. */
function unitValues(db: Db | Tx, q: MetricQuery, window: 'after' | 'before'): RawBuilder<unknown> {
  const facts = factsSql(db, q.metric, q.currency);
  const range = window === 'after'
    ? sql`f.at >= e2.exposed_at AND f.at < ${q.to}`
    : sql`f.at >= e2.exposed_at - ${q.covariateWindowMs ?? 0} AND f.at < e2.exposed_at`;
  const x = q.metric.kind === 'binomial' ? sql`CASE WHEN SUM(f.num) > 0 THEN 1 ELSE 0 END` : sql`SUM(f.num)`;
  return sql`SELECT f.unit AS unit, ${x} AS x, SUM(f.den) AS y
    FROM (${facts}) f
    JOIN experiment_exposure e2 ON e2.unit_id = f.unit AND e2.experiment = ${q.experiment} AND e2.phase = ${q.phase}
    WHERE ${range}
    GROUP BY f.unit`;
}

/** n, Σx, Σx² (and the ratio and covariate sums) per variant, over every exposed unit (no facts = 0). */
export async function metricSums(db: Db | Tx, q: MetricQuery): Promise<VariantSums[]> {
  const capped = q.cap !== null && q.metric.kind === 'mean'
    ? sql`CASE WHEN COALESCE(u.x, 0) > ${q.cap} THEN ${q.cap} ELSE COALESCE(u.x, 0) END`
    : sql`COALESCE(u.x, 0)`;
  const y = sql`COALESCE(u.y, 0)`;
  const c = q.covariateWindowMs !== null
    ? (q.cap !== null && q.metric.kind === 'mean' ? sql`CASE WHEN COALESCE(c.x, 0) > ${q.cap} THEN ${q.cap} ELSE COALESCE(c.x, 0) END` : sql`COALESCE(c.x, 0)`)
    : sql`0`;
  const covJoin = q.covariateWindowMs !== null ? sql`LEFT JOIN (${unitValues(db, q, 'before')}) c ON c.unit = e.unit_id` : sql``;
  const res = await sql<Record<string, unknown>>`
    SELECT e.variant AS variant, COUNT(*) AS n,
      SUM(v.x) AS sx, SUM(v.x * v.x) AS sxx, SUM(v.y) AS sy, SUM(v.y * v.y) AS syy, SUM(v.x * v.y) AS sxy,
      SUM(v.c) AS sc, SUM(v.c * v.c) AS scc, SUM(v.x * v.c) AS sxc
    FROM experiment_exposure e
    JOIN (
      SELECT e.unit_id AS unit_id, ${capped} AS x, ${y} AS y, ${c} AS c
      FROM experiment_exposure e
      LEFT JOIN (${unitValues(db, q, 'after')}) u ON u.unit = e.unit_id
      ${covJoin}
      WHERE e.experiment = ${q.experiment} AND e.phase = ${q.phase}
    ) v ON v.unit_id = e.unit_id
    WHERE e.experiment = ${q.experiment} AND e.phase = ${q.phase}
    GROUP BY e.variant ORDER BY e.variant`.execute(db);
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  return res.rows.map((r) => ({
    variant: Number(r.variant), n: num(r.n), sumX: num(r.sx), sumX2: num(r.sxx), sumY: num(r.sy), sumY2: num(r.syy), sumXY: num(r.sxy),
    sumC: num(r.sc), sumC2: num(r.scc), sumXC: num(r.sxc),
  }));
}

/**
 * The winsorisation cap: the `percentile` of the per-unit values of units that have any (zeros
 * left out, or a rare metric's cap would be 0), or null when no unit has a value.
 */
export async function metricCap(db: Db | Tx, q: Omit<MetricQuery, 'cap' | 'covariateWindowMs'>, percentile: number): Promise<number | null> {
  const base = { ...q, cap: null, covariateWindowMs: null };
  const count = await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM (${unitValues(db, base, 'after')}) u WHERE u.x > 0`.execute(db);
  const n = Number(count.rows[0]?.n ?? 0);
  if (n === 0) return null;
  const offset = Math.min(n - 1, Math.max(0, Math.ceil(percentile * n) - 1));
  const row = await sql<{ x: unknown }>`SELECT u.x AS x FROM (${unitValues(db, base, 'after')}) u WHERE u.x > 0 ORDER BY u.x LIMIT 1 OFFSET ${offset}`.execute(db);
  return row.rows[0] ? Number(row.rows[0].x) : null;
}
