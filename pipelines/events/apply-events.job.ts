// The `events.apply` job: writes a batch of accepted events to the source tables. Delivery is at
// least once, so each run claims the event ids in event_receipt in the same transaction that
// writes the events: a job that runs twice writes nothing twice. Events the database refuses
// (a reference to an unknown row, a broken unique rule) are isolated by splitting the batch, the
// rest is written, and the refused ones move to a job of their own that dead-letters at once.
import { createHash } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import type { Logger } from '../../platform/logging/logger.js';
import { UnrecoverableJobError, type JobDefinition, type JobQueue } from '../../platform/queue/queue.types.js';
import { insertNewRows } from '../contract/source.repository.js';
import { isolateRefused } from './isolate-refused.js';
import { applyProfileUpdate, claimEventIds, ClaimRaceError, type Receipt } from './events.repository.js';
import { eventIdOf, TABLE_EVENT_TYPES, type QueuedEvent } from './validate-events.js';

export interface ApplyEventsPayload { events: QueuedEvent[] }

declare module '../../platform/queue/queue.types.js' {
  interface JobTypes { 'events.apply': ApplyEventsPayload }
}

export const APPLY_EVENTS = 'events.apply' as const;
/** Largest number of events one job carries. */
export const EVENTS_PER_JOB = 500;

/** A job id both queues accept, the same for the same event ids: a retried batch is not queued twice. */
export function eventsJobId(events: readonly QueuedEvent[], kind = 'events'): string {
  const hash = createHash('sha256');
  for (const e of events) hash.update(eventIdOf(e)).update('\n');
  return `${kind}-${hash.digest('hex').slice(0, 40)}`;
}

/** The database refused an event for good (as opposed to being unreachable or busy). */
export class RefusedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedEventError';
  }
}

// Write order: referenced tables first, so a batch may carry a proposal and its hire together.
const RANK = new Map<string, number>([...TABLE_EVENT_TYPES, 'profile_update'].map((t, i) => [t, i]));
const MYSQL_REFUSALS = new Set([1048, 1062, 1264, 1292, 1364, 1366, 1406, 1451, 1452]);
const MYSQL_LOCK_CONFLICTS = new Set([1205, 1213]); // lock wait timeout, deadlock: retry
const CLAIM_TRIES = 3;

/** Why the database refused the data, or null when the error is about something else. */
export function refusalReason(err: unknown): string | null {
  if (err instanceof RefusedEventError) return err.message;
  const e = err as { errno?: unknown; code?: unknown; message?: unknown };
  const msg = typeof e.message === 'string' ? e.message.slice(0, 300) : String(err);
  if (typeof e.errno === 'number' && typeof e.code === 'string' && e.code.startsWith('ER_') && MYSQL_REFUSALS.has(e.errno)) return msg;
  if (typeof e.code === 'string' && /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)/.test(e.code)) return msg;
  return null;
}

function isRetryable(err: unknown): boolean {
  const errno = (err as { errno?: unknown }).errno;
  return err instanceof ClaimRaceError || (typeof errno === 'number' && MYSQL_LOCK_CONFLICTS.has(errno));
}

export interface ApplyResult { applied: number; skipped: number; refused: { eventId: string; reason: string }[] }

export function createEventApplier(deps: { db: Db }) {
  /** One transaction: claim, then write only the events this transaction claimed. Returns how many it claimed. */
  async function applyInTransaction(events: QueuedEvent[]): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.db.transaction().execute(async (tx) => {
          const receipts: Receipt[] = events.map((e) => ({
            event_id: eventIdOf(e), type: e.type, event_at: e.row.event_at,
            ingested_at: Number(e.type === 'profile_update' ? e.row.updated_at : e.row.ingested_at),
          }));
          const claimed = await claimEventIds(tx, receipts);
          const fresh = events.filter((e) => claimed.has(eventIdOf(e)));
          for (const table of TABLE_EVENT_TYPES) {
            const rows = fresh.filter((e) => e.type === table).map((e) => e.row);
            await insertNewRows(tx, table, ['id'], rows);
          }
          // Oldest first; the event-time guard makes the order a matter of speed, not of correctness.
          const profiles = fresh.filter((e) => e.type === 'profile_update').sort((a, b) => a.row.event_at - b.row.event_at);
          for (const { row } of profiles) {
            const { event_id: _id, provider_id: providerId, event_at: eventAt, updated_at: updatedAt, ...fields } = row;
            const outcome = await applyProfileUpdate(tx, providerId, eventAt, fields, Number(updatedAt));
            if (outcome === 'unknown_provider') throw new RefusedEventError(`unknown provider ${providerId}`);
          }
          return claimed.size;
        });
      } catch (err) {
        if (attempt < CLAIM_TRIES && isRetryable(err)) continue;
        throw err;
      }
    }
  }

  return {
    async apply(events: readonly QueuedEvent[]): Promise<ApplyResult> {
      // Stable sort by write order, so halving never puts a hire before the proposal it names.
      const ordered = [...events].sort((a, b) => RANK.get(a.type)! - RANK.get(b.type)!);
      const out: ApplyResult = { applied: 0, skipped: 0, refused: [] };
      const refused = await isolateRefused(ordered, async (batch) => {
        const claimed = await applyInTransaction(batch);
        out.applied += claimed;
        out.skipped += batch.length - claimed;
      }, refusalReason);
      out.refused = refused.map((r) => ({ eventId: eventIdOf(r.item), reason: r.reason }));
      return out;
    },
  };
}

export function createApplyEventsJob(deps: { db: Db; queue: JobQueue; log: Logger }): JobDefinition<'events.apply'> {
  const applier = createEventApplier(deps);
  return {
    name: APPLY_EVENTS,
    handler: async (payload, ctx) => {
      const result = await applier.apply(payload.events);
      if (result.refused.length === 0) return { applied: result.applied, skipped: result.skipped };
      const reasons = result.refused.slice(0, 20).map((r) => `${r.eventId}: ${r.reason}`).join('; ');
      if (result.refused.length === payload.events.length) {
        // Only refused events left: no retry can help, so dead-letter them with the reasons.
        throw new UnrecoverableJobError(`the database refused all ${result.refused.length} events of this job: ${reasons}`);
      }
      // The good events are written; the refused ones get a job of their own, which dead-letters.
      const refusedIds = new Set(result.refused.map((r) => r.eventId));
      const poison = payload.events.filter((e) => refusedIds.has(eventIdOf(e)));
      await deps.queue.enqueue(APPLY_EVENTS, { events: poison }, { jobId: eventsJobId(poison, 'events-refused') });
      ctx.log.warn({ refused: result.refused.length, applied: result.applied }, `events refused by the database, moved to a job of their own: ${reasons}`);
      return { applied: result.applied, skipped: result.skipped, refused: result.refused.length };
    },
  };
}
