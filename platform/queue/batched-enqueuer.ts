// Many small records leaving a request path as few queue jobs: records collect in memory and go
// out as one job per flush (every `flushMs` or `maxBatch` records). The queue is the durable
// part; if it is unreachable, records wait in memory (bounded by count and bytes: past either the
// oldest are dropped and counted) and go with a later flush — the caller never waits and never fails.
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';
import type { JobName, JobQueue, JobTypes } from './queue.types.js';

export interface BatchedEnqueuer<R> {
  /** Queues one record; never throws, never waits. */
  record(row: R): void;
  /** Sends what is buffered now (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BatchedEnqueuerOptions<N extends JobName, R> {
  queue: JobQueue;
  job: N;
  /** The job payload of a batch. */
  payload: (rows: R[]) => JobTypes[N];
  /** Idempotency: the job id of a batch (a retried enqueue of the same batch is then a no-op). */
  jobId: (rows: R[]) => string;
  /** Metric name stem, e.g. gigintel_prediction_log → …_entries_total and …_dropped_total. */
  metricName?: string;
  what: string;
  log?: Logger;
  metrics?: Registry | null;
  enabled?: boolean;
  flushMs?: number;
  maxBatch?: number;
  maxBuffered?: number;
  /** Approximate bytes of a record: batches stay under maxBatchBytes and the buffer under maxBufferedBytes. */
  sizeOf?: (row: R) => number;
  maxBatchBytes?: number;
  maxBufferedBytes?: number;
}

export function createBatchedEnqueuer<N extends JobName, R>(o: BatchedEnqueuerOptions<N, R>): BatchedEnqueuer<R> {
  const enabled = o.enabled ?? true;
  const flushMs = o.flushMs ?? 100;
  const maxBatch = o.maxBatch ?? 200;
  const maxBuffered = o.maxBuffered ?? 100_000;
  const sizeOf = o.sizeOf ?? (() => 0);
  const maxBatchBytes = o.maxBatchBytes ?? 4 * 1024 * 1024;
  const maxBufferedBytes = o.maxBufferedBytes ?? 64 * 1024 * 1024;
  let buffer: R[] = [];
  let sizes: number[] = [];
  let bufferedBytes = 0;
  let timer: NodeJS.Timeout | null = null;
  let flushing: Promise<void> | null = null;
  const dropped = o.metrics && o.metricName ? new Counter({ name: `${o.metricName}_dropped_total`, help: `${o.what} dropped because the queue stayed unreachable and the buffer was full`, registers: [o.metrics] }) : null;
  const queued = o.metrics && o.metricName ? new Counter({ name: `${o.metricName}_entries_total`, help: `${o.what} handed to the queue`, registers: [o.metrics] }) : null;

  async function send(): Promise<void> {
    while (buffer.length) {
      // Up to maxBatch records and maxBatchBytes (but always at least one record).
      let take = 0, bytes = 0;
      while (take < buffer.length && take < maxBatch && (take === 0 || bytes + sizes[take]! <= maxBatchBytes)) bytes += sizes[take++]!;
      // The batch leaves the buffer while it is sent (drops meanwhile cannot shift it) and goes
      // back to the front if the queue refuses it.
      const batch = buffer.slice(0, take);
      const batchSizes = sizes.slice(0, take);
      buffer = buffer.slice(take);
      sizes = sizes.slice(take);
      bufferedBytes -= bytes;
      try {
        await o.queue.enqueue(o.job, o.payload(batch), { jobId: o.jobId(batch) });
      } catch (err) {
        buffer = batch.concat(buffer);
        sizes = batchSizes.concat(sizes);
        bufferedBytes += bytes;
        o.log?.warn({ err: (err as Error).message, buffered: buffer.length }, `${o.what}: queue unavailable; keeping them for the next flush`);
        return;
      }
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
      const size = sizeOf(row);
      buffer.push(row);
      sizes.push(size);
      bufferedBytes += size;
      if (buffer.length > maxBuffered || bufferedBytes > maxBufferedBytes) {
        let over = Math.max(0, buffer.length - maxBuffered);
        let freed = 0;
        for (let k = 0; k < over; k++) freed += sizes[k]!;
        while (over < buffer.length - 1 && bufferedBytes - freed > maxBufferedBytes) freed += sizes[over++]!;
        buffer = buffer.slice(over);
        sizes = sizes.slice(over);
        bufferedBytes -= freed;
        dropped?.inc(over);
        o.log?.error({ dropped: over }, `${o.what}: buffer full while the queue is unreachable; dropped the oldest`);
      }
      if (buffer.length >= maxBatch || bufferedBytes >= maxBatchBytes) void flush();
      else if (!timer) timer = setTimeout(flush, flushMs).unref();
    },
    flush,
    async close() {
      await flush();
    },
  };
}
