import type { Db, Tx } from '../../../platform/db/database.js';
import type { ApiKeyTable } from './api-key.table.js';
import './api-key.table.js';

export async function insertApiKey(db: Db | Tx, row: ApiKeyTable): Promise<void> {
  await db.insertInto('api_key').values(row).execute();
}

export async function findApiKeyByHash(db: Db | Tx, hash: string): Promise<ApiKeyTable | undefined> {
  return db.selectFrom('api_key').selectAll().where('key_hash', '=', hash).executeTakeFirst();
}

export async function findApiKey(db: Db | Tx, id: string): Promise<ApiKeyTable | undefined> {
  return db.selectFrom('api_key').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listApiKeys(db: Db | Tx, includeRevoked: boolean): Promise<ApiKeyTable[]> {
  let q = db.selectFrom('api_key').selectAll().orderBy('created_at', 'asc').orderBy('id', 'asc');
  if (!includeRevoked) q = q.where('revoked_at', 'is', null);
  return q.execute();
}

/** Compare-and-set: false when the key is unknown or already revoked. */
export async function revokeApiKey(db: Db | Tx, id: string, at: number): Promise<boolean> {
  const res = await db.updateTable('api_key').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function touchApiKey(db: Db | Tx, id: string, at: number): Promise<void> {
  await db.updateTable('api_key').set({ last_used_at: at }).where('id', '=', id).execute();
}

export async function countActiveAdminKeys(db: Db | Tx): Promise<number> {
  const rows = await db.selectFrom('api_key').select('scopes').where('revoked_at', 'is', null).execute();
  return rows.filter((r) => (JSON.parse(r.scopes) as string[]).includes('admin')).length;
}
