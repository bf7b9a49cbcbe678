// SQL of the batch feature pipeline: runs, their chunks and the per-set watermarks.
import { sql } from 'kysely';
import type { Db, Tx } from '../../../platform/db/database.js';
import type { FeatureWatermarkTable, PipelineChunkTable, PipelineRunTable } from './pipeline-run.table.js';

export type RunRow = PipelineRunTable;
export type ChunkRow = PipelineChunkTable;

const CHUNK_INSERT_ROWS = 200;

export async function insertRun(db: Db | Tx, run: RunRow, chunks: readonly ChunkRow[]): Promise<void> {
  await db.insertInto('pipeline_run').values(run).execute();
  for (let i = 0; i < chunks.length; i += CHUNK_INSERT_ROWS) {
    await db.insertInto('pipeline_chunk').values(chunks.slice(i, i + CHUNK_INSERT_ROWS)).execute();
  }
}

export async function getRun(db: Db | Tx, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('pipeline_run').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listRuns(db: Db | Tx, q: { pipeline: string; limit: number; before?: number; status?: string }): Promise<RunRow[]> {
  let query = db.selectFrom('pipeline_run').selectAll().where('pipeline', '=', q.pipeline);
  if (q.before !== undefined) query = query.where('created_at', '<', q.before);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

export async function getChunk(db: Db | Tx, runId: string, chunkNo: number): Promise<ChunkRow | undefined> {
  return db.selectFrom('pipeline_chunk').selectAll().where('run_id', '=', runId).where('chunk_no', '=', chunkNo).executeTakeFirst();
}

export async function unfinishedChunks(db: Db | Tx, runId: string): Promise<number[]> {
  const rows = await db.selectFrom('pipeline_chunk').select('chunk_no').where('run_id', '=', runId).where('status', '!=', 'done').orderBy('chunk_no').execute();
  return rows.map((r) => Number(r.chunk_no));
}

/** A chunk begins an attempt; the run counts as running from its first chunk on. */
export async function markChunkStarted(db: Db | Tx, runId: string, chunkNo: number, now: number): Promise<void> {
  await db.updateTable('pipeline_chunk')
    .set({ attempts: sql<number>`attempts + 1`, started_at: sql<number>`coalesce(started_at, ${now})` })
    .where('run_id', '=', runId).where('chunk_no', '=', chunkNo).execute();
  await db.updateTable('pipeline_run')
    .set({ status: 'running', started_at: sql<number>`coalesce(started_at, ${now})` })
    .where('id', '=', runId).where('status', 'in', ['planned', 'running']).execute();
}

/**
 * Marks a chunk done and adds its counts to the run, once: a chunk that runs again (at-least-once
 * delivery, a resumed run) finds it done and adds nothing. Returns false when it was done already.
 */
export async function completeChunk(tx: Tx, runId: string, chunkNo: number, counts: { entities: number; rows: number }, now: number): Promise<boolean> {
  const res = await tx.updateTable('pipeline_chunk')
    .set({ status: 'done', entities: counts.entities, rows_written: counts.rows, finished_at: now, error: null })
    .where('run_id', '=', runId).where('chunk_no', '=', chunkNo).where('status', '!=', 'done')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return false;
  await tx.updateTable('pipeline_run').set({
    chunks_done: sql<number>`chunks_done + 1`,
    entities: sql<number>`entities + ${counts.entities}`,
    rows_written: sql<number>`rows_written + ${counts.rows}`,
  }).where('id', '=', runId).execute();
  return true;
}

export async function failRun(db: Db | Tx, runId: string, chunkNo: number | null, error: string, now: number): Promise<void> {
  if (chunkNo !== null) {
    await db.updateTable('pipeline_chunk').set({ status: 'failed', error }).where('run_id', '=', runId).where('chunk_no', '=', chunkNo).execute();
  }
  await db.updateTable('pipeline_run').set({ status: 'failed', error, finished_at: now })
    .where('id', '=', runId).where('status', '!=', 'succeeded').execute();
}

/** A failed run goes back to running; its failed chunks become pending again. */
export async function reopenRun(db: Db | Tx, runId: string): Promise<void> {
  await db.updateTable('pipeline_chunk').set({ status: 'pending', error: null }).where('run_id', '=', runId).where('status', '=', 'failed').execute();
  await db.updateTable('pipeline_run').set({ status: 'running', error: null, finished_at: null })
    .where('id', '=', runId).where('status', '=', 'failed').execute();
}

/** The run succeeded: every chunk is done. Returns false when it was not (or was finished already). */
export async function finishRun(tx: Tx, runId: string, now: number): Promise<boolean> {
  const res = await tx.updateTable('pipeline_run').set({ status: 'succeeded', finished_at: now, error: null })
    .where('id', '=', runId).where('status', 'in', ['planned', 'running', 'failed'])
    .where('chunks_done', '=', sql<number>`chunks_total`)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function getWatermarks(db: Db | Tx): Promise<Map<string, number>> {
  const rows = await db.selectFrom('feature_watermark').selectAll().execute();
  return new Map(rows.map((r) => [`${r.feature_set}@v${r.version}`, Number(r.changed_before)]));
}

/** Moves a set's watermark forward (never back: an older run that finishes late changes nothing). */
export async function advanceWatermark(tx: Tx, w: FeatureWatermarkTable): Promise<void> {
  const res = await tx.updateTable('feature_watermark')
    .set({ changed_before: w.changed_before, run_id: w.run_id, updated_at: w.updated_at })
    .where('feature_set', '=', w.feature_set).where('version', '=', w.version).where('changed_before', '<', w.changed_before)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 1) return;
  const exists = await tx.selectFrom('feature_watermark').select('run_id')
    .where('feature_set', '=', w.feature_set).where('version', '=', w.version).executeTakeFirst();
  if (!exists) await tx.insertInto('feature_watermark').values(w).execute();
}
