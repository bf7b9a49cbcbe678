// SQL of drift reports: storing one computation, reading the latest one, and the current value
// of every entity of a set (its latest history row, which is what the online store holds: both
// the batch and the stream writers append every value they write to the history).
import { sql } from 'kysely';
import type { Db, Tx } from '../../../platform/db/database.js';
import type { FeatureValues } from '../feature-set.js';
import type { FeatureDriftTable } from './drift.table.js';

export type DriftRow = Omit<FeatureDriftTable, 'id'>;

export async function insertDrift(db: Db | Tx, rows: readonly DriftRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) await db.insertInto('feature_drift').values(rows.slice(i, i + 200)).execute();
}

/** Every row of the latest computation (one computation shares its computed_at). */
export async function latestDrift(db: Db | Tx): Promise<DriftRow[]> {
  const rows = await db.selectFrom('feature_drift').selectAll()
    .where('computed_at', '=', (eb) => eb.selectFrom('feature_drift').select(sql<number>`max(computed_at)`.as('m')))
    .orderBy('feature_set').orderBy('feature').execute();
  return rows.map(({ id: _id, ...r }) => ({ ...r, computed_at: Number(r.computed_at), psi: r.psi === null ? null : Number(r.psi) }));
}

/** The latest value of each entity of a set (up to `limit` entities). */
export async function currentValues(db: Db | Tx, set: string, version: number, limit: number): Promise<{ entityKey: string; eventAt: number; values: FeatureValues }[]> {
  const latest = db.selectFrom('feature_history').select(['entity_key', sql<number>`max(event_at)`.as('m')])
    .where('feature_set', '=', set).where('version', '=', version).groupBy('entity_key').as('x');
  const rows = await db.selectFrom('feature_history as h')
    .innerJoin(latest, (j) => j.onRef('h.entity_key', '=', 'x.entity_key').onRef('h.event_at', '=', 'x.m'))
    .select(['h.entity_key', 'h.event_at', 'h.feature_values'])
    .where('h.feature_set', '=', set).where('h.version', '=', version)
    .limit(limit).execute();
  return rows.map((r) => ({ entityKey: r.entity_key, eventAt: Number(r.event_at), values: JSON.parse(r.feature_values) as FeatureValues }));
}
