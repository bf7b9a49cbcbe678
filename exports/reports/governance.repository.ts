// The model governance report's SQL: the registry's alias history and the stored fairness audits
// (model_audit) in a range, oldest first.
import type { Db } from '../../platform/db/database.js';
import type { Range } from './report-range.js';

export interface AliasMoveRow {
  id: number; model: string; alias: string; kind: string; fromVersion: number | null; toVersion: number;
  reason: string; gates: string | null; forced: boolean; actorType: string; actorId: string; at: number;
}

export async function aliasMoves(db: Db, q: Range & { model?: string }): Promise<AliasMoveRow[]> {
  let query = db.selectFrom('model_alias_history').selectAll().where('at', '>=', q.from).where('at', '<', q.to);
  if (q.model) query = query.where('model', '=', q.model);
  const rows = await query.orderBy('at').orderBy('id').execute();
  return rows.map((r) => ({
    id: Number(r.id), model: r.model, alias: r.alias, kind: r.kind, fromVersion: r.from_version === null ? null : Number(r.from_version),
    toVersion: Number(r.to_version), reason: r.reason, gates: r.gates, forced: Boolean(Number(r.forced)), actorType: r.actor_type, actorId: r.actor_id, at: Number(r.at),
  }));
}

export interface StoredAuditRow {
  id: number; model: string; version: number; windowFrom: number; windowTo: number; predictions: number;
  /** JSON: the AuditReport. */
  report: string; trigger: string; createdBy: string; createdAt: number;
}

/** Audits stored in [from, to). */
export async function storedAudits(db: Db, q: Range & { model?: string }): Promise<StoredAuditRow[]> {
  let query = db.selectFrom('model_audit').selectAll().where('created_at', '>=', q.from).where('created_at', '<', q.to);
  if (q.model) query = query.where('model', '=', q.model);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({
    id: Number(r.id), model: r.model, version: Number(r.version), windowFrom: Number(r.window_from), windowTo: Number(r.window_to),
    predictions: Number(r.predictions), report: r.report, trigger: r.trigger, createdBy: r.created_by, createdAt: Number(r.created_at),
  }));
}
