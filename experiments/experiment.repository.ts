// The experiments' SQL: definitions and phases, first exposures (insert-ignore keeps the first),
// imported metric events and stored analyses. A metric's statistics: metric-stats.repository.ts.
import { sql } from 'kysely';
import { isMysql, type Db, type Tx } from '../platform/db/database.js';
import type { ExperimentPhaseTable, ExperimentTable } from './experiment.table.js';

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
