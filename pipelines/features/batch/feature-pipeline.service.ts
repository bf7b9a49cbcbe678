// The batch feature pipeline: plans a run (which entities of which sets, in chunks), hands the
// chunks to the queue as one flow whose parent completes the run, and computes each chunk into
// the offline history and the online store. Everything a chunk writes is idempotent, and a chunk
// is counted once, so at-least-once delivery, a killed worker or a resumed run never duplicates.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db/database.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import type { Logger } from '../../../platform/logging/logger.js';
import { UnrecoverableJobError, type JobContext, type JobDefinition, type JobQueue } from '../../../platform/queue/queue.types.js';
import { batchFeatureSets, computeBatch, type AnyFeatureSet } from '../definitions/catalog.js';
import { featureSetId } from '../feature-set.js';
import type { FeatureRow, OnlineStore } from '../store/feature-store.types.js';
import { appendHistory } from '../store/offline-store.repository.js';
import {
  advanceWatermark, completeChunk, failRun, finishRun, getChunk, getRun, getWatermarks, insertRun, listRuns,
  markChunkStarted, reopenRun, unfinishedChunks, type ChunkRow, type RunRow,
} from './pipeline-run.repository.js';

export type RunTrigger = 'cli' | 'schedule' | 'api' | 'startup';

export interface FeaturesPlanPayload { trigger: RunTrigger; full?: boolean; asOf?: number; requestedBy?: string }
export interface FeaturesChunkPayload { runId: string; chunkNo: number }
export interface FeaturesFinishPayload { runId: string }

declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes {
    'features.plan': FeaturesPlanPayload;
    'features.chunk': FeaturesChunkPayload;
    'features.finish': FeaturesFinishPayload;
  }
}

export const FEATURES_PIPELINE = 'features';
export const SCHEDULE_ID = 'features-nightly';
const MAX_BACKFILL_RUNS = 1_000;

export interface RunSetSummary { name: string; version: number; changedSince: number | null; entities: number; chunks: number }

export interface PipelineRun {
  id: string;
  pipeline: string;
  status: 'planned' | 'running' | 'succeeded' | 'failed';
  trigger: RunTrigger;
  requestedBy: string;
  asOf: number;
  full: boolean;
  /** Whether this run moves the incremental watermark (runs "as of now" do; backfills with --as-of do not). */
  advancesWatermark: boolean;
  /** History rows are stamped created at the as-of time (see StartOptions.reconstruct). */
  reconstructs: boolean;
  featureSets: RunSetSummary[];
  chunksTotal: number;
  chunksDone: number;
  entities: number;
  rowsWritten: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface StartOptions {
  trigger: RunTrigger;
  requestedBy: string;
  /** Compute values as they were at this time (a backfill); default now. */
  asOf?: number;
  /** Recompute every entity, not only those changed since the last run. */
  full?: boolean;
  /** Only these sets (names); default every batch-computable set. */
  sets?: readonly string[];
  /**
   * With a past as-of: stamp the history rows as created at the as-of time, as if the run had
   * happened then, so point-in-time training sets over imported history can use them. Correct
   * only when the source rows as of that time are what was known then (event-derived features
   * are; profile columns, which have no history, are their latest values). Default: created now,
   * which training rows before now never see.
   */
  reconstruct?: boolean;
}

export interface FeaturePipelineDeps {
  db: Db;
  queue: JobQueue;
  online: OnlineStore;
  log: Logger;
  chunkSize: number;
  sets?: readonly AnyFeatureSet[];
  now?: () => number;
}

export type FeaturePipeline = ReturnType<typeof createFeaturePipeline>;

export function createFeaturePipeline(deps: FeaturePipelineDeps) {
  const now = deps.now ?? Date.now;
  const allSets = () => (deps.sets ?? batchFeatureSets()).filter((s) => s.batch);

  function toRun(r: RunRow): PipelineRun {
    const startedAt = r.started_at === null ? null : Number(r.started_at);
    const finishedAt = r.finished_at === null ? null : Number(r.finished_at);
    return {
      id: r.id, pipeline: r.pipeline, status: r.status as PipelineRun['status'], trigger: r.trigger as RunTrigger,
      requestedBy: r.requested_by, asOf: Number(r.as_of), full: Number(r.full_run) === 1, advancesWatermark: Number(r.advances_watermark) === 1,
      reconstructs: Number(r.reconstructs) === 1,
      featureSets: JSON.parse(r.feature_sets) as RunSetSummary[],
      chunksTotal: Number(r.chunks_total), chunksDone: Number(r.chunks_done), entities: Number(r.entities), rowsWritten: Number(r.rows_written),
      createdAt: Number(r.created_at), startedAt, finishedAt,
      durationMs: finishedAt !== null ? finishedAt - (startedAt ?? Number(r.created_at)) : null,
      error: r.error,
    };
  }

  async function enqueueRun(runId: string, chunkNos: readonly number[]): Promise<void> {
    await deps.queue.enqueueFlow(
      { name: 'features.finish', payload: { runId }, opts: { jobId: `${runId}-finish` } },
      chunkNos.map((chunkNo) => ({ name: 'features.chunk' as const, payload: { runId, chunkNo }, opts: { jobId: `${runId}-c${chunkNo}` } })),
    );
  }

  async function succeed(runId: string): Promise<void> {
    const at = now();
    await deps.db.transaction().execute(async (tx) => {
      if (!await finishRun(tx, runId, at)) return;
      const run = toRun((await getRun(tx, runId))!);
      if (!run.advancesWatermark) return;
      for (const s of run.featureSets) {
        await advanceWatermark(tx, { feature_set: s.name, version: s.version, changed_before: run.createdAt, run_id: runId, updated_at: at });
      }
    });
  }

  return {
    /** Plans a run (lists the entities to compute, in chunks) and queues it. */
    async start(opts: StartOptions): Promise<PipelineRun> {
      const plannedAt = now();
      const asOf = opts.asOf ?? plannedAt;
      if (!Number.isFinite(asOf) || asOf > plannedAt + 60_000) {
        throw new ValidationError('as-of must be a time that is not in the future', [{ path: 'asOf', message: 'must not be in the future' }]);
      }
      let sets = allSets();
      if (opts.sets) {
        const unknown = opts.sets.filter((n) => !sets.some((s) => s.name === n));
        if (unknown.length) {
          throw new ValidationError(`not batch-computable feature sets: ${unknown.join(', ')}`, [{ path: 'sets', message: `must be among ${sets.map((s) => s.name).join(', ')}` }]);
        }
        sets = sets.filter((s) => opts.sets!.includes(s.name));
      }
      if (opts.reconstruct && opts.asOf === undefined) {
        throw new ValidationError('reconstruct needs a past as-of time', [{ path: 'reconstruct', message: 'only with asOf' }]);
      }
      const full = opts.full ?? false;
      const watermarks = full ? new Map<string, number>() : await getWatermarks(deps.db);
      const id = `fr_${new Date(plannedAt).toISOString().replace(/[-:]/g, '').slice(0, 15)}_${randomBytes(3).toString('hex')}`;
      const chunks: ChunkRow[] = [];
      const summaries: RunSetSummary[] = [];
      for (const set of sets) {
        const changedSince = watermarks.get(featureSetId(set));
        let afterKey: string | undefined;
        let entities = 0;
        let setChunks = 0;
        for (;;) {
          const keys = await set.batch!.listEntities(deps.db, {
            asOf, limit: deps.chunkSize, ...(changedSince !== undefined ? { changedSince } : {}), ...(afterKey !== undefined ? { afterKey } : {}),
          });
          if (keys.length === 0) break;
          chunks.push({
            run_id: id, chunk_no: chunks.length, feature_set: set.name, version: set.version, entity_keys: JSON.stringify(keys),
            status: 'pending', entities: 0, rows_written: 0, attempts: 0, started_at: null, finished_at: null, error: null,
          });
          entities += keys.length;
          setChunks++;
          afterKey = keys[keys.length - 1];
          if (keys.length < deps.chunkSize) break;
        }
        summaries.push({ name: set.name, version: set.version, changedSince: changedSince ?? null, entities, chunks: setChunks });
      }
      const run: RunRow = {
        id, pipeline: FEATURES_PIPELINE, status: 'planned', trigger: opts.trigger, requested_by: opts.requestedBy.slice(0, 200),
        as_of: asOf, full_run: full ? 1 : 0, advances_watermark: opts.asOf === undefined ? 1 : 0, reconstructs: opts.reconstruct ? 1 : 0, feature_sets: JSON.stringify(summaries),
        chunks_total: chunks.length, chunks_done: 0, entities: 0, rows_written: 0,
        created_at: plannedAt, started_at: null, finished_at: null, error: null,
      };
      await deps.db.transaction().execute((tx) => insertRun(tx, run, chunks));
      if (chunks.length === 0) await succeed(id);
      else await enqueueRun(id, chunks.map((c) => c.chunk_no));
      deps.log.debug({ runId: id, chunks: chunks.length, full, asOf }, 'feature pipeline run planned');
      return toRun((await getRun(deps.db, id))!);
    },

    /**
     * Backfills history: one full run as of each time from `from` to `to` every `everyMs` (both
     * ends included), so training sets over that period find the values as they were. Backfills
     * never move the incremental watermark.
     */
    async backfill(opts: Omit<StartOptions, 'asOf' | 'full'> & { from: number; to: number; everyMs: number }): Promise<PipelineRun[]> {
      const problems = [];
      if (!Number.isFinite(opts.from) || !Number.isFinite(opts.to) || opts.from > opts.to) problems.push({ path: 'from', message: 'must be a time before to' });
      if (!Number.isInteger(opts.everyMs) || opts.everyMs < 60_000) problems.push({ path: 'every', message: 'must be at least one minute' });
      else if ((opts.to - opts.from) / opts.everyMs > MAX_BACKFILL_RUNS) problems.push({ path: 'every', message: `would make more than ${MAX_BACKFILL_RUNS} runs` });
      if (problems.length) throw new ValidationError(`invalid backfill: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
      const runs: PipelineRun[] = [];
      for (let asOf = opts.from; asOf <= opts.to; asOf += opts.everyMs) runs.push(await this.start({ ...opts, asOf, full: true }));
      return runs;
    },

    /** Puts a failed (or stalled) run's unfinished chunks back in line; finished chunks are not redone. */
    async resume(runId: string): Promise<PipelineRun> {
      const row = await getRun(deps.db, runId);
      if (!row) throw new NotFoundError(`no pipeline run "${runId}"`, { runId });
      if (row.status === 'succeeded') throw new ConflictError(`run ${runId} has already succeeded`, { runId, status: row.status });
      await reopenRun(deps.db, runId);
      const pending = await unfinishedChunks(deps.db, runId);
      // Chunks that used up their attempts sit in the dead letters: retry them there (their parent is waiting for them).
      for (const dead of await deps.queue.deadLetters('features.chunk', 10_000)) {
        const p = dead.payload as FeaturesChunkPayload;
        if (p.runId === runId) await deps.queue.retryDead('features.chunk', dead.id);
      }
      for (const dead of await deps.queue.deadLetters('features.finish', 1_000)) {
        if ((dead.payload as FeaturesFinishPayload).runId === runId) await deps.queue.retryDead('features.finish', dead.id);
      }
      // Idempotent: a no-op when the flow still exists; re-creates it when it was lost.
      if (pending.length > 0) await enqueueRun(runId, pending);
      else await succeed(runId);
      return toRun((await getRun(deps.db, runId))!);
    },

    async get(runId: string): Promise<PipelineRun> {
      const row = await getRun(deps.db, runId);
      if (!row) throw new NotFoundError(`no pipeline run "${runId}"`, { runId });
      return toRun(row);
    },

    async list(q: { limit?: number; before?: number; status?: string } = {}): Promise<PipelineRun[]> {
      const rows = await listRuns(deps.db, { pipeline: FEATURES_PIPELINE, limit: q.limit ?? 20, ...(q.before !== undefined ? { before: q.before } : {}), ...(q.status ? { status: q.status } : {}) });
      return rows.map(toRun);
    },

    /** The latest failed run, if the latest run failed (what `pipeline run features` resumes). */
    async latestFailed(): Promise<PipelineRun | null> {
      const [latest] = await listRuns(deps.db, { pipeline: FEATURES_PIPELINE, limit: 1 });
      return latest && latest.status === 'failed' ? toRun(latest) : null;
    },

    /** Computes one chunk: values into the offline history and the online store, then counts it once. */
    async runChunk(p: FeaturesChunkPayload, ctx: Pick<JobContext, 'attempt' | 'maxAttempts'>): Promise<{ entities: number; rows: number; skipped?: true }> {
      const chunk = await getChunk(deps.db, p.runId, p.chunkNo);
      if (!chunk) throw new UnrecoverableJobError(`pipeline run ${p.runId} has no chunk ${p.chunkNo}`);
      if (chunk.status === 'done') return { entities: Number(chunk.entities), rows: Number(chunk.rows_written), skipped: true };
      const run = (await getRun(deps.db, p.runId))!;
      try {
        await markChunkStarted(deps.db, p.runId, p.chunkNo, now());
        const set = allSets().find((s) => s.name === chunk.feature_set && s.version === Number(chunk.version));
        if (!set) throw new UnrecoverableJobError(`feature set ${chunk.feature_set}@v${chunk.version} is not declared in this build`);
        const keys = JSON.parse(chunk.entity_keys) as string[];
        const asOf = Number(run.as_of);
        const values = await computeBatch(set, deps.db, keys, asOf);
        const createdAt = now();
        const rows: FeatureRow[] = [...values].map(([entityKey, v]) => ({ featureSet: set.name, version: set.version, entityKey, eventAt: asOf, values: v }));
        const historyCreatedAt = Number(run.reconstructs) === 1 ? asOf : createdAt;
        await appendHistory(deps.db, rows.map((r) => ({ ...r, createdAt: historyCreatedAt, runId: p.runId })));
        await deps.online.write(rows, createdAt);
        await deps.db.transaction().execute((tx) => completeChunk(tx, p.runId, p.chunkNo, { entities: keys.length, rows: rows.length }, now()));
        return { entities: keys.length, rows: rows.length };
      } catch (err) {
        if (err instanceof UnrecoverableJobError || ctx.attempt >= ctx.maxAttempts) {
          const message = err instanceof Error ? err.message : String(err);
          await failRun(deps.db, p.runId, p.chunkNo, `chunk ${p.chunkNo} (${chunk.feature_set}): ${message}`.slice(0, 2000), now()).catch(() => {});
        }
        throw err;
      }
    },

    /** The flow's parent: every chunk is done; the run succeeds and moves the watermarks. */
    async finish(p: FeaturesFinishPayload): Promise<PipelineRun> {
      await succeed(p.runId);
      const run = toRun((await getRun(deps.db, p.runId))!);
      if (run.status !== 'succeeded') throw new Error(`run ${p.runId} has ${run.chunksTotal - run.chunksDone} chunks not done`);
      deps.log.info({ runId: run.id, entities: run.entities, rows: run.rowsWritten, ms: run.durationMs }, 'feature pipeline run succeeded');
      return run;
    },

    /** The nightly (configurable) incremental run: upserted idempotently, so every process may call it. */
    async ensureSchedule(cron: string): Promise<void> {
      if (cron === 'off') await deps.queue.removeSchedule(SCHEDULE_ID);
      else await deps.queue.upsertSchedule(SCHEDULE_ID, cron, { name: 'features.plan', payload: { trigger: 'schedule', requestedBy: 'schedule' } });
    },
  };
}

export function featurePipelineJobs(pipeline: FeaturePipeline, onRunSucceeded?: (run: PipelineRun) => Promise<void>): JobDefinition[] {
  const jobs: [JobDefinition<'features.plan'>, JobDefinition<'features.chunk'>, JobDefinition<'features.finish'>] = [
    { name: 'features.plan', attempts: 3, handler: async (p) => {
      const run = await pipeline.start({ trigger: p.trigger, requestedBy: p.requestedBy ?? p.trigger, ...(p.full ? { full: true } : {}), ...(p.asOf !== undefined ? { asOf: p.asOf } : {}) });
      return { runId: run.id, chunks: run.chunksTotal };
    } },
    { name: 'features.chunk', handler: (p, ctx) => pipeline.runChunk(p, ctx) },
    { name: 'features.finish', handler: async (p) => {
      const run = await pipeline.finish(p);
      await onRunSucceeded?.(run);
      return { runId: run.id, entities: run.entities, rows: run.rowsWritten };
    } },
  ];
  return jobs as unknown as JobDefinition[];
}
