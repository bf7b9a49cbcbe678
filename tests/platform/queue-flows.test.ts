// Flows (a parent that runs once all its children completed) and cron schedules, against the
// inline queue on SQLite and on MySQL and against BullMQ on Redis.
import type { LevelWithSilent } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dialect } from '../../platform/db/database.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createBullmqQueue } from '../../platform/queue/bullmq-queue.js';
import { createInlineQueue } from '../../platform/queue/inline-queue.js';
import { dueSchedules, fireSchedule, upsertScheduleRow } from '../../platform/queue/queue-job.repository.js';
import {
  UnrecoverableJobError,
  type EnqueueOptions, type JobContext, type JobQueue, type QueueDefaults,
} from '../../platform/queue/queue.types.js';
import { REDIS_URL, useTestEnv } from '../helpers/test-env.js';

const ZERO = { waiting: 0, active: 0, delayed: 0, dead: 0 };
const WAIT = { timeout: 15_000, interval: 20 };

// Test job names are not in JobTypes: the tests talk to the queue through a loosely typed view.
type Handler = (payload: unknown, ctx: JobContext) => Promise<unknown>;
interface LooseJob { name: string; payload: unknown; opts?: Omit<EnqueueOptions, 'delayMs'> }
interface TestQueue extends Omit<JobQueue, 'register' | 'enqueue' | 'enqueueMany' | 'enqueueFlow' | 'upsertSchedule' | 'deadLetters' | 'retryDead'> {
  register(def: { name: string; handler: Handler; attempts?: number; backoffMs?: number; concurrency?: number }): void;
  enqueueFlow(parent: LooseJob, children: LooseJob[]): Promise<{ id: string }>;
  upsertSchedule(id: string, cron: string, job: { name: string; payload: unknown }): Promise<void>;
  retryDead(name: string, id: string): Promise<boolean>;
}

interface Target { label: string; kind: 'inline' | 'bullmq'; dialect: Dialect }
const TARGETS: Target[] = [
  { label: 'inline on sqlite', kind: 'inline', dialect: 'sqlite' },
  { label: 'inline on mysql', kind: 'inline', dialect: 'mysql' },
  { label: 'bullmq', kind: 'bullmq', dialect: 'sqlite' }, // the database is unused; the env gives the Redis prefix
];

const log = createLogger({ level: (process.env.TEST_LOG_LEVEL as LevelWithSilent | undefined) ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(TARGETS)('job queue flows and schedules: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  const open: TestQueue[] = [];
  let seq = 0;
  const jobName = (what: string) => `test.${what}${++seq}`;

  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close(1_000)));
  });

  function makeQueue(overrides: Partial<QueueDefaults> = {}, now?: () => number): TestQueue {
    const defaults: QueueDefaults = { concurrency: 2, attempts: 3, backoffMs: 20, lockDurationMs: 1_000, pollIntervalMs: 25, ...overrides };
    const queue = target.kind === 'bullmq'
      ? createBullmqQueue({ redisUrl: REDIS_URL, prefix: env.redisPrefix, log, defaults })
      : createInlineQueue({ db: env.db, log, defaults, now });
    const q = queue as unknown as TestQueue;
    open.push(q);
    return q;
  }

  it('runs the parent once, after all its children, and gives it their return values', async () => {
    const q = makeQueue();
    const child = jobName('chunk');
    const parent = jobName('run');
    const events: string[] = [];
    const seen: unknown[] = [];
    q.register({ name: child, handler: async (payload, ctx) => { events.push(`child ${ctx.id}`); return { rows: (payload as { n: number }).n * 10 }; } });
    q.register({ name: parent, handler: async (payload, ctx) => { events.push('parent'); seen.push({ payload, values: await ctx.childrenValues() }); } });

    const { id } = await q.enqueueFlow(
      { name: parent, payload: { run: 1 }, opts: { jobId: 'run-a' } },
      [{ name: child, payload: { n: 1 } }, { name: child, payload: { n: 2 }, opts: { jobId: 'chunk-explicit' } }, { name: child, payload: { n: 3 } }],
    );
    expect(id).toBe('run-a');
    const counts = await q.counts();
    expect(counts[parent]).toEqual({ ...ZERO, waitingChildren: 1 });
    expect(counts[child]).toEqual({ ...ZERO, waiting: 3 });

    await q.startWorkers();
    await vi.waitFor(() => expect(events).toContain('parent'), WAIT);
    await vi.waitFor(async () => expect((await q.counts())[parent]).toEqual(ZERO), WAIT);
    await sleep(150);
    expect(events).toHaveLength(4);
    expect(events[3]).toBe('parent');
    expect(seen).toEqual([{
      payload: { run: 1 },
      values: { 'run-a-0': { rows: 10 }, 'chunk-explicit': { rows: 20 }, 'run-a-2': { rows: 30 } },
    }]);
  });

  it('keeps the parent waiting while a child retries, and runs it once the child succeeds', async () => {
    const q = makeQueue();
    const child = jobName('flaky');
    const parent = jobName('run');
    const events: string[] = [];
    q.register({
      name: child,
      backoffMs: 100,
      handler: async (payload, ctx) => {
        events.push(`${(payload as { k: string }).k}#${ctx.attempt}`);
        if ((payload as { k: string }).k === 'flaky' && ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
        return ctx.attempt;
      },
    });
    let values: Record<string, unknown> | undefined;
    q.register({ name: parent, handler: async (_payload, ctx) => { events.push('parent'); values = await ctx.childrenValues(); } });
    await q.startWorkers();
    await q.enqueueFlow({ name: parent, payload: {}, opts: { jobId: 'run-b' } }, [{ name: child, payload: { k: 'steady' } }, { name: child, payload: { k: 'flaky' } }]);

    await vi.waitFor(() => expect(events).toContain('parent'), WAIT);
    await sleep(150);
    expect(events.filter((e) => e.startsWith('flaky'))).toEqual(['flaky#1', 'flaky#2', 'flaky#3']);
    expect(events.indexOf('parent')).toBeGreaterThan(events.indexOf('flaky#3'));
    expect(events.filter((e) => e === 'parent')).toHaveLength(1);
    expect(values).toEqual({ 'run-b-0': 1, 'run-b-1': 3 });
  });

  it('leaves the parent waiting when a child dead-letters, until that child is retried and completes', async () => {
    const q = makeQueue();
    const child = jobName('chunk');
    const parent = jobName('run');
    let broken = true;
    const parentRuns: string[] = [];
    q.register({ name: child, handler: async () => { if (broken) throw new UnrecoverableJobError('bad chunk'); return 'ok'; } });
    q.register({ name: parent, handler: async (_payload, ctx) => { parentRuns.push(ctx.id); } });
    await q.startWorkers();
    await q.enqueueFlow({ name: parent, payload: {}, opts: { jobId: 'run-c' } }, [{ name: child, payload: {} }]);

    await vi.waitFor(async () => expect((await q.counts())[child]).toEqual({ ...ZERO, dead: 1 }), WAIT);
    await sleep(150);
    expect((await q.counts())[parent]).toEqual({ ...ZERO, waitingChildren: 1 });
    expect(parentRuns).toEqual([]);

    broken = false;
    expect(await q.retryDead(child, 'run-c-0')).toBe(true);
    await vi.waitFor(() => expect(parentRuns).toEqual(['run-c']), WAIT);
    await vi.waitFor(async () => expect((await q.counts())[parent]).toEqual(ZERO), WAIT);
  });

  it('treats a second enqueueFlow with the same parent id as a no-op', async () => {
    const q = makeQueue();
    const child = jobName('chunk');
    const parent = jobName('run');
    const runs: string[] = [];
    q.register({ name: child, handler: async (_payload, ctx) => { runs.push(ctx.id); } });
    q.register({ name: parent, handler: async (_payload, ctx) => { runs.push(ctx.id); } });
    const flow = () => q.enqueueFlow({ name: parent, payload: { v: 1 }, opts: { jobId: 'run-d' } }, [
      { name: child, payload: { i: 0 } }, { name: child, payload: { i: 1 }, opts: { jobId: 'run-d-chunk-1' } },
    ]);
    expect(await flow()).toEqual({ id: 'run-d' });
    expect(await flow()).toEqual({ id: 'run-d' });
    await Promise.all([flow(), flow()]);
    const counts = await q.counts();
    expect(counts[parent]).toEqual({ ...ZERO, waitingChildren: 1 });
    expect(counts[child]).toEqual({ ...ZERO, waiting: 2 });

    await q.startWorkers();
    await vi.waitFor(() => expect(runs).toContain('run-d'), WAIT);
    await sleep(150);
    expect([...runs].sort()).toEqual(['run-d', 'run-d-0', 'run-d-chunk-1']);
  });

  it('completes a flow after its worker was closed half-way and a new queue took over', async () => {
    const child = jobName('chunk');
    const parent = jobName('run');
    const first = makeQueue({ concurrency: 1 });
    const done: string[] = [];
    first.register({
      name: child,
      concurrency: 1,
      handler: async (payload, ctx) => {
        if ((payload as { i: number }).i === 0) { done.push(ctx.id); return 'first'; }
        await new Promise((r) => ctx.signal.addEventListener('abort', r)); // stuck until close() gives up
        throw new Error('interrupted');
      },
    });
    first.register({ name: parent, handler: async () => { throw new Error('the first worker must not run the parent'); } });
    await first.enqueueFlow({ name: parent, payload: {}, opts: { jobId: 'run-e' } },
      [0, 1, 2].map((i) => ({ name: child, payload: { i } })));
    await first.startWorkers();
    await vi.waitFor(async () => {
      expect(done).toEqual(['run-e-0']);
      expect((await first.counts())[child]?.active).toBe(1);
    }, WAIT);
    await first.close(200);

    const second = makeQueue();
    const runs: string[] = [];
    let values: Record<string, unknown> | undefined;
    second.register({ name: child, handler: async (_payload, ctx) => { runs.push(ctx.id); return 'second'; } });
    second.register({ name: parent, handler: async (_payload, ctx) => { runs.push(ctx.id); values = await ctx.childrenValues(); } });
    await second.startWorkers();
    await vi.waitFor(() => expect(runs).toContain('run-e'), WAIT);
    await sleep(150);
    expect([...runs].sort()).toEqual(['run-e', 'run-e-1', 'run-e-2']);
    expect(values).toEqual({ 'run-e-0': 'first', 'run-e-1': 'second', 'run-e-2': 'second' });
    await vi.waitFor(async () => expect((await second.counts())[parent]).toEqual(ZERO), WAIT);
  });

  it('keeps one schedule when two processes upsert it, updates and removes it, and rejects a bad cron', async () => {
    const a = makeQueue();
    const b = makeQueue();
    const name = jobName('nightly');
    const id = `sched-${seq}`;
    await Promise.all([
      a.upsertSchedule(id, '0 3 * * *', { name, payload: { full: false } }),
      b.upsertSchedule(id, '0 3 * * *', { name, payload: { full: false } }),
    ]);
    await a.upsertSchedule(id, '0 3 * * *', { name, payload: { full: false } });
    const mine = async (q: TestQueue) => (await q.schedules()).filter((s) => s.id === id);
    const [one] = await mine(b);
    expect(await mine(b)).toHaveLength(1);
    expect(one).toMatchObject({ id, cron: '0 3 * * *', name });
    const next = new Date(one!.nextRunAt!);
    expect([next.getUTCHours(), next.getUTCMinutes(), next.getUTCSeconds()]).toEqual([3, 0, 0]);
    expect(one!.nextRunAt! - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    expect(await mine(a)).toEqual([one]);

    await b.upsertSchedule(id, '30 4 * * *', { name, payload: { full: true } });
    expect(await mine(a)).toEqual([expect.objectContaining({ id, cron: '30 4 * * *', name })]);
    expect(new Date((await mine(a))[0]!.nextRunAt!).getUTCHours()).toBe(4);

    for (const cron of ['not a cron', '61 * * * *', '* * *', '']) {
      const err = await a.upsertSchedule(`${id}-bad`, cron, { name, payload: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).problems[0]?.path).toBe('/cron');
    }
    await expect(a.upsertSchedule('a:b', '* * * * *', { name, payload: {} })).rejects.toBeInstanceOf(ValidationError);

    expect(await a.removeSchedule(id)).toBe(true);
    expect(await a.removeSchedule(id)).toBe(false);
    expect(await mine(b)).toEqual([]);
    expect((await a.schedules()).some((s) => s.id === `${id}-bad`)).toBe(false);
  });

  it('enqueues each due run of a schedule once while two processes run workers', async () => {
    const a = makeQueue();
    const b = makeQueue();
    const name = jobName('tick');
    const id = `tick-${seq}`;
    const runs: { id: string; payload: unknown }[] = [];
    for (const q of [a, b]) q.register({ name, handler: async (payload, ctx) => { runs.push({ id: ctx.id, payload }); } });
    await Promise.all([
      a.upsertSchedule(id, '* * * * * *', { name, payload: { every: 'second' } }),
      b.upsertSchedule(id, '* * * * * *', { name, payload: { every: 'second' } }),
    ]);
    await Promise.all([a.startWorkers(), b.startWorkers()]);
    await vi.waitFor(() => expect(runs.length).toBeGreaterThanOrEqual(3), WAIT);
    expect(await a.removeSchedule(id)).toBe(true);
    await vi.waitFor(async () => expect((await a.counts())[name]).toMatchObject({ waiting: 0, active: 0 }), WAIT);
    const ids = runs.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // no run twice
    expect(runs.every((r) => (r.payload as { every: string }).every === 'second')).toBe(true);
    if (target.kind === 'inline') {
      // `${scheduleId}-${runAt}`: distinct whole seconds
      const times = ids.map((x) => Number(x.slice(id.length + 1)));
      expect(times.every((t) => t % 1000 === 0)).toBe(true);
    }
  });

  if (target.kind === 'inline') it('fires a due every-minute schedule once when the clock moves past it (injected clock)', async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const a = makeQueue({}, now);
    const b = makeQueue({}, now);
    const name = jobName('minutely');
    const id = `minutely-${seq}`;
    const runs: string[] = [];
    for (const q of [a, b]) q.register({ name, handler: async (_payload, ctx) => { runs.push(ctx.id); } });
    await a.upsertSchedule(id, '* * * * *', { name, payload: {} });
    await b.upsertSchedule(id, '* * * * *', { name, payload: {} });
    const [before] = (await a.schedules()).filter((s) => s.id === id);
    await Promise.all([a.startWorkers(), b.startWorkers()]);
    await sleep(150);
    expect(runs).toEqual([]); // not due yet

    offset = before!.nextRunAt! - Date.now() + 1_000; // a second past the run time
    await vi.waitFor(() => expect(runs).toEqual([`${id}-${before!.nextRunAt}`]), WAIT);
    await sleep(200);
    expect(runs).toHaveLength(1);
    const [after] = (await b.schedules()).filter((s) => s.id === id);
    expect(after!.nextRunAt).toBe(before!.nextRunAt! + 60_000);
    await a.removeSchedule(id);
  });

  if (target.kind === 'inline') it('fires a due run once even when a second process saw it due after the first run finished', async () => {
    const db = env.db.db;
    const id = `race-${++seq}`;
    const now = Date.now();
    await upsertScheduleRow(db, { id, cron: '* * * * *', name: 'test.race', payload: '{}', nextRunAt: now - 1_000, now });
    const [due] = (await dueSchedules(db, now, 1_000)).filter((s) => s.id === id);
    const job = {
      id: `${id}-${due!.next_run_at}`, name: 'test.race', payload: '{}', status: 'waiting' as const, max_attempts: 1, backoff_ms: 10,
      run_at: now, created_at: now, updated_at: now,
    };
    // Both processes read the schedule as due; the first fires and its run completes (the row is deleted)...
    expect(await fireSchedule(db, id, due!.next_run_at, now + 60_000, job)).toBe(true);
    await db.deleteFrom('queue_job').where('id', '=', job.id).execute(); // a finished job leaves the table
    // ...then the second, with what it read before: the compare-and-set refuses, nothing is enqueued again.
    expect(await fireSchedule(db, id, due!.next_run_at, now + 60_000, job)).toBe(false);
    expect(await db.selectFrom('queue_job').select('id').where('id', '=', job.id).execute()).toEqual([]);
    await db.deleteFrom('queue_schedule').where('id', '=', id).execute();
  });
});
