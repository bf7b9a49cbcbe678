// Writing the prediction log without touching the request path: entries collect in memory and
// leave as one queue job per flush (every 100 ms or 200 entries), whose handler inserts them in
// batches. The queue is the durable part; if it is unreachable, entries wait in memory (bounded)
// and go with the next flush, so a Redis blip neither fails a request nor loses a logged prediction.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db/database.js';
import { createBatchedEnqueuer, type BatchedEnqueuer, type BatchedEnqueuerOptions } from '../../../platform/queue/batched-enqueuer.js';
import type { JobDefinition } from '../../../platform/queue/queue.types.js';
import { insertPredictions, type PredictionRow } from './prediction-log.repository.js';

declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes { 'predictions.log': { rows: PredictionRow[] } }
}

export type PredictionLog = BatchedEnqueuer<PredictionRow>;

/** The batching knobs of the log (queue, metrics, on/off, flush cadence, buffer bounds). */
export type PredictionLogDeps = Pick<BatchedEnqueuerOptions<'predictions.log', PredictionRow>, 'queue' | 'log' | 'metrics' | 'enabled' | 'flushMs' | 'maxBatch' | 'maxBuffered'>;

// Per process: 48 random bits, then a counter — unique across processes without asking the OS
// for randomness on every request.
const PROCESS_ID = randomBytes(6).toString('hex');
let counter = 0;

/** Time-ordered, unique: `pr_` + 11 base-36 ms digits + 12 hex of this process + a base-36 counter. */
export function newPredictionId(now = Date.now()): string {
  counter = (counter + 1) % 2_176_782_336; // 36^6
  return `pr_${now.toString(36).padStart(11, '0')}${PROCESS_ID}${counter.toString(36).padStart(6, '0')}`;
}

export function createPredictionLog(deps: PredictionLogDeps): PredictionLog {
  return createBatchedEnqueuer({
    ...deps, job: 'predictions.log', what: 'prediction log entries', metricName: 'gigintel_prediction_log',
    payload: (rows) => ({ rows }),
    sizeOf: (r) => 200 + r.candidates.length + (r.features?.length ?? 0) + (r.explanations?.length ?? 0) + (r.missing?.length ?? 0),
    // The first entry's id names the job: a retried enqueue of the same batch is a no-op.
    jobId: (rows) => `plog-${rows[0]!.id}`,
  });
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
