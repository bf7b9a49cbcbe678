// The only place the exports domain speaks SQL about its own tables (report queries live with
// each report under reports/).
import type { Selectable } from 'kysely';
import type { Db, Tx } from '../platform/db/database.js';
import type { ExportJobStatus, ExportJobTable } from './export-job.table.js';
import './export-job.table.js';

export type ExportJobRow = Selectable<ExportJobTable>;

export async function insertExportJob(db: Db | Tx, row: ExportJobTable): Promise<void> {
  await db.insertInto('export_job').values(row).execute();
}

export async function getExportJob(db: Db | Tx, id: string): Promise<ExportJobRow | undefined> {
  return db.selectFrom('export_job').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Newest first; with `visibleTo`, only that key's jobs and scheduled ones (nobody's). */
export async function listExportJobs(db: Db | Tx, opts: { visibleTo?: string | null; limit: number }): Promise<ExportJobRow[]> {
  let q = db.selectFrom('export_job').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit);
  const key = opts.visibleTo;
  if (key !== undefined) q = q.where((eb) => (key === null ? eb('requested_by', 'is', null) : eb.or([eb('requested_by', '=', key), eb('requested_by', 'is', null)])));
  return q.execute();
}

/** Claims a queued (or a crashed running) job for this run; false when it is already finished. */
export async function startExportJob(db: Db | Tx, id: string, at: number): Promise<boolean> {
  const res = await db.updateTable('export_job').set({ status: 'running', started_at: at, rows_written: 0, error: null })
    .where('id', '=', id).where('status', 'in', ['queued', 'running']).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function updateExportProgress(db: Db | Tx, id: string, rowsWritten: number): Promise<void> {
  await db.updateTable('export_job').set({ rows_written: rowsWritten }).where('id', '=', id).where('status', '=', 'running').execute();
}

export async function finishExportJob(
  db: Db | Tx, id: string, result: { status: Extract<ExportJobStatus, 'done' | 'failed'>; rowsWritten: number; fileBytes: number | null; error: string | null; at: number; expiresAt: number | null },
): Promise<void> {
  await db.updateTable('export_job').set({
    status: result.status, rows_written: result.rowsWritten, file_bytes: result.fileBytes, error: result.error,
    finished_at: result.at, expires_at: result.expiresAt,
  }).where('id', '=', id).execute();
}

/** Done jobs whose file is past its expiry, oldest first. */
export async function listExpiredExportJobs(db: Db | Tx, at: number, limit: number): Promise<ExportJobRow[]> {
  return db.selectFrom('export_job').selectAll().where('status', '=', 'done').where('expires_at', '<=', at)
    .orderBy('expires_at').limit(limit).execute();
}

export async function markExportExpired(db: Db | Tx, id: string): Promise<void> {
  await db.updateTable('export_job').set({ status: 'expired' }).where('id', '=', id).where('status', '=', 'done').execute();
}

/** The stored secret `name`, created from `make()` by whichever process asks first. */
export async function ensureSecret(db: Db, name: string, make: () => string, at: number): Promise<string> {
  const found = await db.selectFrom('app_secret').select('value').where('name', '=', name).executeTakeFirst();
  if (found) return found.value;
  try {
    await db.insertInto('app_secret').values({ name, value: make(), created_at: at }).execute();
  } catch { /* another process stored one first: read theirs */ }
  const stored = await db.selectFrom('app_secret').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return stored.value;
}
