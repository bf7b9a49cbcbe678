// Who did what to which object. Later domains record model promotions, experiment changes and
// exports here; entries are written in the caller's transaction so they commit with the change.
import { currentCorrelationId } from '../logging/correlation.js';
import type { Db, Tx } from '../db/database.js';
import { insertAudit, listAudit } from './audit.repository.js';

export interface Actor {
  type: 'api_key' | 'cli' | 'system';
  id: string;
  name?: string;
}

export interface AuditEntry {
  id: number; at: number; actor: { type: string; id: string };
  action: string; objectType: string; objectId: string; details: unknown; requestId: string | null;
}

export interface AuditLog {
  record(db: Db | Tx, actor: Actor, action: string, object: { type: string; id: string }, details?: unknown): Promise<void>;
  list(q: { objectType?: string; objectId?: string; limit?: number; beforeId?: number }): Promise<AuditEntry[]>;
}

export function createAuditLog(deps: { db: Db }): AuditLog {
  return {
    async record(db, actor, action, object, details) {
      await insertAudit(db, {
        at: Date.now(), actorType: actor.type, actorId: actor.id, action,
        objectType: object.type, objectId: object.id, details, requestId: currentCorrelationId() ?? null,
      });
    },
    async list(q) {
      const rows = await listAudit(deps.db, { ...q, limit: Math.min(q.limit ?? 100, 1000) });
      return rows.map((r) => ({
        id: Number(r.id), at: Number(r.at), actor: { type: r.actor_type, id: r.actor_id },
        action: r.action, objectType: r.object_type, objectId: r.object_id,
        details: r.details ? JSON.parse(r.details) : null, requestId: r.request_id,
      }));
    },
  };
}
