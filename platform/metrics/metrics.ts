// One prom-client registry per process (not the global one, so tests can build several apps).
// HTTP latency by route and status, database pool use, queue depth and job outcomes, and
// Node's default process metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueCounts, QueueMetricsHooks } from '../queue/queue.types.js';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Records one HTTP request (the labelled child is cached: no label hashing per request). */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  queueHooks: QueueMetricsHooks;
  /** Gauges read these when Prometheus scrapes, so nothing polls in between. */
  watchPool(read: () => { size: number; inUse: number; idle: number; waiting: number }): void;
  watchQueue(read: () => Promise<Record<string, QueueCounts>>): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gigintel_' });

  const httpDuration = new Histogram({
    name: 'gigintel_http_request_duration_seconds',
    help: 'HTTP request latency by route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const jobsCompleted = new Counter({ name: 'gigintel_jobs_completed_total', help: 'Jobs that finished successfully', labelNames: ['job'] as const, registers: [registry] });
  const jobsFailed = new Counter({ name: 'gigintel_jobs_failed_total', help: 'Job attempts that threw; final="true" when the job went to the dead-letter list', labelNames: ['job', 'final'] as const, registers: [registry] });
  const jobDuration = new Histogram({ name: 'gigintel_job_duration_seconds', help: 'Job run time', labelNames: ['job'] as const, buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120], registers: [registry] });

  let readPool: (() => { size: number; inUse: number; idle: number; waiting: number }) | undefined;
  let readQueue: (() => Promise<Record<string, QueueCounts>>) | undefined;
  new Gauge({
    name: 'gigintel_db_pool_connections', help: 'Database pool connections by state', labelNames: ['state'] as const, registers: [registry],
    collect() {
      if (!readPool) return;
      const s = readPool();
      this.set({ state: 'in_use' }, s.inUse);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting_requests' }, s.waiting);
    },
  });
  new Gauge({
    name: 'gigintel_queue_jobs', help: 'Jobs in the queue by job type and state', labelNames: ['job', 'state'] as const, registers: [registry],
    async collect() {
      if (!readQueue) return;
      try {
        for (const [job, c] of Object.entries(await readQueue())) {
          for (const state of ['waiting', 'active', 'delayed', 'dead'] as const) this.set({ job, state }, c[state]);
        }
      } catch { /* store down: /readyz reports it; keep the last values */ }
    },
  });

  const httpChildren = new Map<string, { observe(v: number): void }>();
  return {
    registry,
    httpDuration,
    observeHttp(method, route, status, seconds) {
      const key = `${method} ${status} ${route}`;
      let child = httpChildren.get(key);
      if (!child) {
        child = httpDuration.labels({ method, route, status_code: status });
        httpChildren.set(key, child);
      }
      child.observe(seconds);
    },
    queueHooks: {
      completed(name, ms) { jobsCompleted.inc({ job: name }); jobDuration.observe({ job: name }, ms / 1000); },
      failed(name, final) { jobsFailed.inc({ job: name, final: String(final) }); },
    },
    watchPool(read) { readPool = read; },
    watchQueue(read) { readQueue = read; },
  };
}
