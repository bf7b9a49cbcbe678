// SQL of the model registry: models, versions (the artifact blob only when asked for), aliases
// (moved by compare-and-set) and the append-only alias history.
import { sql, type Kysely } from 'kysely';
import { isMysql, type Db, type Tx } from '../platform/db/database.js';
import type { ModelAliasHistoryTable, ModelAliasTable, ModelVersionTable, RegisteredModelTable } from './registry.table.js';

export type ModelRow = RegisteredModelTable;
export type VersionRow = Omit<ModelVersionTable, 'artifact'>;
export type AliasRow = ModelAliasTable;
export type HistoryRow = Omit<ModelAliasHistoryTable, 'id'> & { id: number };

const VERSION_COLUMNS = [
  'model', 'version', 'status', 'status_reason', 'algorithm', 'hyperparameters', 'feature_sets', 'dataset_id', 'dataset_hash',
  'code_version', 'metrics', 'calibration', 'fairness', 'importance', 'artifact_sha256', 'artifact_bytes', 'artifact_format',
  'description', 'created_by', 'created_at', 'updated_at',
] as const;

export async function insertModel(db: Db | Tx, row: ModelRow): Promise<boolean> {
  // Insert-or-ignore on both dialects: a name taken concurrently is a conflict, not a 500.
  const q = db.insertInto('registered_model').values(row);
  const res = await (isMysql(db as unknown as Kysely<unknown>) ? q.ignore() : q.onConflict((oc) => oc.doNothing())).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function getModel(db: Db | Tx, name: string): Promise<ModelRow | undefined> {
  return db.selectFrom('registered_model').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function listModels(db: Db | Tx, q: { limit: number; after?: string }): Promise<ModelRow[]> {
  let query = db.selectFrom('registered_model').selectAll();
  if (q.after !== undefined) query = query.where('name', '>', q.after);
  return query.orderBy('name').limit(q.limit).execute();
}

/** Hands out the model's next version number; the row update serialises concurrent registrations. */
export async function nextVersionNumber(tx: Tx, model: string, now: number): Promise<number> {
  await tx.updateTable('registered_model').set({ last_version: sql<number>`last_version + 1`, updated_at: now }).where('name', '=', model).execute();
  const row = await tx.selectFrom('registered_model').select('last_version').where('name', '=', model).executeTakeFirstOrThrow();
  return Number(row.last_version);
}

export async function insertVersion(db: Db | Tx, row: ModelVersionTable): Promise<void> {
  await db.insertInto('model_version').values(row).execute();
}

export async function getVersion(db: Db | Tx, model: string, version: number): Promise<VersionRow | undefined> {
  return db.selectFrom('model_version').select(VERSION_COLUMNS).where('model', '=', model).where('version', '=', version).executeTakeFirst();
}

export async function listVersions(db: Db | Tx, q: { model: string; limit: number; before?: number; status?: string }): Promise<VersionRow[]> {
  let query = db.selectFrom('model_version').select(VERSION_COLUMNS).where('model', '=', q.model);
  if (q.before !== undefined) query = query.where('version', '<', q.before);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  return query.orderBy('version', 'desc').limit(q.limit).execute();
}

export async function getArtifact(db: Db | Tx, model: string, version: number): Promise<{ artifact: Buffer | null; sha256: string | null; format: string | null } | undefined> {
  const row = await db.selectFrom('model_version').select(['artifact', 'artifact_sha256', 'artifact_format'])
    .where('model', '=', model).where('version', '=', version).executeTakeFirst();
  return row && { artifact: row.artifact === null ? null : Buffer.from(row.artifact), sha256: row.artifact_sha256, format: row.artifact_format };
}

/** Ends registration: ready with the artifact, or failed with a reason. Only from registering. */
export async function finishVersion(db: Db | Tx, model: string, version: number, set: Partial<ModelVersionTable> & { status: string; updated_at: number }): Promise<boolean> {
  const res = await db.updateTable('model_version').set(set)
    .where('model', '=', model).where('version', '=', version).where('status', '=', 'registering').executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function getAlias(db: Db | Tx, model: string, alias: string): Promise<AliasRow | undefined> {
  return db.selectFrom('model_alias').selectAll().where('model', '=', model).where('alias', '=', alias).executeTakeFirst();
}

export async function listAliases(db: Db | Tx, model: string): Promise<AliasRow[]> {
  return db.selectFrom('model_alias').selectAll().where('model', '=', model).orderBy('alias').execute();
}

/**
 * Compare-and-set: points the alias at `toVersion` only if it still points at `expected` (null:
 * only if it does not exist yet). False means someone moved it first.
 */
export async function moveAlias(
  tx: Tx, model: string, alias: string, expected: number | null, toVersion: number, by: string, now: number,
): Promise<boolean> {
  if (expected === null) {
    const q = tx.insertInto('model_alias').values({ model, alias, version: toVersion, updated_by: by, updated_at: now });
    const res = await (isMysql(tx as unknown as Kysely<unknown>) ? q.ignore() : q.onConflict((oc) => oc.doNothing())).executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
  }
  const res = await tx.updateTable('model_alias').set({ version: toVersion, updated_by: by, updated_at: now })
    .where('model', '=', model).where('alias', '=', alias).where('version', '=', expected).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function appendHistory(tx: Tx, row: Omit<HistoryRow, 'id'>): Promise<number> {
  const res = await tx.insertInto('model_alias_history').values(row).executeTakeFirstOrThrow();
  return Number(res.insertId);
}

/** Oldest first. */
export async function aliasHistory(db: Db | Tx, model: string, alias: string): Promise<HistoryRow[]> {
  const rows = await db.selectFrom('model_alias_history').selectAll().where('model', '=', model).where('alias', '=', alias).orderBy('id').execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Newest first, over every alias of the model unless one is named. */
export async function listHistory(db: Db | Tx, q: { model: string; alias?: string; limit: number; beforeId?: number }): Promise<HistoryRow[]> {
  let query = db.selectFrom('model_alias_history').selectAll().where('model', '=', q.model);
  if (q.alias !== undefined) query = query.where('alias', '=', q.alias);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
