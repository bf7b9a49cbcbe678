// The `features.stream` job: the stream processor for one batch of ingested events (the same
// batch as an `events.apply` job, queued next to it). Counts the events into event-time window
// counters (each event id once, ever), recomputes the windowed inputs of every entity the batch
// touches as of that entity's latest event time, and writes the feature values online and to the
// offline history. Events it cannot handle are dead-lettered with the reason, apart from the rest.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Db } from '../../../platform/db/database.js';
import type { Logger } from '../../../platform/logging/logger.js';
import { UnrecoverableJobError, type JobDefinition, type JobQueue } from '../../../platform/queue/queue.types.js';
import { eventsJobId, refusalReason } from '../../events/apply-events.job.js';
import { isolateRefused } from '../../events/isolate-refused.js';
import type { QueuedEvent } from '../../events/validate-events.js';
import type { OnlineStore } from '../store/feature-store.types.js';
import { createOnlineStore } from '../store/create-online-store.js';
import { createDbWindowCounters } from './db-window-counters.js';
import { createRedisWindowCounters } from './redis-window-counters.js';
import { createStreamFeatureWriter, STREAM_SETS, type StreamFeatureSets, type StreamFeatureWriter } from './stream-feature-writer.js';
import { streamMetrics, type StreamMetrics } from './stream-metrics.js';
import { PoisonEventError, streamEventOf, type EntityWindows, type StreamEvent, type WindowCounterStore } from './window-counters.js';

export interface StreamFeaturesPayload { events: QueuedEvent[] }

declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes { 'features.stream': StreamFeaturesPayload }
}

export const STREAM_FEATURES = 'features.stream' as const;

/** A poison event may lack an id, so its job id hashes the whole payload. */
function poisonJobId(events: readonly QueuedEvent[]): string {
  return `stream-poison-${createHash('sha256').update(JSON.stringify(events)).digest('hex').slice(0, 40)}`;
}

/** The stream job's id for a batch: deterministic like the apply job's, with its own prefix. */
export function streamJobId(events: readonly QueuedEvent[]): string {
  return eventsJobId(events, 'stream');
}

export interface StreamResult { events: number; counted: number; entities: number; written: number; stale: number; poison: { eventId: string; reason: string }[] }

export interface StreamProcessorDeps {
  counters: WindowCounterStore;
  writer: StreamFeatureWriter;
  metrics?: StreamMetrics | null;
  now?: () => number;
}

/** Counts, recomputes and writes one batch; returns what it did, poison events listed (not thrown). */
export function createStreamProcessor(deps: StreamProcessorDeps) {
  const now = deps.now ?? Date.now;

  return {
    async process(queued: readonly QueuedEvent[]): Promise<StreamResult> {
      const out: StreamResult = { events: queued.length, counted: 0, entities: 0, written: 0, stale: 0, poison: [] };
      const good: StreamEvent[] = [];
      for (const e of queued) {
        try {
          good.push(streamEventOf(e));
        } catch (err) {
          if (!(err instanceof PoisonEventError)) throw err;
          out.poison.push({ eventId: err.eventId, reason: err.message });
        }
      }
      // Counting returns the window values of every entity of the counted events (counted now or
      // by an earlier run of this job: a run that counted and then failed to write must still
      // write when it runs again). When refusals split the batch, the last call's values are the newest.
      const windows = new Map<string, EntityWindows>();
      const isolated = await isolateRefused(good, async (batch) => {
        const r = await deps.counters.countAndRead(batch);
        out.counted += r.counted;
        for (const w of r.windows) windows.set(`${w.kind}:${w.key}`, w);
      }, refusalReason);
      out.poison.push(...isolated.map((r) => ({ eventId: r.item.id, reason: r.reason })));
      const refused = new Set(out.poison.map((p) => p.eventId));
      const counters = [...windows.values()];
      const written = await deps.writer.write(counters, now());
      const done = now();
      out.entities = counters.length;
      out.written = written.written;
      out.stale = written.stale;
      if (deps.metrics) {
        for (const e of good) if (!refused.has(e.id) && e.updates.length > 0) deps.metrics.lag.observe(Math.max(0, done - e.at) / 1000);
        deps.metrics.events.inc({ outcome: 'counted' }, out.counted);
        deps.metrics.events.inc({ outcome: 'repeated' }, Math.max(0, good.filter((e) => e.updates.length > 0).length - refused.size - out.counted));
        deps.metrics.events.inc({ outcome: 'poison' }, out.poison.length);
      }
      return out;
    },
  };
}

export function createStreamFeaturesJob(deps: StreamProcessorDeps & { queue: JobQueue }): JobDefinition<'features.stream'> {
  const processor = createStreamProcessor(deps);
  return {
    name: STREAM_FEATURES,
    handler: async (payload, ctx) => {
      const result = await processor.process(payload.events);
      const summary = { events: result.events, counted: result.counted, entities: result.entities, written: result.written, stale: result.stale };
      if (result.poison.length === 0) return summary;
      const reasons = result.poison.slice(0, 20).map((p) => `${p.eventId}: ${p.reason}`).join('; ');
      if (result.poison.length === payload.events.length) {
        throw new UnrecoverableJobError(`the stream processor cannot handle any of the ${result.poison.length} events of this job: ${reasons}`);
      }
      // The good events are counted; the poison ones get a job of their own, which dead-letters.
      const ids = new Set(result.poison.map((p) => p.eventId));
      const poison = payload.events.filter((e) => {
        const row = e.row as Record<string, unknown>;
        return ids.has(String((e.type === 'profile_update' ? row.event_id : row.id) ?? ''));
      });
      await deps.queue.enqueue(STREAM_FEATURES, { events: poison }, { jobId: poisonJobId(poison) });
      ctx.log.warn({ poison: result.poison.length, counted: result.counted }, `events the stream processor cannot handle, moved to a job of their own: ${reasons}`);
      return { ...summary, poison: result.poison.length };
    },
  };
}

/** The composition: Redis counters and online store when a Redis client is given, the database otherwise. */
export function createStreamFeatures(deps: {
  db: Db; redis?: Redis | null; prefix: string; queue: JobQueue; log: Logger; registry?: Registry | null; sets?: StreamFeatureSets;
  /** The process's online store (default: one of its own on the same backend). */
  online?: OnlineStore;
}): { job: JobDefinition<'features.stream'>; counters: WindowCounterStore; writer: StreamFeatureWriter } {
  const sets = deps.sets ?? STREAM_SETS;
  const counters = deps.redis ? createRedisWindowCounters({ redis: deps.redis, prefix: deps.prefix }) : createDbWindowCounters({ db: deps.db });
  const online = deps.online ?? createOnlineStore({ db: deps.db, redis: deps.redis ?? null, prefix: deps.prefix, sets: Object.values(sets) });
  const writer = createStreamFeatureWriter({ db: deps.db, online, sets });
  const metrics = deps.registry ? streamMetrics(deps.registry) : null;
  return { job: createStreamFeaturesJob({ counters, writer, queue: deps.queue, metrics }), counters, writer };
}
