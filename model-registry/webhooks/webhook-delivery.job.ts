// Registry events to configured URLs: one queue job per (event, URL), enqueued after the change
// commits, POSTed as JSON with a signature; a failed delivery is retried with the queue's
// exponential backoff and ends in the dead letters after the last attempt.
import { randomUUID } from 'node:crypto';
import type { JobDefinition, JobQueue } from '../../platform/queue/queue.types.js';
import { UnrecoverableJobError } from '../../platform/queue/queue.types.js';
import { signWebhook } from './webhook-signature.js';

export type RegistryEventType = 'version.created' | 'alias.moved' | 'alias.rolled_back' | 'gate.failed' | 'experiment.started' | 'experiment.stopped' | 'experiment.rolled_back';

export interface RegistryEvent {
  id: string;
  type: RegistryEventType;
  /** UTC epoch ms. */
  at: number;
  data: Record<string, unknown>;
}

export interface WebhookDeliveryPayload { url: string; event: RegistryEvent }

declare module '../../platform/queue/queue.types.js' {
  interface JobTypes {
    'registry.webhook': WebhookDeliveryPayload;
  }
}

export interface WebhookSettings {
  urls: readonly string[];
  /** HMAC key; required when there are URLs. */
  secret: string | null;
  /** Per-attempt HTTP timeout. */
  timeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
}

export interface Webhooks {
  /** Enqueue one delivery per URL; call after the transaction commits. */
  publish(type: RegistryEventType, data: Record<string, unknown>): Promise<RegistryEvent>;
}

export function createWebhooks(deps: { queue: JobQueue; settings: WebhookSettings }): Webhooks {
  return {
    async publish(type, data) {
      const event: RegistryEvent = { id: randomUUID(), type, at: Date.now(), data };
      if (deps.settings.urls.length > 0) {
        await deps.queue.enqueueMany('registry.webhook', deps.settings.urls.map((url, i) => ({
          payload: { url, event }, opts: { jobId: `webhook-${event.id}-${i}` },
        })));
      }
      return event;
    },
  };
}

/** The delivery job; every process registers it so whichever worker picks it up can send it. */
export function webhookDeliveryJob(settings: WebhookSettings): JobDefinition<'registry.webhook'> {
  return {
    name: 'registry.webhook',
    attempts: settings.attempts ?? 8,
    backoffMs: settings.backoffMs ?? 2_000,
    async handler({ url, event }, ctx) {
      if (!settings.secret) throw new UnrecoverableJobError('registry webhooks need a secret (registry.webhooks.secret)');
      const body = JSON.stringify(event);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'gigintel-webhooks/1',
          'x-gigintel-event': event.type,
          'x-gigintel-delivery': event.id,
          'x-gigintel-signature': signWebhook(settings.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(settings.timeoutMs ?? 10_000)]),
      }).catch((err: unknown) => { throw new Error(`webhook ${event.type} to ${url}: ${(err as Error).message}`); });
      await res.body?.cancel();
      // A receiver's 4xx (other than timeouts and throttling) will not change on retry.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        throw new UnrecoverableJobError(`webhook ${event.type} to ${url}: HTTP ${res.status}`);
      }
      if (!res.ok) throw new Error(`webhook ${event.type} to ${url}: HTTP ${res.status}`);
      ctx.log.debug({ url, event: event.type, attempt: ctx.attempt }, 'webhook delivered');
      return { status: res.status };
    },
  };
}
