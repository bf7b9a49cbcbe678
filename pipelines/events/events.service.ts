// Accepting a batch of events: validate all of it, queue the valid events durably (jobs of at
// most EVENTS_PER_JOB, ids derived from their event ids), and say per index what was refused.
import { ValidationError } from '../../platform/errors/app-error.js';
import type { JobQueue } from '../../platform/queue/queue.types.js';
import { APPLY_EVENTS, EVENTS_PER_JOB, eventsJobId } from './apply-events.job.js';
import { validateEvents, type EventError } from './validate-events.js';

export interface IngestResult { accepted: number; rejected: number; duplicates: number; errors: EventError[] }
export type EventsService = ReturnType<typeof createEventsService>;

export function createEventsService(deps: { queue: JobQueue; maxBatch: number }) {
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
      // One enqueueMany for the whole batch: stored together or not at all, before we answer.
      // A queue outage throws ServiceUnavailableError, which the API answers with a 503.
      if (jobs.length) await deps.queue.enqueueMany(APPLY_EVENTS, jobs);
      return { accepted: batch.accepted.length, rejected: batch.errors.length, duplicates: batch.duplicates, errors: batch.errors };
    },
  };
}
