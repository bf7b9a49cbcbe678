// One small interface for named, typed background jobs, with two implementations behind it:
// BullMQ on Redis (distributed shape) and an in-process runner whose jobs live in the database
// (embedded shape). Both give the same guarantees: a job accepted by enqueue() survives a crash
// or restart, runs at least once, is retried with exponential backoff, and lands in the
// dead-letter list after its last attempt (or at once when the handler throws UnrecoverableJobError).
import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors/app-error.js';
import type { Logger } from '../logging/logger.js';

/**
 * The payload type of every job name. Domains add theirs by declaration merging:
 *   declare module '../platform/queue/queue.types.js' { interface JobTypes { 'events.apply': { events: Event[] } } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface JobTypes {}
export type JobName = keyof JobTypes & string;

export interface JobContext {
  id: string;
  name: string;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
  /** The request id of whoever enqueued it; also on every log line the handler writes. */
  correlationId: string | undefined;
  log: Logger;
  /** Aborted when the worker is shutting down and the grace period is over. */
  signal: AbortSignal;
  /**
   * In the parent job of a flow: what each completed child returned, keyed by the child's job id
   * (BullMQ's job.getChildrenValues()). Empty for a job that is no flow parent.
   */
  childrenValues(): Promise<Record<string, unknown>>;
}

export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  handler: (payload: JobTypes[N], ctx: JobContext) => Promise<unknown>;
  /** Overrides of the queue-wide defaults. */
  attempts?: number;
  backoffMs?: number;
  concurrency?: number;
}

export interface EnqueueOptions {
  /** Idempotency: a second enqueue with the same id while the first exists is a no-op. */
  jobId?: string;
  delayMs?: number;
  correlationId?: string;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  dead: number;
  /**
   * Flow parents still waiting for children, present only when there are some. A parent whose
   * child went to the dead letters stays here until that child is retried and completes.
   */
  waitingChildren?: number;
}

/** One job of a flow; `opts.jobId` makes it idempotent (see JobQueue.enqueueFlow). */
export interface FlowJob<N extends JobName = JobName> {
  name: N;
  payload: JobTypes[N];
  opts?: Omit<EnqueueOptions, 'delayMs'>;
}

export interface ScheduleInfo {
  id: string;
  cron: string;
  name: string;
  /** When the next run is due (UTC epoch ms); null when the store does not know it yet. */
  nextRunAt: number | null;
}

export interface DeadJob {
  id: string;
  name: string;
  payload: unknown;
  attemptsMade: number;
  error: string;
  failedAt: number;
}

export interface JobQueue {
  readonly kind: 'bullmq' | 'inline';
  /** Declare a job type; call before startWorkers(). Producers register too (for defaults). */
  register<N extends JobName>(def: JobDefinition<N>): void;
  enqueue<N extends JobName>(name: N, payload: JobTypes[N], opts?: EnqueueOptions): Promise<{ id: string }>;
  enqueueMany<N extends JobName>(name: N, jobs: { payload: JobTypes[N]; opts?: EnqueueOptions }[]): Promise<{ ids: string[] }>;
  /**
   * Stores a parent and its children atomically; the parent runs once every child has completed
   * and reads their return values with ctx.childrenValues(). A child that ends in the dead letters
   * leaves the parent waiting (counted in `waitingChildren`) until it is retried and completes.
   * With a parent `jobId` that already exists this is a no-op; a child without a jobId gets
   * `${parentId}-${index}`, so a repeated call never duplicates children. One level of children.
   */
  enqueueFlow(
    parent: FlowJob,
    children: FlowJob[],
  ): Promise<{ id: string }>;
  /**
   * Creates or updates the cron schedule `id` (5 or 6 fields, UTC): each due run enqueues `job`
   * once, however many processes call this or run workers. Idempotent; an unchanged cron keeps
   * its next run time.
   */
  upsertSchedule<N extends JobName>(id: string, cron: string, job: { name: N; payload: JobTypes[N] }): Promise<void>;
  /** False when there was no such schedule. */
  removeSchedule(id: string): Promise<boolean>;
  schedules(): Promise<ScheduleInfo[]>;
  /** Start consuming every registered job type in this process. */
  startWorkers(): Promise<void>;
  counts(): Promise<Record<string, QueueCounts>>;
  deadLetters(name: JobName, limit?: number): Promise<DeadJob[]>;
  /** Put a dead job back in line with fresh attempts. */
  retryDead(name: JobName, id: string): Promise<boolean>;
  /** Throws a ServiceUnavailableError when the backing store does not answer. */
  ping(timeoutMs?: number): Promise<void>;
  /** Stop taking jobs, wait up to `timeoutMs` for running ones, then release the rest for retry. */
  close(timeoutMs: number): Promise<void>;
}

/** Thrown by a handler for input that can never succeed: no retries, straight to dead-letter. */
export class UnrecoverableJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecoverableJobError';
  }
}

/** Queue-wide settings (config `queue.*`); a JobDefinition may override attempts, backoff and concurrency. */
export interface QueueDefaults {
  concurrency: number;
  attempts: number;
  backoffMs: number;
  /** How long a claimed job stays locked to a worker that stopped answering; renewed at half of it. */
  lockDurationMs: number;
  /** Inline queue only: how often workers look for due jobs. */
  pollIntervalMs: number;
}

/**
 * Job ids both implementations accept: BullMQ refuses all-digit ids and ':', the inline queue's
 * column holds 128 characters. Checked on enqueue so code tested on one runs on the other.
 */
export function assertValidJobId(id: string): void {
  if (id.length === 0 || id.length > 128 || /^\d+$/.test(id) || id.includes(':')) {
    throw new ValidationError(`invalid job id "${id.slice(0, 140)}"`, [
      { path: '/jobId', message: 'must be 1-128 characters, not only digits, without ":"' },
    ]);
  }
}

/** Schedule ids: they become part of job ids (`${id}-${runAt}`), so at most 100 characters. */
export function assertValidScheduleId(id: string): void {
  if (id.length === 0 || id.length > 100 || /^\d+$/.test(id) || id.includes(':')) {
    throw new ValidationError(`invalid schedule id "${id.slice(0, 140)}"`, [
      { path: '/id', message: 'must be 1-100 characters, not only digits, without ":"' },
    ]);
  }
}

/**
 * The next time (UTC epoch ms) strictly after `after` that `cron` matches. Both implementations
 * parse with cron-parser, the parser BullMQ uses, so a pattern accepted here runs on either.
 */
export function nextCronRun(cron: string, after: number): number {
  const invalid = (why: string) => new ValidationError(`invalid cron pattern "${cron.slice(0, 100)}": ${why}`, [
    { path: '/cron', message: 'must be a cron pattern of 5 or 6 fields (or @daily, @hourly…)' },
  ]);
  // cron-parser fills missing fields with '*' (so '' would mean every minute): count them first.
  const fields = cron.trim().split(/\s+/).filter(Boolean).length;
  if (cron.length > 100 || (!cron.trim().startsWith('@') && (fields < 5 || fields > 6))) throw invalid(`${fields} fields`);
  try {
    return CronExpressionParser.parse(cron, { currentDate: new Date(after), tz: 'UTC' }).next().getTime();
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

export interface QueueMetricsHooks {
  completed(name: string, ms: number): void;
  failed(name: string, final: boolean): void;
}
