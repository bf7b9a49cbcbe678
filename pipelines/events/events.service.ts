// Accepting a batch of events: validate all of it, queue the valid events durably (jobs of at
// most EVENTS_PER_JOB, ids derived from their event ids) for the source tables and the stream
// processors, and say per index what was refused.
import { ValidationError } from '../../platform/errors/app-error.js';
import type { JobQueue } from '../../platform/queue/queue.types.js';
import { APPLY_EVENTS, EVENTS_PER_JOB, eventsJobId } from './apply-events.job.js';
import { validateEvents, type EventError } from './validate-events.js';
import { STREAM_FEATURES, streamJobId } from '../features/stream/stream-features.job.js';

export interface IngestResult { accepted: number; rejected: number; duplicates: number; errors: EventError[] }
export type EventsService = ReturnType<typeof createEventsService>;

export function createEventsService(deps: { queue: JobQueue; maxBatch: number; /** Queue features.stream jobs too (default true). */ stream?: boolean }) {
  const stream = deps.stream ?? true;
  return {
    maxBatch: deps.maxBatch,
    async ingest(events: readonly unknown[]): Promise<IngestResult> {
      if (events.length > deps.maxBatch) {
        throw new ValidationError(`a batch holds at most ${deps.maxBatch} events; this one has ${events.length}`, [
          { path: '/body/events', message: `must hold at most ${deps.maxBatch} events (ingest.maxBatch)` },
        ]);
      }
      const batch = validateEvents(events, Date.now());
      const jobs = [];
      for (let i = 0; i < batch.accepted.length; i += EVENTS_PER_JOB) {
        const chunk = batch.accepted.slice(i, i + EVENTS_PER_JOB);
        jobs.push({ payload: { events: chunk }, opts: { jobId: eventsJobId(chunk) } });
      }
      // One enqueueMany per job type for the whole batch, stored before we answer: the source-table
      // writer and the stream processor (same events, own job ids). A queue outage throws
      // ServiceUnavailableError (a 503); the client's retry re-enqueues under the same job ids, so
      // whichever half was stored is not queued twice.
      if (jobs.length) {
        const streamJobs = stream ? jobs.map((j) => ({ payload: j.payload, opts: { jobId: streamJobId(j.payload.events) } })) : [];
        await Promise.all([
          deps.queue.enqueueMany(APPLY_EVENTS, jobs),
          ...(streamJobs.length ? [deps.queue.enqueueMany(STREAM_FEATURES, streamJobs)] : []),
        ]);
      }
      return { accepted: batch.accepted.length, rejected: batch.errors.length, duplicates: batch.duplicates, errors: batch.errors };
    },
  };
}
