// The distributed shape's queue: BullMQ on Redis, one BullMQ queue per job name under the
// configured key prefix. Two connections: the producer fails fast while Redis is down (no offline
// queue, one retry) so enqueue() can answer 503 instead of hanging; the workers' connection waits
// and retries forever, as BullMQ requires. Both reconnect by themselves when Redis comes back.
// Flows go through a FlowProducer on the producer connection; cron schedules are BullMQ job
// schedulers on the queue of their job name, with a hash (id → job name) to find them by id.
import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { dependencyFailure, ServiceUnavailableError } from '../errors/app-error.js';
import { currentCorrelationId, runWithCorrelation } from '../logging/correlation.js';
import type { Logger } from '../logging/logger.js';
import {
  assertValidJobId, assertValidScheduleId, nextCronRun, UnrecoverableJobError,
  type DeadJob, type EnqueueOptions, type FlowJob, type JobContext, type JobDefinition, type JobName, type JobQueue, type JobTypes,
  type QueueCounts, type QueueDefaults, type QueueMetricsHooks, type ScheduleInfo,
} from './queue.types.js';
import { settlesWithin } from './settles-within.js';

export interface BullmqQueueDeps {
  redisUrl: string;
  /** BullMQ key prefix; every key this queue writes starts with it. */
  prefix: string;
  log: Logger;
  defaults: QueueDefaults;
  metrics?: QueueMetricsHooks;
  /** Longest an enqueue or a read may wait for Redis before it fails with a 503 (default 5 s). */
  timeoutMs?: number;
}

/** What is stored as the BullMQ job's data. */
interface Envelope {
  payload: unknown;
  correlationId: string | undefined;
  enqueuedAt: number;
}

interface Registered {
  def: JobDefinition;
  attempts: number;
  backoffMs: number;
  concurrency: number;
}

interface Running {
  job: Job<Envelope>;
  token: string | undefined;
  abort: AbortController;
  /** Moved back to wait on shutdown: its outcome must not be reported. */
  released: boolean;
}

const RECONNECT = (times: number) => Math.min(times * 200, 2_000);
// Each forced step of close() after the grace period; keeps close() within grace + ~1 s.
const CLOSE_STEP_MS = 250;

export function createBullmqQueue(deps: BullmqQueueDeps): JobQueue {
  const { log, defaults, prefix } = deps;
  const timeoutMs = deps.timeoutMs ?? 5_000;
  const producer = new Redis(deps.redisUrl, {
    maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, retryStrategy: RECONNECT,
  });
  watchConnection(producer, log, 'producer');
  let workerConnection: Redis | null = null;
  const registered = new Map<string, Registered>();
  const queues = new Map<string, Queue<Envelope>>();
  const workers = new Map<string, Worker<Envelope>>();
  const running = new Set<Running>();
  const onOtherError = quietLogger(log, 'job queue: bullmq error');
  // Queues and workers repeat their connection's errors, which watchConnection already reports.
  const onQueueError = (err: Error) => {
    if (dependencyFailure(err)) log.debug({ err: err.message }, 'job queue: bullmq connection error');
    else onOtherError(err);
  };
  let started = false;
  let workersUp = false;
  let closing: Promise<void> | null = null;
  let flowProducer: FlowProducer | null = null;
  // Which queue (job name) holds each schedule; BullMQ keeps schedulers per queue.
  const scheduleIndexKey = `${prefix}:job-schedules:index`;

  function flows(): FlowProducer {
    if (!flowProducer) {
      flowProducer = new FlowProducer({ connection: producer, prefix });
      flowProducer.on('error', onQueueError);
    }
    return flowProducer;
  }

  function queueFor(name: string): Queue<Envelope> {
    const existing = queues.get(name);
    if (existing) return existing;
    const queue = new Queue<Envelope>(name, { connection: producer, prefix });
    queue.on('error', onQueueError);
    // If its start-up check failed (Redis dropped at that moment), the Queue object stays broken:
    // forget it so the next call builds a fresh one.
    queue.waitUntilReady().catch(() => {
      if (queues.get(name) === queue) queues.delete(name);
      void queue.close().catch(() => undefined);
    });
    queues.set(name, queue);
    return queue;
  }

  function jobOptions(name: string, opts: EnqueueOptions | undefined): JobsOptions {
    if (opts?.jobId !== undefined) assertValidJobId(opts.jobId);
    const reg = registered.get(name);
    return {
      ...(opts?.jobId !== undefined ? { jobId: opts.jobId } : {}),
      ...(opts?.delayMs ? { delay: opts.delayMs } : {}),
      attempts: reg?.attempts ?? defaults.attempts,
      backoff: { type: 'exponential', delay: reg?.backoffMs ?? defaults.backoffMs },
      removeOnComplete: { count: 1000 },
      removeOnFail: false, // the failed set is the dead-letter list
    };
  }

  function flowNode(job: FlowJob, jobId: string) {
    assertValidJobId(jobId); // a derived child id may be too long
    return { name: job.name, queueName: job.name, data: envelope(job.payload, job.opts), opts: { ...jobOptions(job.name, job.opts), jobId } };
  }

  function envelope(payload: unknown, opts: EnqueueOptions | undefined): Envelope {
    return { payload, correlationId: opts?.correlationId ?? currentCorrelationId(), enqueuedAt: Date.now() };
  }

  /** Runs a Redis operation with a deadline; a down or slow Redis becomes a ServiceUnavailableError. */
  async function redisCall<T>(fn: () => Promise<T>, ms = timeoutMs): Promise<T> {
    if (closing) throw new ServiceUnavailableError('queue', 'the job queue is shut down');
    const deadline = Date.now() + ms;
    await whenReady(producer, ms);
    return withDeadline(fn(), Math.max(1, deadline - Date.now()));
  }

  function processorFor(reg: Registered) {
    // Three parameters: BullMQ passes the abort signal only to processors that declare it.
    return async (job: Job<Envelope>, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> => {
      const name = reg.def.name;
      const id = job.id ?? '';
      const { payload, correlationId } = job.data;
      const abort = new AbortController();
      signal?.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
      const run: Running = { job, token, abort, released: false };
      running.add(run);
      return runWithCorrelation(correlationId ?? `job-${id}`, async () => {
        const jobLog = log.child({ job: name, jobId: id });
        const ctx: JobContext = {
          id, name, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1,
          correlationId, log: jobLog, signal: abort.signal,
          childrenValues: async () => {
            // Keys are full Redis keys (`${prefix}:${queue}:${id}`); ids and job names hold no ':'.
            const values = await redisCall(() => job.getChildrenValues<unknown>());
            return Object.fromEntries(Object.entries(values).map(([key, v]) => [key.slice(key.lastIndexOf(':') + 1), v]));
          },
        };
        const startedAt = Date.now();
        try {
          const result = await reg.def.handler(payload as never, ctx);
          if (run.released) throw new Error('released on shutdown'); // the job is back in wait; BullMQ's move fails on the lock
          deps.metrics?.completed(name, Date.now() - startedAt);
          jobLog.debug({ ms: Date.now() - startedAt, attempt: ctx.attempt }, 'job completed');
          return result ?? null;
        } catch (err) {
          if (run.released) throw err;
          const message = err instanceof Error ? err.message : String(err);
          const unrecoverable = err instanceof UnrecoverableJobError;
          const final = unrecoverable || ctx.attempt >= ctx.maxAttempts;
          deps.metrics?.failed(name, final);
          const fields = { err: message, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts };
          if (final) jobLog.error(fields, 'job failed for good; moved to the dead-letter list');
          else jobLog.warn(fields, 'job failed; will retry');
          if (unrecoverable) throw new UnrecoverableError(message);
          throw err instanceof Error ? err : new Error(message);
        } finally {
          running.delete(run);
        }
      });
    };
  }

  // BullMQ 6 cannot close a Worker whose connection never came up (close() waits for it), so
  // Workers are only created once the workers' connection is ready; until then there is nothing
  // to close and nothing leaks when Redis never appears.
  function startWorkersWhenConnected(conn: Redis): void {
    const up = () => {
      if (closing || workersUp) return;
      workersUp = true;
      for (const reg of registered.values()) startWorker(conn, reg);
      log.debug({ jobs: [...registered.keys()] }, 'job queue: bullmq workers started');
    };
    if (conn.status === 'ready') up();
    else conn.once('ready', up);
  }

  function startWorker(conn: Redis, reg: Registered): void {
    const worker = new Worker<Envelope>(reg.def.name, processorFor(reg), {
      connection: conn,
      prefix,
      concurrency: reg.concurrency,
      lockDuration: defaults.lockDurationMs,
      // A killed worker's job is noticed one lease later, not after BullMQ's default 30 s.
      stalledInterval: defaults.lockDurationMs,
    });
    worker.on('error', onQueueError);
    worker.on('stalled', (jobId) => log.warn({ job: reg.def.name, jobId }, 'job queue: the worker running this job stopped; it goes back in line'));
    workers.set(reg.def.name, worker);
  }

  function createWorkerConnection(): Redis {
    const conn = new Redis(deps.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2_000, retryStrategy: RECONNECT });
    watchConnection(conn, log, 'worker');
    return conn;
  }

  async function closeAll(graceMs: number): Promise<void> {
    const list = [...workers.values()];
    // close() stops fetching and waits for running jobs. (A later close(true) returns that same
    // promise in BullMQ 6, so after the grace period we force our own way, in bounded steps.)
    const closes = Promise.allSettled(list.map((w) => w.close()));
    if (!await settlesWithin(closes, graceMs)) {
      const left = [...running];
      for (const r of left) r.released = true;
      // Give the jobs back to wait now (their locks go with them) so the next worker starts at once;
      // if Redis is down they come back as stalled jobs one lease later.
      await settlesWithin(Promise.allSettled(left.map((r) => r.job.moveToWait(r.token))), CLOSE_STEP_MS);
      for (const r of left) r.abort.abort(new Error('the job queue is shutting down'));
      if (left.length) log.warn({ released: left.length }, 'job queue: shutdown grace period over; running jobs given back to the queue');
      if (!await settlesWithin(closes, CLOSE_STEP_MS)) {
        // Handlers that ignore the signal keep running detached; cut the workers' connections.
        await settlesWithin(Promise.allSettled(list.map((w) => w.disconnect())), CLOSE_STEP_MS);
      }
    }
    await settlesWithin(Promise.allSettled([...queues.values(), ...(flowProducer ? [flowProducer] : [])].map((q) => q.close())), CLOSE_STEP_MS);
    producer.disconnect();
    workerConnection?.disconnect();
  }

  return {
    kind: 'bullmq',

    register<N extends JobName>(def: JobDefinition<N>): void {
      if (registered.has(def.name)) throw new Error(`job type ${def.name} is registered twice`);
      const reg: Registered = {
        def: def as unknown as JobDefinition,
        attempts: def.attempts ?? defaults.attempts,
        backoffMs: def.backoffMs ?? defaults.backoffMs,
        concurrency: def.concurrency ?? defaults.concurrency,
      };
      registered.set(def.name, reg);
      if (workersUp && workerConnection && !closing) startWorker(workerConnection, reg);
    },

    async enqueue<N extends JobName>(name: N, payload: JobTypes[N], opts?: EnqueueOptions): Promise<{ id: string }> {
      const jobOpts = jobOptions(name, opts);
      const job = await redisCall(() => queueFor(name).add(name, envelope(payload, opts), jobOpts));
      return { id: job.id ?? '' };
    },

    async enqueueMany<N extends JobName>(name: N, jobs: { payload: JobTypes[N]; opts?: EnqueueOptions }[]): Promise<{ ids: string[] }> {
      if (jobs.length === 0) return { ids: [] };
      const bulk = jobs.map((j) => ({ name, data: envelope(j.payload, j.opts), opts: jobOptions(name, j.opts) }));
      const added = await redisCall(() => queueFor(name).addBulk(bulk));
      return { ids: added.map((j) => j.id ?? '') };
    },

    async enqueueFlow(parent: FlowJob, children: FlowJob[]): Promise<{ id: string }> {
      const parentId = parent.opts?.jobId ?? randomUUID();
      const parentNode = flowNode(parent, parentId);
      const childNodes = children.map((c, i) => flowNode(c, c.opts?.jobId ?? `${parentId}-${i}`));
      return redisCall(async () => {
        // BullMQ would attach the children to an existing parent; ours is a no-op instead. (Two
        // concurrent first calls may both pass this check: the children's ids are deterministic,
        // so BullMQ deduplicates them and the flow is still stored once.)
        if (await queueFor(parent.name).getJob(parentId)) return { id: parentId };
        const node = await flows().add({ ...parentNode, children: childNodes });
        return { id: node.job.id ?? parentId };
      });
    },

    async upsertSchedule<N extends JobName>(id: string, cron: string, job: { name: N; payload: JobTypes[N] }): Promise<void> {
      assertValidScheduleId(id);
      nextCronRun(cron, Date.now()); // the same validation as the inline queue
      const template = jobOptions(job.name, undefined); // attempts, backoff and retention of each run
      await redisCall(async () => {
        const previous = await producer.hget(scheduleIndexKey, id);
        if (previous !== null && previous !== job.name) await queueFor(previous).removeJobScheduler(id);
        await queueFor(job.name).upsertJobScheduler(id, { pattern: cron, tz: 'UTC' }, {
          name: job.name, data: { payload: job.payload, correlationId: undefined, enqueuedAt: Date.now() }, opts: template,
        });
        await producer.hset(scheduleIndexKey, id, job.name);
      });
    },

    async removeSchedule(id: string): Promise<boolean> {
      return redisCall(async () => {
        const name = await producer.hget(scheduleIndexKey, id);
        if (name === null) return false;
        const removed = await queueFor(name).removeJobScheduler(id);
        await producer.hdel(scheduleIndexKey, id);
        return removed;
      });
    },

    async schedules(): Promise<ScheduleInfo[]> {
      return redisCall(async () => {
        const index = await producer.hgetall(scheduleIndexKey);
        const out: ScheduleInfo[] = [];
        for (const [id, name] of Object.entries(index).sort(([a], [b]) => a.localeCompare(b))) {
          const s = await queueFor(name).getJobScheduler(id);
          if (s?.pattern) out.push({ id, cron: s.pattern, name, nextRunAt: s.next ?? null });
        }
        return out;
      });
    },

    async startWorkers(): Promise<void> {
      if (closing) throw new Error('the job queue is shut down');
      if (started) return;
      started = true;
      workerConnection = createWorkerConnection();
      startWorkersWhenConnected(workerConnection);
    },

    async counts(): Promise<Record<string, QueueCounts>> {
      const names = [...new Set([...registered.keys(), ...queues.keys()])];
      const out: Record<string, QueueCounts> = {};
      await redisCall(async () => {
        for (const name of names) {
          const c = await queueFor(name).getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'waiting-children');
          out[name] = {
            waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            dead: c.failed ?? 0,
            ...(c['waiting-children'] ? { waitingChildren: c['waiting-children'] } : {}),
          };
        }
      });
      return out;
    },

    async deadLetters(name: JobName, limit = 50): Promise<DeadJob[]> {
      const jobs = await redisCall(() => queueFor(name).getFailed(0, Math.max(0, limit - 1)));
      return jobs.map((j) => ({
        id: j.id ?? '',
        name: j.name,
        payload: j.data.payload,
        attemptsMade: j.attemptsMade,
        error: j.failedReason ?? '',
        failedAt: j.finishedOn ?? j.timestamp,
      }));
    },

    async retryDead(name: JobName, id: string): Promise<boolean> {
      return redisCall(async () => {
        const job = await queueFor(name).getJob(id);
        if (!job || await job.getState() !== 'failed') return false;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return true;
      });
    },

    async ping(pingTimeoutMs = 2_000): Promise<void> {
      await redisCall(() => producer.ping(), pingTimeoutMs);
    },

    close(graceMs: number): Promise<void> {
      closing ??= closeAll(graceMs);
      return closing;
    },
  };
}

/** Waits until `client` is connected; fails at once when it is known to be down. */
async function whenReady(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') {
    throw new ServiceUnavailableError('redis', `redis unavailable (${client.status}); retry shortly`);
  }
  // Still making its first connection: wait for it, but not past the deadline or the first error.
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      if (err) reject(new ServiceUnavailableError('redis', `redis unavailable: ${err.message}`));
      else resolve();
    };
    const onReady = () => done();
    const onError = (err: Error) => done(err);
    const timer = setTimeout(() => done(new Error(`no connection within ${ms} ms`)), ms);
    client.once('ready', onReady);
    client.once('error', onError);
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ServiceUnavailableError('redis', `redis did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } catch (err) {
    if (err instanceof ServiceUnavailableError) throw err;
    if (dependencyFailure(err)) throw new ServiceUnavailableError('redis', `redis unavailable: ${(err as Error).message}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}


/**
 * Logs errors at warn at most once per 30 s (the rest at debug): a Redis outage makes every
 * client report each failed reconnect, in changing words (ECONNRESET, EPIPE, "Stream isn't writeable").
 */
function quietLogger(log: Logger, msg: string): (err: Error) => void {
  let lastWarnAt = 0;
  return (err) => {
    const now = Date.now();
    if (now - lastWarnAt > 30_000) {
      lastWarnAt = now;
      log.warn({ err: err.message }, msg);
    } else {
      log.debug({ err: err.message }, msg);
    }
  };
}

/** One warn line when the connection drops (and one per 30 s while it stays down), one info when it is back. */
function watchConnection(conn: Redis, log: Logger, role: string): void {
  let failing = false;
  let lastWarnAt = 0;
  conn.on('error', (err: Error) => {
    const now = Date.now();
    if (!failing || now - lastWarnAt > 30_000) {
      lastWarnAt = now;
      log.warn({ redis: role, err: err.message }, 'job queue: redis connection lost; reconnecting');
    } else {
      log.debug({ redis: role, err: err.message }, 'job queue: redis still unreachable');
    }
    failing = true;
  });
  conn.on('ready', () => {
    if (failing) log.info({ redis: role }, 'job queue: redis connection restored');
    failing = false;
  });
}
