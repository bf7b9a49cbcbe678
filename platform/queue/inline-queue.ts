// The embedded shape's queue: jobs are rows in `queue_job`, run by workers inside this process.
// enqueue() resolves only once the row is committed, so an accepted job survives a crash. Workers
// claim due rows with a compare-and-set (safe with several processes on one MySQL database), keep
// a lease on them while they run, and a job whose worker died is claimed again when the lease ends.
// Flows are a parent row in status `children` that the last completing child makes due; cron
// schedules live in `queue_schedule` and every polling process fires the due ones (a compare-and-set
// makes sure each run is enqueued once).
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { DatabaseHandle } from '../db/database.js';
import { dependencyFailure, ServiceUnavailableError, ValidationError } from '../errors/app-error.js';
import { currentCorrelationId, runWithCorrelation } from '../logging/correlation.js';
import type { Logger } from '../logging/logger.js';
import {
  childResults, claimDueJobs, completeJob, countJobs, deleteScheduleRow, dueSchedules, extendLease, failJob, fireSchedule,
  insertFlow, insertJobs, listDeadJobs, listSchedules, releaseJob, retryDeadJob, upsertScheduleRow,
  type ClaimedJob, type JobClaim,
} from './queue-job.repository.js';
import type { NewQueueJob, QueueJobRow } from './queue-job.table.js';
import {
  assertValidJobId, assertValidScheduleId, nextCronRun, UnrecoverableJobError,
  type DeadJob, type EnqueueOptions, type FlowJob, type JobContext, type JobDefinition, type JobName, type JobQueue, type JobTypes,
  type QueueCounts, type QueueDefaults, type QueueMetricsHooks, type ScheduleInfo,
} from './queue.types.js';
import { settlesWithin } from './settles-within.js';

export interface InlineQueueDeps {
  db: DatabaseHandle;
  log: Logger;
  defaults: QueueDefaults;
  metrics?: QueueMetricsHooks;
  /** Written to locked_by; unique per process by default. */
  workerId?: string;
  /** Epoch ms; tests move it forward to make a cron schedule due. Date.now by default. */
  now?: () => number;
}

interface Registered {
  def: JobDefinition;
  concurrency: number;
  attempts: number;
  backoffMs: number;
  running: Map<string, Running>;
}

interface Running {
  claim: JobClaim;
  abort: AbortController;
  lease: NodeJS.Timeout;
  /** Given back on shutdown: its outcome must not be written any more. */
  released: boolean;
  done: Promise<void>;
}

const MAX_POLL_BACKOFF_MS = 5_000;
const MAX_ERROR_CHARS = 8_000;
const RELEASE_WAIT_MS = 1_000;
const SCHEDULES_PER_POLL = 50;

export function createInlineQueue(deps: InlineQueueDeps): JobQueue {
  const { db, log, defaults } = deps;
  const clock = deps.now ?? Date.now;
  const workerId = (deps.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`).slice(-64);
  const registered = new Map<string, Registered>();
  const retryTimers = new Set<NodeJS.Timeout>();
  let started = false;
  let closing: Promise<void> | null = null;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | null = null;
  let pollAgain = false;
  let pollFailures = 0;
  let schedulesCheckedAt = -Infinity;

  // --- producing -------------------------------------------------------------------------------

  function toRow(name: string, payload: unknown, opts: EnqueueOptions | undefined, now: number): NewQueueJob {
    if (opts?.jobId !== undefined) assertValidJobId(opts.jobId);
    const reg = registered.get(name);
    return {
      id: opts?.jobId ?? randomUUID(),
      name,
      payload: JSON.stringify(payload ?? null),
      status: 'waiting',
      attempts_made: 0,
      max_attempts: reg?.attempts ?? defaults.attempts,
      backoff_ms: reg?.backoffMs ?? defaults.backoffMs,
      run_at: now + Math.max(0, opts?.delayMs ?? 0),
      correlation_id: opts?.correlationId ?? currentCorrelationId() ?? null,
      created_at: now,
      updated_at: now,
    };
  }

  async function insert(rows: NewQueueJob[]): Promise<void> {
    if (closing) throw new ServiceUnavailableError('queue', 'the job queue is shut down');
    try {
      await insertJobs(db.db, rows);
    } catch (err) {
      throw dependencyFailure(err) ?? err;
    }
    wake(); // a worker in this process starts at once instead of at the next poll
  }

  function assertJobName(name: string, path: string): void {
    if (typeof name !== 'string' || name.length === 0 || name.length > 100) {
      throw new ValidationError(`invalid job name "${String(name).slice(0, 140)}"`, [{ path, message: 'must be 1-100 characters' }]);
    }
  }

  async function stored<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw dependencyFailure(err) ?? err;
    }
  }

  // --- schedules -------------------------------------------------------------------------------

  /** Enqueues the due run of every schedule whose time has come (checked once per poll interval). */
  async function fireDueSchedules(): Promise<void> {
    const now = clock();
    if (now - schedulesCheckedAt < defaults.pollIntervalMs) return;
    schedulesCheckedAt = now;
    for (const s of await dueSchedules(db.db, now, SCHEDULES_PER_POLL)) {
      let next: number;
      try {
        next = nextCronRun(s.cron, Math.max(now, s.next_run_at)); // missed runs collapse into this one
      } catch (err) {
        log.error({ schedule: s.id, cron: s.cron, err: (err as Error).message }, 'job queue: schedule has an invalid cron; skipped');
        continue;
      }
      const job = toRow(s.name, JSON.parse(s.payload) as unknown, { jobId: `${s.id}-${s.next_run_at}` }, now);
      if (await fireSchedule(db.db, s.id, s.next_run_at, next, job)) {
        log.debug({ schedule: s.id, jobId: job.id, nextRunAt: next }, 'job queue: schedule fired');
        pollAgain = true; // the new job may be ours to run
      }
    }
  }

  // --- polling ---------------------------------------------------------------------------------

  function wake(): void {
    if (!started || closing) return;
    if (polling) {
      pollAgain = true;
      return;
    }
    clearTimeout(pollTimer);
    polling = pollLoop().finally(() => {
      polling = null;
      if (pollAgain && pollFailures === 0) wake();
      else scheduleNextPoll();
    });
  }

  function scheduleNextPoll(): void {
    if (!started || closing) return;
    clearTimeout(pollTimer);
    // While the database fails, poll less often; it may come back.
    const delay = pollFailures === 0 ? defaults.pollIntervalMs : Math.min(defaults.pollIntervalMs * 2 ** pollFailures, MAX_POLL_BACKOFF_MS);
    pollTimer = setTimeout(wake, delay);
  }

  function wakeAt(at: number): void {
    const t = setTimeout(() => { retryTimers.delete(t); wake(); }, Math.max(0, at - clock()));
    retryTimers.add(t);
  }

  async function pollLoop(): Promise<void> {
    do {
      pollAgain = false;
      try {
        await fireDueSchedules();
        for (const reg of registered.values()) {
          if (closing) return;
          const free = reg.concurrency - reg.running.size;
          if (free <= 0) continue;
          const now = clock();
          const rows = await claimDueJobs(db.db, { name: reg.def.name, limit: free, workerId, now, lockedUntil: now + defaults.lockDurationMs });
          if (closing) { // close() began while we were claiming: nothing new starts, give them back
            await Promise.allSettled(rows.map((row) => releaseJob(db.db, claimOf(row), clock())));
            return;
          }
          for (const row of rows) start(reg, row);
        }
        if (pollFailures > 0) log.info({ failures: pollFailures }, 'job queue: database reachable again; polling resumed');
        pollFailures = 0;
      } catch (err) {
        pollFailures++;
        // One line per outage at warn (at 1, 2, 4, 8… failures), the rest at debug.
        const loud = (pollFailures & (pollFailures - 1)) === 0;
        const fields = { err: (err as Error).message, failures: pollFailures };
        if (loud) log.warn(fields, 'job queue: polling for due jobs failed; backing off');
        else log.debug(fields, 'job queue: polling for due jobs failed');
        return;
      }
    } while (pollAgain && !closing);
  }

  // --- running ---------------------------------------------------------------------------------

  function claimOf(row: QueueJobRow): JobClaim {
    return { id: row.id, lockedBy: workerId, attempt: row.attempts_made };
  }

  function start(reg: Registered, row: ClaimedJob): void {
    const claim = claimOf(row);
    const key = `${row.id}#${row.attempts_made}`;
    const job: Running = {
      claim,
      abort: new AbortController(),
      lease: setInterval(() => void renewLease(job, reg.def.name), Math.max(50, Math.floor(defaults.lockDurationMs / 2))),
      released: false,
      done: Promise.resolve(),
    };
    reg.running.set(key, job);
    job.done = execute(reg, row, job).finally(() => {
      clearInterval(job.lease);
      reg.running.delete(key);
      wake(); // a slot is free
    });
  }

  async function renewLease(job: Running, name: string): Promise<void> {
    if (job.released) return;
    const now = clock();
    try {
      if (!await extendLease(db.db, job.claim, now + defaults.lockDurationMs, now) && !job.released) {
        clearInterval(job.lease);
        log.warn({ job: name, jobId: job.claim.id }, 'job queue: lease lost (another worker may run this job again)');
      }
    } catch (err) {
      log.warn({ job: name, jobId: job.claim.id, err: (err as Error).message }, 'job queue: could not extend the lease');
    }
  }

  async function execute(reg: Registered, row: ClaimedJob, job: Running): Promise<void> {
    const correlationId = row.correlation_id ?? undefined;
    // Without a request behind it, the job's own id ties its log lines (and the jobs it enqueues) together.
    await runWithCorrelation(correlationId ?? `job-${row.id}`, async () => {
      const jobLog = log.child({ job: row.name, jobId: row.id });
      const ctx: JobContext = {
        id: row.id, name: row.name, attempt: job.claim.attempt, maxAttempts: row.max_attempts,
        correlationId, log: jobLog, signal: job.abort.signal,
        childrenValues: async () => {
          if (row.total_children === 0) return {};
          const rows = await stored(() => childResults(db.db, row.id));
          return Object.fromEntries(rows.map((r) => [r.id, r.result === null ? null : JSON.parse(r.result) as unknown]));
        },
      };
      if (row.reclaimed) jobLog.warn({ attempt: ctx.attempt }, 'job queue: the worker running this job stopped; running it again');
      const startedAt = Date.now();
      let failure: unknown = null;
      let ok = false;
      let result: unknown;
      try {
        result = await reg.def.handler(JSON.parse(row.payload) as never, ctx);
        ok = true;
      } catch (err) {
        failure = err;
      }
      if (job.released) return; // given back on shutdown; the next run does it again
      try {
        if (ok) {
          const done = { parentId: row.parent_id, isParent: row.total_children > 0, result: resultJson(result, jobLog), now: clock() };
          if (!await completeJob(db.db, job.claim, done)) jobLog.warn('job finished after its lease was lost; it may run again');
          deps.metrics?.completed(row.name, Date.now() - startedAt);
          jobLog.debug({ ms: Date.now() - startedAt, attempt: ctx.attempt }, 'job completed');
          return;
        }
        const error = (failure instanceof Error ? failure.message : String(failure)).slice(0, MAX_ERROR_CHARS);
        const outcome = await failJob(db.db, job.claim, {
          maxAttempts: row.max_attempts, backoffMs: row.backoff_ms, error, now: clock(),
          unrecoverable: failure instanceof UnrecoverableJobError,
        });
        const fields = { err: error, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts };
        if (outcome.state === 'retry') {
          deps.metrics?.failed(row.name, false);
          jobLog.warn({ ...fields, retryInMs: outcome.runAt - clock() }, 'job failed; will retry');
          wakeAt(outcome.runAt);
        } else if (outcome.state === 'dead') {
          deps.metrics?.failed(row.name, true);
          jobLog.error(fields, 'job failed for good; moved to the dead-letter list');
        } else {
          jobLog.warn(fields, 'job failed after its lease was lost; another worker owns it now');
        }
      } catch (err) {
        jobLog.error({ err: (err as Error).message }, 'could not record the job outcome; it runs again when its lease expires');
      }
    });
  }

  // --- the interface ---------------------------------------------------------------------------

  return {
    kind: 'inline',

    register<N extends JobName>(def: JobDefinition<N>): void {
      if (registered.has(def.name)) throw new Error(`job type ${def.name} is registered twice`);
      registered.set(def.name, {
        def: def as unknown as JobDefinition,
        concurrency: def.concurrency ?? defaults.concurrency,
        attempts: def.attempts ?? defaults.attempts,
        backoffMs: def.backoffMs ?? defaults.backoffMs,
        running: new Map(),
      });
      wake();
    },

    async enqueue<N extends JobName>(name: N, payload: JobTypes[N], opts?: EnqueueOptions): Promise<{ id: string }> {
      const row = toRow(name, payload, opts, clock());
      await insert([row]);
      return { id: row.id };
    },

    async enqueueMany<N extends JobName>(name: N, jobs: { payload: JobTypes[N]; opts?: EnqueueOptions }[]): Promise<{ ids: string[] }> {
      const now = clock();
      const rows = jobs.map((j) => toRow(name, j.payload, j.opts, now));
      await insert(rows);
      return { ids: rows.map((r) => r.id) };
    },

    async enqueueFlow(parent: FlowJob, children: FlowJob[]): Promise<{ id: string }> {
      assertJobName(parent.name, '/parent/name');
      children.forEach((c, i) => assertJobName(c.name, `/children/${i}/name`));
      const now = clock();
      const parentRow = toRow(parent.name, parent.payload, parent.opts, now);
      const childRows = children.map((c, i) => toRow(c.name, c.payload, { ...c.opts, jobId: c.opts?.jobId ?? `${parentRow.id}-${i}` }, now));
      if (closing) throw new ServiceUnavailableError('queue', 'the job queue is shut down');
      await stored(() => insertFlow(db.db, parentRow, childRows, now));
      wake();
      return { id: parentRow.id };
    },

    async upsertSchedule<N extends JobName>(id: string, cron: string, job: { name: N; payload: JobTypes[N] }): Promise<void> {
      assertValidScheduleId(id);
      assertJobName(job.name, '/name');
      const now = clock();
      const nextRunAt = nextCronRun(cron, now);
      await stored(() => upsertScheduleRow(db.db, { id, cron, name: job.name, payload: JSON.stringify(job.payload ?? null), nextRunAt, now }));
    },

    async removeSchedule(id: string): Promise<boolean> {
      return stored(() => deleteScheduleRow(db.db, id));
    },

    async schedules(): Promise<ScheduleInfo[]> {
      const rows = await stored(() => listSchedules(db.db));
      return rows.map((r) => ({ id: r.id, cron: r.cron, name: r.name, nextRunAt: r.next_run_at }));
    },

    async startWorkers(): Promise<void> {
      if (closing) throw new Error('the job queue is shut down');
      started = true;
      log.debug({ workerId, jobs: [...registered.keys()] }, 'job queue: inline workers started');
      wake();
    },

    async counts(): Promise<Record<string, QueueCounts>> {
      const out: Record<string, QueueCounts> = {};
      for (const name of registered.keys()) out[name] = { waiting: 0, active: 0, delayed: 0, dead: 0 };
      try {
        for (const { name, children, ...c } of await countJobs(db.db, clock())) {
          out[name] = children > 0 ? { ...c, waitingChildren: children } : c;
        }
      } catch (err) {
        throw dependencyFailure(err) ?? err;
      }
      return out;
    },

    async deadLetters(name: JobName, limit = 50): Promise<DeadJob[]> {
      const rows = await listDeadJobs(db.db, name, limit).catch((err: unknown) => { throw dependencyFailure(err) ?? err; });
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        payload: JSON.parse(r.payload) as unknown,
        attemptsMade: r.attempts_made,
        error: r.last_error ?? '',
        failedAt: r.finished_at ?? r.updated_at,
      }));
    },

    async retryDead(name: JobName, id: string): Promise<boolean> {
      const ok = await retryDeadJob(db.db, name, id, clock()).catch((err: unknown) => { throw dependencyFailure(err) ?? err; });
      if (ok) wake();
      return ok;
    },

    ping(timeoutMs?: number): Promise<void> {
      return db.ping(timeoutMs);
    },

    close(timeoutMs: number): Promise<void> {
      closing ??= (async () => {
        const deadline = Date.now() + timeoutMs;
        clearTimeout(pollTimer);
        for (const t of retryTimers) clearTimeout(t);
        retryTimers.clear();
        // A poll in flight either starts its jobs before we look at the running ones below, or
        // (when it ends after this wait) gives them straight back.
        if (polling) await settlesWithin(polling, timeoutMs);
        const running = [...registered.values()].flatMap((r) => [...r.running.values()]);
        if (running.length === 0) return;
        if (await settlesWithin(Promise.allSettled(running.map((j) => j.done)), Math.max(0, deadline - Date.now()))) return;
        // Grace period over: stop the handlers and put their rows back so they run again.
        const left = [...registered.values()].flatMap((r) => [...r.running.values()]);
        for (const j of left) {
          j.released = true;
          clearInterval(j.lease);
          j.abort.abort(new Error('the job queue is shutting down'));
        }
        const now = clock();
        const released = Promise.allSettled(left.map((j) => releaseJob(db.db, j.claim, now)));
        // When the database does not answer either, the leases run out and other workers take over.
        const results = await Promise.race([released, new Promise<null>((r) => { setTimeout(r, RELEASE_WAIT_MS, null).unref(); })]);
        const failed = results ? results.filter((r) => r.status === 'rejected').length : left.length;
        log.warn({ released: left.length - failed, failed }, 'job queue: shutdown grace period over; running jobs given back to the queue');
      })();
      return closing;
    },
  };
}

/** The JSON kept for a flow child's return value; a value JSON cannot hold is kept as null. */
function resultJson(result: unknown, jobLog: Logger): string {
  try {
    return JSON.stringify(result ?? null) ?? 'null';
  } catch (err) {
    jobLog.warn({ err: (err as Error).message }, 'job result is not JSON; its parent sees null');
    return 'null';
  }
}
