// The only SQL of the fairness audits: reads of the prediction log, of hires (the outcome of a
// matching ranking) and of the registry's versions, and the stored audits in model_audit.
import type { Kysely, Selectable } from 'kysely';
import type { Db, Tx } from '../../../platform/db/database.js';
import type { ModelAuditTable, PredictionLogTable } from '../prediction-log/prediction-log.table.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;
/** Ids per IN list: well under MySQL's and SQLite's parameter limits. */
const CHUNK = 500;

export type PredictionRow = Pick<Selectable<PredictionLogTable>, 'id' | 'endpoint' | 'role' | 'context_id' | 'candidates' | 'created_at'>;
export type AuditRow = Selectable<ModelAuditTable>;

export interface PredictionPage {
  model: string;
  version: number;
  from: number;
  to: number;
  roles: readonly string[];
  /** Keyset paging: rows after this (created_at, id). */
  after?: { createdAt: number; id: string };
  limit: number;
}

/** Logged predictions of one version in [from, to), oldest first. */
export async function readPredictions(db: Db, q: PredictionPage): Promise<PredictionRow[]> {
  let query = db.selectFrom('prediction_log')
    .select(['id', 'endpoint', 'role', 'context_id', 'candidates', 'created_at'])
    .where('model', '=', q.model).where('version', '=', q.version)
    .where('created_at', '>=', q.from).where('created_at', '<', q.to)
    .where('role', 'in', [...q.roles]);
  const after = q.after;
  if (after) {
    query = query.where((eb) => eb.or([
      eb('created_at', '>', after.createdAt),
      eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
    ]));
  }
  const rows = await query.orderBy('created_at').orderBy('id').limit(q.limit).execute();
  return rows.map((r) => ({ ...r, created_at: Number(r.created_at) }));
}

/** Model versions with predictions of these roles in [from, to), and how many. */
export async function versionsWithPredictions(
  db: Db, q: { from: number; to: number; roles: readonly string[]; model?: string },
): Promise<{ model: string; version: number; predictions: number }[]> {
  let query = db.selectFrom('prediction_log')
    .select(['model', 'version', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('created_at', '>=', q.from).where('created_at', '<', q.to).where('role', 'in', [...q.roles]);
  if (q.model !== undefined) query = query.where('model', '=', q.model);
  const rows = await query.groupBy(['model', 'version']).orderBy('model').orderBy('version').execute();
  return rows.map((r) => ({ model: r.model, version: Number(r.version), predictions: Number(r.n) }));
}

/** Whether the registry knows the version, or the log has ever seen it. */
export async function versionKnown(db: Db, model: string, version: number): Promise<boolean> {
  const registered = await untyped(db).selectFrom('model_version').select('version')
    .where('model', '=', model).where('version', '=', version).executeTakeFirst();
  if (registered) return true;
  const logged = await db.selectFrom('prediction_log').select('id')
    .where('model', '=', model).where('version', '=', version).limit(1).executeTakeFirst();
  return logged !== undefined;
}

/** Hires of these jobs: (job id, provider id) pairs. */
export async function hiresForJobs(db: Db, jobIds: readonly string[]): Promise<{ jobId: string; providerId: string }[]> {
  const out: { jobId: string; providerId: string }[] = [];
  for (let i = 0; i < jobIds.length; i += CHUNK) {
    const rows = await untyped(db).selectFrom('hire').select(['job_id', 'provider_id'])
      .where('job_id', 'in', jobIds.slice(i, i + CHUNK)).execute() as { job_id: string; provider_id: string }[];
    for (const r of rows) out.push({ jobId: r.job_id, providerId: r.provider_id });
  }
  return out;
}

export async function insertAudit(db: Db, row: Omit<AuditRow, 'id'>): Promise<number> {
  const res = await db.insertInto('model_audit').values(row).executeTakeFirstOrThrow();
  return Number(res.insertId);
}

/** Stored audits of a version, newest first. */
export async function listAudits(db: Db, model: string, version: number, limit: number): Promise<AuditRow[]> {
  const rows = await db.selectFrom('model_audit').selectAll()
    .where('model', '=', model).where('version', '=', version)
    .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map(numbers);
}

/** An audit of exactly this window and trigger, if one was stored (the scheduled job's idempotency). */
export async function findAudit(db: Db, q: { model: string; version: number; from: number; to: number; trigger: string }): Promise<AuditRow | null> {
  const row = await db.selectFrom('model_audit').selectAll()
    .where('model', '=', q.model).where('version', '=', q.version)
    .where('window_from', '=', q.from).where('window_to', '=', q.to).where('trigger', '=', q.trigger)
    .orderBy('id', 'desc').limit(1).executeTakeFirst();
  return row ? numbers(row) : null;
}

/** MySQL returns BIGINT as strings. */
function numbers(r: AuditRow): AuditRow {
  return {
    ...r, id: Number(r.id), version: Number(r.version), window_from: Number(r.window_from), window_to: Number(r.window_to),
    predictions: Number(r.predictions), created_at: Number(r.created_at),
  };
}
