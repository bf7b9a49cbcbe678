// The prediction log's SQL: batched idempotent inserts (a replayed job writes nothing twice) and
// reads by id and by model version over a time window (what audits and experiments read).
import { sql } from 'kysely';
import { isMysql, type Db, type Tx } from '../../../platform/db/database.js';
import type { PredictionLogTable } from './prediction-log.table.js';

export type PredictionRow = PredictionLogTable;

export async function insertPredictions(db: Db | Tx, rows: readonly PredictionRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  let inserted = 0;
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    const q = db.insertInto('prediction_log').values(chunk);
    const res = isMysql(db as never)
      ? await q.ignore().executeTakeFirst()
      : await q.onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return inserted;
}

export async function getPrediction(db: Db | Tx, id: string): Promise<PredictionRow | undefined> {
  return db.selectFrom('prediction_log').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Rows of a model version in [from, to), oldest first, keyset-paged by (created_at, id). */
export async function listPredictions(
  db: Db | Tx, q: { model: string; version?: number; from: number; to: number; roles?: readonly string[]; after?: { createdAt: number; id: string }; limit: number },
): Promise<PredictionRow[]> {
  let query = db.selectFrom('prediction_log').selectAll()
    .where('model', '=', q.model)
    .where('created_at', '>=', q.from).where('created_at', '<', q.to);
  if (q.version !== undefined) query = query.where('version', '=', q.version);
  if (q.roles?.length) query = query.where('role', 'in', [...q.roles]);
  if (q.after) {
    const { createdAt, id } = q.after;
    query = query.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
  }
  return query.orderBy('created_at').orderBy('id').limit(q.limit).execute();
}

/** Model versions with predictions in [from, to): what a scheduled audit covers. */
export async function versionsWithPredictions(db: Db | Tx, from: number, to: number): Promise<{ model: string; version: number; predictions: number }[]> {
  const rows = await db.selectFrom('prediction_log')
    .select(['model', 'version', sql<number>`count(*)`.as('n')])
    .where('created_at', '>=', from).where('created_at', '<', to)
    .groupBy(['model', 'version']).orderBy('model').orderBy('version')
    .execute();
  return rows.map((r) => ({ model: r.model, version: Number(r.version), predictions: Number(r.n) }));
}
