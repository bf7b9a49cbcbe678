// Writing the prediction log without touching the request path: entries collect in memory and
// leave as one queue job per flush (every 100 ms or 200 entries), whose handler inserts them in
// batches. The queue is the durable part; if it is unreachable, entries wait in memory (bounded)
// and go with the next flush, so a Redis blip neither fails a request nor loses a logged prediction.
import { randomBytes } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../../../platform/db/database.js';
import type { Logger } from '../../../platform/logging/logger.js';
import type { JobDefinition, JobQueue } from '../../../platform/queue/queue.types.js';
import { insertPredictions, type PredictionRow } from './prediction-log.repository.js';

declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes { 'predictions.log': { rows: PredictionRow[] } }
}

export interface PredictionLog {
  /** Queues one entry; never throws, never waits. */
  record(row: PredictionRow): void;
  /** Sends what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface PredictionLogDeps {
  queue: JobQueue;
  log?: Logger;
  metrics?: Registry | null;
  enabled?: boolean;
  flushMs?: number;
  maxBatch?: number;
  /** Entries held while the queue is unreachable; older ones are dropped (counted) beyond it. */
  maxBuffered?: number;
}

/** Time-ordered, unique: `pr_` + 11 base-36 ms digits + 12 random hex. */
export function newPredictionId(now = Date.now()): string {
  return `pr_${now.toString(36).padStart(11, '0')}${randomBytes(6).toString('hex')}`;
}

export function createPredictionLog(deps: PredictionLogDeps): PredictionLog {
  const enabled = deps.enabled ?? true;
  const flushMs = deps.flushMs ?? 100;
  const maxBatch = deps.maxBatch ?? 200;
  const maxBuffered = deps.maxBuffered ?? 100_000;
  let buffer: PredictionRow[] = [];
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  const dropped = deps.metrics ? new Counter({ name: 'gigintel_prediction_log_dropped_total', help: 'Prediction log entries dropped because the queue stayed unreachable and the buffer was full', registers: [deps.metrics] }) : null;
  const queued = deps.metrics ? new Counter({ name: 'gigintel_prediction_log_entries_total', help: 'Prediction log entries handed to the queue', registers: [deps.metrics] }) : null;

  async function send(): Promise<void> {
    while (buffer.length) {
      const batch = buffer.slice(0, maxBatch);
      try {
        // The first entry's id names the job: a retried enqueue of the same batch is a no-op.
        await deps.queue.enqueue('predictions.log', { rows: batch }, { jobId: `plog-${batch[0]!.id}` });
      } catch (err) {
        deps.log?.warn({ err: (err as Error).message, buffered: buffer.length }, 'prediction log: queue unavailable; keeping entries for the next flush');
        return;
      }
      buffer = buffer.slice(batch.length);
      queued?.inc(batch.length);
    }
  }

  function flush(): Promise<void> {
    if (timer) { clearTimeout(timer); timer = null; }
    flushing ??= send().finally(() => {
      flushing = null;
      if (buffer.length && !timer) timer = setTimeout(flush, flushMs * 10).unref(); // retry later
    });
    return flushing;
  }

  return {
    record(row) {
      if (!enabled) return;
      buffer.push(row);
      if (buffer.length > maxBuffered) {
        const over = buffer.length - maxBuffered;
        buffer = buffer.slice(over);
        dropped?.inc(over);
        deps.log?.error({ dropped: over }, 'prediction log: buffer full while the queue is unreachable; dropped the oldest entries');
      }
      if (buffer.length >= maxBatch) void flush();
      else if (!timer) timer = setTimeout(flush, flushMs).unref();
    },
    flush,
    async close() {
      await flush();
    },
  };
}

/** The job that writes a flushed batch; inserts are idempotent on the prediction id. */
export function predictionLogJob(deps: { db: Db }): JobDefinition<'predictions.log'> {
  return {
    name: 'predictions.log',
    concurrency: 2,
    async handler(payload) {
      return { inserted: await insertPredictions(deps.db, payload.rows) };
    },
  };
}
