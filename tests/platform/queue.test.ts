// The JobQueue contract, run against the inline queue on SQLite and on MySQL and against BullMQ on
// Redis: payload and correlation id, retries with backoff, dead letters, idempotent ids, counts,
// graceful close, restarts, a worker killed mid-job, and a dependency that is down.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LevelWithSilent } from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createDatabase, type DatabaseHandle, type Dialect } from '../../platform/db/database.js';
import { ServiceUnavailableError, ValidationError } from '../../platform/errors/app-error.js';
import { currentCorrelationId, runWithCorrelation } from '../../platform/logging/correlation.js';
import { createLogger } from '../../platform/logging/logger.js';
import { createBullmqQueue } from '../../platform/queue/bullmq-queue.js';
import { createInlineQueue } from '../../platform/queue/inline-queue.js';
import {
  UnrecoverableJobError,
  type DeadJob, type EnqueueOptions, type JobContext, type JobQueue, type QueueDefaults,
} from '../../platform/queue/queue.types.js';
import type { ChildOptions } from '../fixtures/queue-worker-child.js';
import { createTcpProxy } from '../helpers/tcp-proxy.js';
import { REDIS_URL, useTestEnv } from '../helpers/test-env.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = 'tests/fixtures/queue-worker-child.ts';
const LOCK_MS = 1_000;
const ZERO = { waiting: 0, active: 0, delayed: 0, dead: 0 };

// Test job names are not in JobTypes: the tests talk to the queue through a loosely typed view.
type Handler = (payload: unknown, ctx: JobContext) => Promise<unknown>;
interface TestQueue extends Omit<JobQueue, 'register' | 'enqueue' | 'enqueueMany' | 'deadLetters' | 'retryDead'> {
  register(def: { name: string; handler: Handler; attempts?: number; backoffMs?: number; concurrency?: number }): void;
  enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<{ id: string }>;
  enqueueMany(name: string, jobs: { payload: unknown; opts?: EnqueueOptions }[]): Promise<{ ids: string[] }>;
  deadLetters(name: string, limit?: number): Promise<DeadJob[]>;
  retryDead(name: string, id: string): Promise<boolean>;
}

interface Target { label: string; kind: 'inline' | 'bullmq'; dialect: Dialect }
const TARGETS: Target[] = [
  { label: 'inline on sqlite', kind: 'inline', dialect: 'sqlite' },
  { label: 'inline on mysql', kind: 'inline', dialect: 'mysql' },
  { label: 'bullmq', kind: 'bullmq', dialect: 'sqlite' }, // the database is unused; the env gives the Redis prefix
];

// TEST_LOG_LEVEL=debug shows what the queues log while the tests run.
const log = createLogger({ level: (process.env.TEST_LOG_LEVEL as LevelWithSilent | undefined) ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'gigintel-queue-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(TARGETS)('job queue: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  const open: TestQueue[] = [];
  const handles: DatabaseHandle[] = [];
  let seq = 0;
  // Job names are unique per test so counts and dead letters never mix.
  const jobName = () => `test.job${++seq}`;

  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close(1_000)));
    await Promise.all(handles.splice(0).map((h) => h.close()));
  });

  function makeQueue(overrides: Partial<QueueDefaults> = {}, store?: { redisUrl?: string; db?: DatabaseHandle }): TestQueue {
    const defaults: QueueDefaults = { concurrency: 2, attempts: 3, backoffMs: 20, lockDurationMs: LOCK_MS, pollIntervalMs: 25, ...overrides };
    const queue = target.kind === 'bullmq'
      ? createBullmqQueue({ redisUrl: store?.redisUrl ?? REDIS_URL, prefix: env.redisPrefix, log, defaults })
      : createInlineQueue({ db: store?.db ?? env.db, log, defaults });
    const q = queue as unknown as TestQueue;
    open.push(q);
    return q;
  }

  it('runs a job with its payload and the correlation id of whoever enqueued it', async () => {
    const q = makeQueue();
    const name = jobName();
    const seen: unknown[] = [];
    q.register({
      name,
      handler: async (payload, ctx) => {
        seen.push({ payload, id: ctx.id, name: ctx.name, attempt: ctx.attempt, maxAttempts: ctx.maxAttempts, correlationId: ctx.correlationId, current: currentCorrelationId() });
      },
    });
    await q.startWorkers();
    const payload = { text: 'zürich 🎉 東京', n: 42, list: [1, null] };
    const a = await q.enqueue(name, payload, { correlationId: 'req-explicit' });
    const b = await runWithCorrelation('req-ambient', () => q.enqueue(name, { n: 2 }));

    await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 15_000, interval: 10 });
    expect(seen).toEqual(expect.arrayContaining([
      { payload, id: a.id, name, attempt: 1, maxAttempts: 3, correlationId: 'req-explicit', current: 'req-explicit' },
      { payload: { n: 2 }, id: b.id, name, attempt: 1, maxAttempts: 3, correlationId: 'req-ambient', current: 'req-ambient' },
    ]));
    await vi.waitFor(async () => expect((await q.counts())[name]).toEqual(ZERO), { timeout: 15_000, interval: 20 });
  });

  it('retries a failing job with growing backoff until it succeeds on attempt 3', async () => {
    const q = makeQueue();
    const name = jobName();
    const starts: { attempt: number; at: number }[] = [];
    q.register({
      name,
      backoffMs: 150,
      handler: async (_payload, ctx) => {
        starts.push({ attempt: ctx.attempt, at: Date.now() });
        if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
      },
    });
    await q.startWorkers();
    await q.enqueue(name, {});

    await vi.waitFor(async () => expect((await q.counts())[name]).toEqual(ZERO), { timeout: 15_000, interval: 20 });
    expect(starts.map((s) => s.attempt)).toEqual([1, 2, 3]);
    const gap1 = starts[1]!.at - starts[0]!.at;
    const gap2 = starts[2]!.at - starts[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(145); // 150 ms * 2^0
    expect(gap2).toBeGreaterThanOrEqual(295); // 150 ms * 2^1
    expect(gap2).toBeGreaterThan(gap1);
    expect(await q.deadLetters(name)).toEqual([]);
  });

  it('moves a job that always fails to the dead letters after its attempts, and retryDead runs it again', async () => {
    const q = makeQueue();
    const name = jobName();
    const attempts: number[] = [];
    let broken = true;
    q.register({
      name,
      handler: async (_payload, ctx) => {
        attempts.push(ctx.attempt);
        if (broken) throw new Error('upstream says no');
      },
    });
    await q.startWorkers();
    const { id } = await q.enqueue(name, { order: 7 });

    await vi.waitFor(async () => expect(await q.deadLetters(name)).toHaveLength(1), { timeout: 15_000, interval: 20 });
    const [dead] = await q.deadLetters(name);
    expect(dead).toMatchObject({ id, name, payload: { order: 7 }, attemptsMade: 3, error: 'upstream says no' });
    expect(dead!.failedAt).toBeGreaterThan(Date.now() - 10_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect((await q.counts())[name]).toEqual({ ...ZERO, dead: 1 });

    broken = false;
    expect(await q.retryDead(name, id)).toBe(true);
    await vi.waitFor(async () => expect((await q.counts())[name]).toEqual(ZERO), { timeout: 15_000, interval: 20 });
    expect(attempts).toEqual([1, 2, 3, 1]); // fresh attempts
    expect(await q.deadLetters(name)).toEqual([]);
    expect(await q.retryDead(name, id)).toBe(false); // not dead any more
    expect(await q.retryDead(name, 'no-such-job')).toBe(false);
  });

  it('sends a job that throws UnrecoverableJobError to the dead letters after one attempt', async () => {
    const q = makeQueue();
    const name = jobName();
    const attempts: number[] = [];
    q.register({
      name,
      handler: async (_payload, ctx) => {
        attempts.push(ctx.attempt);
        throw new UnrecoverableJobError('payload can never work');
      },
    });
    await q.startWorkers();
    const { id } = await q.enqueue(name, {});

    await vi.waitFor(async () => expect(await q.deadLetters(name)).toHaveLength(1), { timeout: 15_000, interval: 20 });
    expect((await q.deadLetters(name))[0]).toMatchObject({ id, attemptsMade: 1, error: 'payload can never work' });
    await sleep(100);
    expect(attempts).toEqual([1]);
  });

  it('runs a job enqueued twice with the same jobId once, and rejects ids the other implementation would', async () => {
    const q = makeQueue();
    const name = jobName();
    const runs: unknown[] = [];
    q.register({ name, handler: async (payload) => { runs.push(payload); } });
    expect(await q.enqueue(name, { v: 1 }, { jobId: 'order-42' })).toEqual({ id: 'order-42' });
    expect(await q.enqueue(name, { v: 2 }, { jobId: 'order-42' })).toEqual({ id: 'order-42' });
    const many = await q.enqueueMany(name, [{ payload: { v: 3 }, opts: { jobId: 'order-43' } }, { payload: { v: 4 }, opts: { jobId: 'order-42' } }]);
    expect(many.ids).toEqual(['order-43', 'order-42']);
    await expect(q.enqueue(name, {}, { jobId: '12345' })).rejects.toBeInstanceOf(ValidationError);
    await expect(q.enqueue(name, {}, { jobId: 'a:b' })).rejects.toBeInstanceOf(ValidationError);
    expect((await q.counts())[name]).toEqual({ ...ZERO, waiting: 2 });

    await q.startWorkers();
    await vi.waitFor(() => expect(runs).toHaveLength(2), { timeout: 15_000, interval: 10 });
    await sleep(150);
    expect(runs).toEqual(expect.arrayContaining([{ v: 1 }, { v: 3 }]));
    expect(runs).toHaveLength(2);
  });

  it('reports waiting and delayed jobs in counts() before any worker starts', async () => {
    const q = makeQueue();
    const name = jobName();
    q.register({ name, handler: async () => undefined });
    const other = jobName();
    q.register({ name: other, handler: async () => undefined });
    await q.enqueue(name, { a: 1 });
    await q.enqueue(name, { a: 2 });
    await q.enqueue(name, { a: 3 }, { delayMs: 60_000 });
    const counts = await q.counts();
    expect(counts[name]).toEqual({ waiting: 2, active: 0, delayed: 1, dead: 0 });
    expect(counts[other]).toEqual(ZERO);
  });

  it('lets two workers on one store run each of many jobs exactly once', async () => {
    const name = jobName();
    const runs = new Map<string, number>();
    const a = makeQueue({ concurrency: 3 });
    const b = makeQueue({ concurrency: 3 });
    for (const q of [a, b]) {
      q.register({ name, handler: async (_payload, ctx) => { runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1); await sleep(5); } });
    }
    const { ids } = await a.enqueueMany(name, Array.from({ length: 30 }, (_, i) => ({ payload: { i } })));
    await Promise.all([a.startWorkers(), b.startWorkers()]);
    await vi.waitFor(async () => expect((await a.counts())[name]).toEqual(ZERO), { timeout: 10_000, interval: 20 });
    expect([...runs.keys()].sort()).toEqual([...ids].sort());
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('close() waits for a running job to finish', async () => {
    const q = makeQueue();
    const name = jobName();
    let started = false;
    let finished = false;
    q.register({ name, handler: async () => { started = true; await sleep(400); finished = true; } });
    await q.startWorkers();
    await q.enqueue(name, {});
    await vi.waitFor(() => expect(started).toBe(true), { timeout: 15_000, interval: 5 });

    await q.close(5_000);
    expect(finished).toBe(true);
    await expect(q.enqueue(name, {})).rejects.toBeInstanceOf(ServiceUnavailableError);
    const after = makeQueue();
    after.register({ name, handler: async () => undefined });
    expect((await after.counts())[name]).toEqual(ZERO); // completed, not left behind
  });

  it('close() after its grace period aborts a stuck job and gives it back without using an attempt', async () => {
    const first = makeQueue();
    const name = jobName();
    let aborted = false;
    let started = false;
    first.register({
      name,
      handler: async (_payload, ctx) => {
        started = true;
        await new Promise((r) => (ctx.signal.aborted ? r(undefined) : ctx.signal.addEventListener('abort', r)));
        aborted = true;
        throw new Error('interrupted');
      },
    });
    await first.startWorkers();
    await first.enqueue(name, { stuck: true });
    // Running, not merely claimed: a claimed row counts as active before its handler is called.
    await vi.waitFor(() => expect(started).toBe(true), { timeout: 15_000, interval: 10 });
    expect((await first.counts())[name]?.active).toBe(1);

    await first.close(200); // bounded by the test's timeout: a close that hangs fails the test
    expect(aborted).toBe(true);

    const second = makeQueue();
    const attempts: number[] = [];
    second.register({ name, handler: async (_payload, ctx) => { attempts.push(ctx.attempt); } });
    await second.startWorkers();
    await vi.waitFor(async () => expect((await second.counts())[name]).toEqual(ZERO), { timeout: 15_000, interval: 20 });
    expect(attempts).toEqual([1]);
  });

  it('keeps enqueued jobs across a restart of the queue', async () => {
    const name = jobName();
    const before = makeQueue();
    before.register({ name, handler: async () => undefined });
    const { id } = await before.enqueue(name, { kept: true });
    await before.close(1_000);

    const after = makeQueue();
    const runs: unknown[] = [];
    after.register({ name, handler: async (payload, ctx) => { runs.push({ payload, id: ctx.id }); } });
    expect((await after.counts())[name]).toEqual({ ...ZERO, waiting: 1 });
    await after.startWorkers();
    await vi.waitFor(() => expect(runs).toEqual([{ payload: { kept: true }, id }]), { timeout: 15_000, interval: 10 });
  });

  it('runs a job again, to completion, after the worker running it was killed (at-least-once)', async () => {
    const name = jobName();
    const startsFile = join(tmp, `${target.kind}-${target.dialect}-${name}.log`);
    const producer = makeQueue();
    const { id } = await producer.enqueue(name, { survive: 'kill -9' });

    const opts: ChildOptions = {
      kind: target.kind, url: target.kind === 'bullmq' ? REDIS_URL : env.databaseUrl, prefix: env.redisPrefix,
      name, startsFile, lockDurationMs: LOCK_MS,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(opts)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not start the job in time: ${stderr}`)), 20_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line === `started ${id}`) { clearTimeout(timer); resolvePromise(); }
        });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`child exited (${code}): ${stderr}`)); });
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    const worker = makeQueue();
    const runs: string[] = [];
    worker.register({
      name,
      handler: async (_payload, ctx) => {
        appendFileSync(startsFile, `parent ${ctx.id}\n`);
        runs.push(ctx.id);
      },
    });
    await worker.startWorkers();
    await vi.waitFor(() => expect(runs).toEqual([id]), { timeout: 15_000, interval: 20 });
    await vi.waitFor(async () => expect((await worker.counts())[name]).toEqual(ZERO), { timeout: 15_000, interval: 20 });
    expect(readFileSync(startsFile, 'utf8').trim().split('\n')).toEqual([`child ${id}`, `parent ${id}`]);
  }, 40_000);

  // An embedded SQLite file has no server to lose, so the outage tests are for MySQL and Redis.
  if (!(target.kind === 'inline' && target.dialect === 'sqlite')) it(
    'fails enqueue with ServiceUnavailableError while its store is down, and its workers do not crash',
    async () => {
      let q: TestQueue;
      if (target.kind === 'bullmq') {
        q = makeQueue({}, { redisUrl: 'redis://127.0.0.1:1' });
      } else {
        const down = createDatabase({ url: 'mysql://root@127.0.0.1:1/nowhere', connectTimeoutMs: 500 });
        handles.push(down);
        q = makeQueue({ pollIntervalMs: 10 }, { db: down });
      }
      const name = jobName();
      q.register({ name, handler: async () => undefined });
      await q.startWorkers();
      // Both answer (rather than hang until the test times out) while the store is unreachable.
      await expect(q.enqueue(name, {})).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(q.ping(500)).rejects.toBeInstanceOf(ServiceUnavailableError);
      await sleep(300); // workers keep failing to reach the store in the background, without crashing
      await q.close(500);
    },
  );

  if (!(target.kind === 'inline' && target.dialect === 'sqlite')) it(
    'recovers by itself when its store comes back after an outage',
    async () => {
      const upstream = new URL(target.kind === 'bullmq' ? REDIS_URL : env.databaseUrl);
      const proxy = await createTcpProxy({ host: upstream.hostname, port: Number(upstream.port || (target.kind === 'bullmq' ? 6379 : 3306)) });
      try {
        upstream.port = String(proxy.port);
        let q: TestQueue;
        if (target.kind === 'bullmq') {
          q = makeQueue({}, { redisUrl: upstream.toString() });
        } else {
          const viaProxy = createDatabase({ url: upstream.toString(), connectTimeoutMs: 1_000 });
          handles.push(viaProxy);
          q = makeQueue({ pollIntervalMs: 20 }, { db: viaProxy });
        }
        const name = jobName();
        const runs: unknown[] = [];
        q.register({ name, handler: async (payload) => { runs.push(payload); } });
        await q.startWorkers();
        await q.enqueue(name, { n: 1 });
        await vi.waitFor(() => expect(runs).toEqual([{ n: 1 }]), { timeout: 15_000, interval: 10 });

        await proxy.stop();
        await expect(q.enqueue(name, { n: 2 })).rejects.toBeInstanceOf(ServiceUnavailableError);
        await sleep(500); // workers fail to reach the store meanwhile
        await proxy.start();

        // The same queue object works again without a restart: producer and workers reconnect.
        await vi.waitFor(() => q.enqueue(name, { n: 3 }), { timeout: 10_000, interval: 100 });
        await vi.waitFor(() => expect(runs).toEqual([{ n: 1 }, { n: 3 }]), { timeout: 10_000, interval: 20 });
      } finally {
        await Promise.all(open.splice(0).map((q) => q.close(1_000)));
        await proxy.close();
      }
    },
    30_000,
  );

  it('answers ping() when its store is up', async () => {
    await expect(makeQueue().ping(2_000)).resolves.toBeUndefined();
  });
});
