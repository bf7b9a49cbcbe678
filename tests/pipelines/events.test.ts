// POST /v1/events and the events.apply processor, on the inline queue over SQLite and MySQL and on
// BullMQ over Redis: per-index validation, durable acceptance while no worker runs, a worker
// killed mid-batch, event-time guarded profile updates, poison events, auth and the batch limit.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialect } from '../../platform/db/database.js';
import { adEvent, SEED_AT, seedReferenceRows } from '../fixtures/events-seed.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { createTcpProxy } from '../helpers/tcp-proxy.js';
import { REDIS_URL, useTestEnv } from '../helpers/test-env.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CHILD = 'tests/fixtures/events-worker-child.ts';
const MAX_BATCH = 1500;
const ZERO = { waiting: 0, active: 0, delayed: 0, dead: 0 };

interface Target { label: string; kind: 'inline' | 'bullmq'; dialect: Dialect }
const TARGETS: Target[] = [
  { label: 'inline queue on sqlite', kind: 'inline', dialect: 'sqlite' },
  { label: 'inline queue on mysql', kind: 'inline', dialect: 'mysql' },
  { label: 'bullmq on redis, mysql', kind: 'bullmq', dialect: 'mysql' },
];

describe.each(TARGETS)('event ingestion: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let t: TestApp;
  let ingest: { authorization: string };
  let scoreOnly: { authorization: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const raw = () => env.db.db as unknown as Kysely<any>;
  const overrides = () => ({
    'queue.lockDurationMs': 1_000, 'queue.pollIntervalMs': 25, 'queue.backoffMs': 20, 'queue.attempts': 3,
    'ingest.maxBatch': MAX_BATCH, 'rateLimit.enabled': false,
  });

  beforeAll(async () => {
    // Workers are not started here: the first test posts while no processor runs.
    t = await startTestApp(env.config(overrides(), { redis: target.kind === 'bullmq' }));
    await seedReferenceRows(env.db.db);
    const key = async (scopes: string[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: `k-${scopes.join()}`, scopes } });
      expect(res.statusCode).toBe(201);
      return { authorization: `Bearer ${res.json<{ key: string }>().key}` };
    };
    ingest = await key(['ingest']);
    scoreOnly = await key(['score']);
  }, 30_000);
  afterAll(async () => { await t?.close(); });

  const post = (events: unknown[], headers: Record<string, string> = ingest) =>
    t.app.inject({ method: 'POST', url: '/v1/events', headers, payload: { events } });
  const count = async (table: string, ids?: string[]) => {
    let q = raw().selectFrom(table).select(sql<number>`count(*)`.as('n'));
    if (ids) q = q.where(table === 'event_receipt' ? 'event_id' : 'id', 'in', ids);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  const queueIdle = async () => expect((await t.platform.queue.counts())['events.apply']).toEqual(ZERO);

  it('keeps events accepted while no worker runs, and a worker killed mid-batch loses and duplicates nothing', async () => {
    const events = [
      ...Array.from({ length: 700 }, (_, i) => adEvent(`imp-${i}`, 'impression', i)),
      ...Array.from({ length: 400 }, (_, i) => ({ ...adEvent(`clk-${i}`, 'click', i), impression_id: `imp-${i}` })),
      ...Array.from({ length: 50 }, (_, i) => ({ event_id: `prop-${i}`, type: 'proposal', event_at: SEED_AT + i, provider_id: i % 2 ? 'p1' : 'p2', job_id: 'j1', price_minor: 9000 + i, currency: 'EUR' })),
      ...Array.from({ length: 50 }, (_, i) => ({ event_id: `conv-${i}`, type: 'conversion', event_at: new Date(SEED_AT + i).toISOString(), click_id: `clk-${i}`, campaign_id: 'cmp0', value_minor: 100, currency: 'EUR' })),
    ];
    const res = await post(events);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 1200, rejected: 0, duplicates: 0, errors: [] });
    // Stored before the answer, and nothing applied yet: no worker runs.
    expect((await t.platform.queue.counts())['events.apply']).toMatchObject({ waiting: 3 });
    expect(await count('impression')).toBe(0);

    // A worker in another process applies one job, applies the next and is killed before it can ack it.
    const childConfig = {
      'database.url': env.databaseUrl, 'redis.url': target.kind === 'bullmq' ? REDIS_URL : null, 'redis.prefix': env.redisPrefix,
      'queue.lockDurationMs': 1_000, 'queue.pollIntervalMs': 25, 'queue.concurrency': 1, 'log.level': 'silent',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(childConfig)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`child did not reach the second job: ${stderr}`)), 30_000);
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (line.startsWith('hung ')) { clearTimeout(timer); resolvePromise(); }
        });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`child exited (${code}): ${stderr}`)); });
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(await count('event_receipt')).toBeGreaterThanOrEqual(700); // two jobs' events are in (500 + 200 at least)

    // Workers start here: the unacked job runs again (writing nothing twice) and the last one runs.
    await t.platform.queue.startWorkers();
    await vi.waitFor(async () => expect(await count('event_receipt')).toBe(1200), { timeout: 20_000, interval: 50 });
    await vi.waitFor(queueIdle, { timeout: 20_000, interval: 50 });
    expect({
      impression: await count('impression'), click: await count('click'), proposal: await count('proposal'),
      conversion: await count('conversion'), receipts: await count('event_receipt'),
    }).toEqual({ impression: 700, click: 400, proposal: 50, conversion: 50, receipts: 1200 });
    const conv = await raw().selectFrom('conversion').selectAll().where('id', '=', 'conv-3').executeTakeFirstOrThrow();
    expect(Number(conv.event_at)).toBe(SEED_AT + 3); // ISO time stored as UTC ms
  }, 60_000);

  it('answers a batch with invalid and repeated events per index, and persists the valid ones once', async () => {
    const batch: unknown[] = [
      adEvent('mix-imp', 'impression', 1),
      { ...adEvent('mix-bad', 'impression', 2), campaign_id: undefined },
      adEvent('mix-imp', 'impression', 1),
      { event_id: 'mix-buy', type: 'purchase', event_at: SEED_AT },
      { ...adEvent('mix-clk', 'click', 3), event_at: 'yesterday' },
      { event_id: 'mix-prop', type: 'proposal', event_at: SEED_AT, provider_id: 'p1', job_id: 'j1', price_minor: 1200, currency: 'EUR' },
      42,
      { event_id: 'mix-pu', type: 'profile_update', event_at: SEED_AT + 10, provider_id: 'p2', rating: 4.5 },
      { ...adEvent('mix-id', 'impression', 4), id: 'other' },
      { event_id: 'mix-pu2', type: 'profile_update', event_at: SEED_AT + 10, provider_id: 'p2', hourly_rate_minor: 12.5, joined: 1 },
    ];
    const expected = {
      accepted: 3, rejected: 6, duplicates: 1,
      errors: [
        { index: 1, eventId: 'mix-bad', problems: [{ path: 'campaign_id', message: 'is required' }] },
        { index: 3, eventId: 'mix-buy', problems: [{ path: 'type', message: expect.stringContaining('must be one of proposal, hire') as unknown }] },
        { index: 4, eventId: 'mix-clk', problems: [{ path: 'event_at', message: expect.stringContaining('UTC milliseconds') as unknown }] },
        { index: 6, eventId: null, problems: [{ path: '', message: expect.stringContaining('must be an object') as unknown }] },
        { index: 8, eventId: 'mix-id', problems: [{ path: 'id', message: expect.stringContaining('event_id') as unknown }] },
        { index: 9, eventId: 'mix-pu2', problems: expect.arrayContaining([
          { path: 'joined', message: 'is not an updatable provider field' },
          { path: 'hourly_rate_minor', message: expect.stringContaining('whole number') as unknown },
        ]) as unknown },
      ],
    };
    for (let round = 0; round < 2; round++) { // the second post is a client retry of the same batch
      const res = await post(batch);
      expect(res.statusCode).toBe(207);
      expect(res.json()).toEqual(expected);
    }
    const ids = ['mix-imp', 'mix-prop', 'mix-pu'];
    await vi.waitFor(async () => expect(await count('event_receipt', ids)).toBe(3), { timeout: 10_000, interval: 25 });
    await vi.waitFor(queueIdle, { timeout: 10_000, interval: 25 });
    expect(await count('impression', ['mix-imp', 'mix-bad', 'mix-id'])).toBe(1);
    expect(await count('proposal', ['mix-prop'])).toBe(1);
    expect(await count('click', ['mix-clk'])).toBe(0);
    const p2 = await raw().selectFrom('provider').selectAll().where('id', '=', 'p2').executeTakeFirstOrThrow();
    expect({ rating: p2.rating, profile_event_at: Number(p2.profile_event_at), headline: p2.headline })
      .toEqual({ rating: 4.5, profile_event_at: SEED_AT + 10, headline: 'Provider p2' });
  }, 30_000);

  it('never lets an older profile_update overwrite newer profile data', async () => {
    const pu = (id: string, at: number, fields: Record<string, unknown>) => ({ event_id: id, type: 'profile_update', provider_id: 'p1', event_at: at, ...fields });
    const applied = (ids: string[]) => vi.waitFor(async () => expect(await count('event_receipt', ids)).toBe(ids.length), { timeout: 10_000, interval: 25 });
    expect((await post([pu('pu-new', SEED_AT + 2_000, { headline: 'New headline', level: 'intermediate' })])).statusCode).toBe(202);
    await applied(['pu-new']);
    expect((await post([pu('pu-old', SEED_AT + 1_000, { headline: 'Old headline', rating: 1 })])).statusCode).toBe(202);
    await applied(['pu-old']);
    let p1 = await raw().selectFrom('provider').selectAll().where('id', '=', 'p1').executeTakeFirstOrThrow();
    expect({ headline: p1.headline, level: p1.level, rating: p1.rating, at: Number(p1.profile_event_at) })
      .toEqual({ headline: 'New headline', level: 'intermediate', rating: null, at: SEED_AT + 2_000 });
    // A newer partial update changes only what it names; in one batch, order does not matter either.
    expect((await post([pu('pu-newest', SEED_AT + 3_000, { rating: 4.9 }), pu('pu-older', SEED_AT + 1_500, { rating: 2 })])).statusCode).toBe(202);
    await applied(['pu-newest', 'pu-older']);
    p1 = await raw().selectFrom('provider').selectAll().where('id', '=', 'p1').executeTakeFirstOrThrow();
    expect({ headline: p1.headline, rating: p1.rating, at: Number(p1.profile_event_at) }).toEqual({ headline: 'New headline', rating: 4.9, at: SEED_AT + 3_000 });
  }, 30_000);

  it('dead-letters poison events with the reason and persists the good events of their batch', async () => {
    const good = ['ok-1', 'ok-2', 'ok-3'];
    const res = await post([
      adEvent('ok-1', 'impression', 1),
      { event_id: 'bad-prop', type: 'proposal', event_at: SEED_AT, provider_id: 'p-unknown', job_id: 'j1', price_minor: 1, currency: 'EUR' },
      adEvent('ok-2', 'impression', 2),
      { event_id: 'bad-pu', type: 'profile_update', event_at: SEED_AT, provider_id: 'p-ghost', headline: 'Nobody' },
      adEvent('ok-3', 'click', 3),
    ]);
    expect(res.statusCode).toBe(202);
    await vi.waitFor(async () => {
      const dead = await t.platform.queue.deadLetters('events.apply');
      expect(dead).toHaveLength(1);
      const events = (dead[0]!.payload as { events: { row: { id?: string; event_id?: string } }[] }).events;
      expect(events.map((e) => e.row.id ?? e.row.event_id).sort()).toEqual(['bad-prop', 'bad-pu']);
      expect(dead[0]!.error).toContain('unknown provider p-ghost');
      expect(dead[0]!.error).toMatch(/bad-prop: .*foreign key/i);
    }, { timeout: 15_000, interval: 50 });
    expect(await count('event_receipt', good)).toBe(3);
    expect(await count('impression', good) + await count('click', good)).toBe(3);
    expect(await count('event_receipt', ['bad-prop', 'bad-pu'])).toBe(0); // not claimed: a replay after a fix applies them
  }, 30_000);

  it('lets an operator list dead letters and replay them once the cause is fixed', async () => {
    const listed = await t.app.inject({ method: 'GET', url: '/v1/admin/dead-letters?job=events.apply', headers: t.adminAuth });
    expect(listed.statusCode).toBe(200);
    const [dead] = listed.json<{ deadLetters: { id: string; name: string; error: string }[] }>().deadLetters;
    expect(dead).toMatchObject({ name: 'events.apply' });
    expect(dead!.error).toContain('unknown provider p-ghost');
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/dead-letters', headers: ingest })).statusCode).toBe(403);
    const unknownJob = await t.app.inject({ method: 'GET', url: '/v1/admin/dead-letters?job=nope', headers: t.adminAuth });
    expect(unknownJob.statusCode).toBe(400);
    expect(unknownJob.json().error.details.problems).toEqual([{ path: '/job', message: expect.stringContaining('events.apply') }]);

    // The fix: the providers the events name now exist. Replaying applies both events.
    await raw().insertInto('provider').values(['p-unknown', 'p-ghost'].map((id) => ({
      id, headline: id, hourly_rate_minor: 1000, currency: 'EUR', country: 'DE', timezone: 'Europe/Berlin', level: 'entry',
      review_count: 0, completed_jobs: 0, joined_at: SEED_AT, profile_event_at: 0, updated_at: SEED_AT,
    }))).execute();
    const retry = await t.app.inject({ method: 'POST', url: `/v1/admin/dead-letters/events.apply/${dead!.id}/retry`, headers: t.adminAuth });
    expect(retry.statusCode).toBe(200);
    await vi.waitFor(async () => expect(await count('event_receipt', ['bad-prop', 'bad-pu'])).toBe(2), { timeout: 15_000, interval: 50 });
    expect(await count('proposal', ['bad-prop'])).toBe(1);
    expect((await t.platform.queue.deadLetters('events.apply'))).toHaveLength(0);
    const again = await t.app.inject({ method: 'POST', url: `/v1/admin/dead-letters/events.apply/${dead!.id}/retry`, headers: t.adminAuth });
    expect(again.statusCode).toBe(404);
    const audit = await t.app.inject({ method: 'GET', url: '/v1/admin/audit?objectType=job', headers: t.adminAuth });
    expect(audit.json().entries[0]).toMatchObject({ action: 'job.retried', objectId: `events.apply/${dead!.id}` });
  }, 30_000);

  it('asks for an ingest key and refuses a batch over the limit, naming it', async () => {
    const one = [adEvent('auth-1', 'impression', 1)];
    expect((await post(one, {})).statusCode).toBe(401);
    const forbidden = await post(one, scoreOnly);
    expect(forbidden.statusCode).toBe(403);
    const tooMany = await post(Array.from({ length: MAX_BATCH + 1 }, (_, i) => adEvent(`big-${i}`, 'impression', i)));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json()).toMatchObject({ error: { code: 'validation_failed', message: expect.stringContaining(`at most ${MAX_BATCH} events`) as unknown } });
    expect(await count('event_receipt', ['big-0'])).toBe(0);
  });
});

describe('event ingestion: queue outage', () => {
  const env = useTestEnv({ dialect: 'sqlite' });

  it('answers 503 while Redis is down and accepts nothing of that batch', async () => {
    const upstream = new URL(REDIS_URL);
    const proxy = await createTcpProxy({ host: upstream.hostname, port: Number(upstream.port || 6379) });
    upstream.port = String(proxy.port);
    const t = await startTestApp(env.config({ 'redis.url': upstream.toString(), 'rateLimit.enabled': false, 'ingest.maxBatch': MAX_BATCH }));
    try {
      const created = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'ingest', scopes: ['ingest'] } });
      const headers = { authorization: `Bearer ${created.json<{ key: string }>().key}` };
      const events = Array.from({ length: 1200 }, (_, i) => adEvent(`out-${i}`, 'impression', i)); // three jobs
      await proxy.stop();
      const down = await t.app.inject({ method: 'POST', url: '/v1/events', headers, payload: { events } });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ error: { code: 'service_unavailable' } });
      await proxy.start();
      await vi.waitFor(async () => expect((await t.platform.queue.counts())['events.apply']).toEqual(ZERO), { timeout: 10_000, interval: 100 });
      const up = await t.app.inject({ method: 'POST', url: '/v1/events', headers, payload: { events } });
      expect(up.statusCode).toBe(202);
      expect((await t.platform.queue.counts())['events.apply']).toMatchObject({ waiting: 3 });
    } finally {
      await t.close();
      await proxy.close();
    }
  }, 30_000);
});
