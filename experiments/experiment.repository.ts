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
 * written to a narrow temporary table on one connection; the cap and the per-variant sums are
 * then read from that table. Units without facts add nothing to any sum, so n comes from the
 * exposure counts and the exposures need not be joined again.
 */
export interface MetricStats {
  /** The winsorisation cap used (mean metrics with a percentile), or null. */
  cap: number | null;
  sums: VariantSums[];
}

let tempSeq = 0;

export async function metricStats(
  db: Db, q: Omit<MetricQuery, 'cap'> & { capPercentile: number | null }, exposures: ReadonlyMap<number, number>,
): Promise<MetricStats> {
  const mysql = isMysql(db as never);
  const facts = factsSql(db, q.metric, q.currency);
  const w = q.covariateWindowMs ?? 0;
  const after = sql`f.at >= e.exposed_at AND f.at < ${q.to}`;
  const before = sql`f.at >= e.exposed_at - ${w} AND f.at < e.exposed_at`;
  const one = (cond: RawBuilder<unknown>, v: RawBuilder<unknown>) => sql`SUM(CASE WHEN ${cond} THEN ${v} ELSE 0 END)`;
  const binary = (x: RawBuilder<unknown>) => sql`CASE WHEN ${x} > 0 THEN 1 ELSE 0 END`;
  const x = q.metric.kind === 'binomial' ? binary(one(after, sql`f.num`)) : one(after, sql`f.num`);
  const c = q.covariateWindowMs === null ? sql`0` : q.metric.kind === 'binomial' ? binary(one(before, sql`f.num`)) : one(before, sql`f.num`);
  const from = q.covariateWindowMs === null ? sql`e.exposed_at` : sql`e.exposed_at - ${w}`;
  const name = `gi_metric_units_${process.pid}_${++tempSeq}`;
  const table = sql.raw(name);
  const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  return db.connection().execute(async (conn) => {
    await sql`CREATE TEMPORARY TABLE ${table} (variant INTEGER NOT NULL, x DOUBLE PRECISION NOT NULL, y DOUBLE PRECISION NOT NULL, c DOUBLE PRECISION NOT NULL)`.execute(conn);
    try {
      await sql`INSERT INTO ${table} (variant, x, y, c)
        SELECT e.variant, ${x}, ${one(after, sql`f.den`)}, ${c}
        FROM (${facts}) f
        JOIN experiment_exposure e ON e.unit_id = f.unit AND e.experiment = ${q.experiment} AND e.phase = ${q.phase}
        WHERE f.at >= ${from} AND f.at < ${q.to}
        GROUP BY e.variant, e.unit_id`.execute(conn);
      let cap: number | null = null;
      if (q.capPercentile !== null && q.metric.kind === 'mean') {
        // The percentile of the units that have a value (zeros left out, or a rare metric's cap would be 0).
        const count = await sql<{ n: unknown }>`SELECT COUNT(*) AS n FROM ${table} WHERE x > 0`.execute(conn);
        const n = Number(count.rows[0]?.n ?? 0);
        if (n > 0) {
          const offset = Math.min(n - 1, Math.max(0, Math.ceil(q.capPercentile * n) - 1));
          const row = await sql<{ x: unknown }>`SELECT x FROM ${table} WHERE x > 0 ORDER BY x LIMIT 1 OFFSET ${offset}`.execute(conn);
          cap = row.rows[0] ? Number(row.rows[0].x) : null;
        }
      }
      const cx = (col: RawBuilder<unknown>) => (cap === null ? col : sql`CASE WHEN ${col} > ${cap} THEN ${cap} ELSE ${col} END`);
      const xs = cx(sql`x`), cs = cx(sql`c`);
      const res = await sql<Record<string, unknown>>`
        SELECT variant, SUM(${xs}) AS sx, SUM(${xs} * ${xs}) AS sxx, SUM(y) AS sy, SUM(y * y) AS syy, SUM(${xs} * y) AS sxy,
          SUM(${cs}) AS sc, SUM(${cs} * ${cs}) AS scc, SUM(${xs} * ${cs}) AS sxc
        FROM ${table} GROUP BY variant`.execute(conn);
      const byVariant = new Map(res.rows.map((r) => [Number(r.variant), r]));
      const sums = [...exposures].sort(([a], [b]) => a - b).map(([variant, n]) => {
        const r = byVariant.get(variant) ?? {};
        return {
          variant, n, sumX: num(r.sx), sumX2: num(r.sxx), sumY: num(r.sy), sumY2: num(r.syy), sumXY: num(r.sxy),
          sumC: num(r.sc), sumC2: num(r.scc), sumXC: num(r.sxc),
        };
      });
      return { cap, sums };
    } finally {
      await sql.raw(mysql ? `DROP TEMPORARY TABLE IF EXISTS ${name}` : `DROP TABLE IF EXISTS temp.${name}`).execute(conn).catch(() => undefined);
    }
  });
}
