import type { Db, Tx } from '../db/database.js';
import './audit.table.js';

export interface AuditInsert {
  at: number; actorType: string; actorId: string; action: string;
  objectType: string; objectId: string; details: unknown; requestId: string | null;
}

export async function insertAudit(db: Db | Tx, e: AuditInsert): Promise<void> {
  await db.insertInto('audit_log').values({
    at: e.at, actor_type: e.actorType, actor_id: e.actorId, action: e.action,
    object_type: e.objectType, object_id: e.objectId,
    details: e.details === undefined ? null : JSON.stringify(e.details), request_id: e.requestId,
  }).execute();
}

export interface AuditQuery { objectType?: string; objectId?: string; limit: number; beforeId?: number }

export async function listAudit(db: Db | Tx, q: AuditQuery) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.objectType) query = query.where('object_type', '=', q.objectType);
  if (q.objectId) query = query.where('object_id', '=', q.objectId);
  if (q.beforeId) query = query.where('id', '<', q.beforeId);
  return query.execute();
}
