// The streaming pipeline (features.stream) on Redis counters and on database counters (SQLite and
// MySQL): window counts equal hand-computed ones, an event counted twice counts once, out-of-order
// events give the in-order values, POST /v1/events reaches the online store end to end, and a
// poison event is dead-lettered apart from the good ones and re-queued by replay-dead-letters.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dialect } from '../../../platform/db/database.js';
import type { QueuedEvent } from '../../../pipelines/events/validate-events.js';
import { WINDOWED_SETS } from '../../../pipelines/features/definitions/window-inputs.js';
import { createOnlineStore } from '../../../pipelines/features/store/create-online-store.js';
import { readHistory } from '../../../pipelines/features/store/offline-store.repository.js';
import type { OnlineStore } from '../../../pipelines/features/store/feature-store.types.js';
import { STREAM_SETS } from '../../../pipelines/features/stream/stream-feature-writer.js';
import { STREAM_LAG_METRIC } from '../../../pipelines/features/stream/stream-metrics.js';
import { createStreamFeatures, createStreamProcessor } from '../../../pipelines/features/stream/stream-features.job.js';
import {
  bucketOf, providerActivityOf, streamEventOf, velocityCountsOf, windowCountsOf, windowsOf, type EntityRef, type WindowCounterStore,
} from '../../../pipelines/features/stream/window-counters.js';
import { adEvent, seedReferenceRows } from '../../fixtures/events-seed.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { REDIS_URL, useTestEnv } from '../../helpers/test-env.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BIN = resolve(ROOT, 'bin/gigintel.js');
const S = 1_000;
const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;
// Near the wall clock: the Redis online store lets keys expire in wall time after their TTL.
const T0 = Math.floor(Date.now() / H) * H; // an hour start, "12:00"
const T = T0 + 30 * M + 10 * S; // the latest event: 12:30:10

interface Target { label: string; dialect: Dialect; redis: boolean }
const TARGETS: Target[] = [
  { label: 'redis counters on mysql (bullmq, redis online store)', dialect: 'mysql', redis: true },
  { label: 'database counters on sqlite (inline queue)', dialect: 'sqlite', redis: false },
  { label: 'database counters on mysql (inline queue)', dialect: 'mysql', redis: false },
];

const ad = (id: string, type: 'impression' | 'click', at: number, s: string): QueuedEvent => ({
  type, row: { id, event_at: at, campaign_id: 'cmp0', creative_id: `cr-${s}`, placement_id: `pl-${s}`, user_id: 'u1', ip: `10.9.0.${s}`, device: `dev-${s}`, ingested_at: at },
});
const provider = (id: string, type: 'proposal' | 'hire', at: number, s: string): QueuedEvent => ({
  type, row: { id, event_at: at, provider_id: `pv-${s}`, job_id: 'j1', price_minor: 100, amount_minor: 100, currency: 'EUR', ingested_at: at },
});

/** A hand-made event list; `s` keeps each test's entities apart. The expected values below are counted by hand. */
function handMade(s: string): QueuedEvent[] {
  return [
    ad(`${s}-1`, 'impression', T, s),
    ad(`${s}-2`, 'impression', T0 + 29 * M + 55 * S, s),
    ad(`${s}-3`, 'click', T0 + 30 * M + 5 * S, s),
    ad(`${s}-4`, 'click', T0 + 30 * M, s),
    ad(`${s}-5`, 'click', T0 + 29 * M + 20 * S, s), // in the last minute (5 s buckets from 12:29:15)
    ad(`${s}-6`, 'click', T0 + 29 * M, s),
    ad(`${s}-7`, 'impression', T0 - 15 * M, s),
    ad(`${s}-8`, 'impression', T0 - 40 * M, s), // 11:20: before the hour window (minute buckets from 11:31)
    ad(`${s}-9`, 'click', T0 - 50 * M, s),
    ad(`${s}-10`, 'click', T0 - H, s), // 11:00:00 and 11:00:01: a 1 s gap, but not in the last hour
    ad(`${s}-11`, 'click', T0 - H + S, s),
    ad(`${s}-12`, 'impression', T0 - 23 * H, s), // hour bucket 13:00 yesterday: the first of the 24 h window
    ad(`${s}-13`, 'impression', T0 - 24 * H - M, s), // 11:59 the day before yesterday: 7 d only
    ad(`${s}-14`, 'click', T0 - 3 * D, s),
    ad(`${s}-15`, 'impression', T0 - 8 * D, s), // older than every window
    provider(`${s}-p1`, 'proposal', T - H, s),
    provider(`${s}-p2`, 'proposal', T - 23 * H, s),
    provider(`${s}-p3`, 'proposal', T - 2 * D, s),
    provider(`${s}-p4`, 'proposal', T - 6 * D, s),
    provider(`${s}-p5`, 'proposal', T - 8 * D, s),
    provider(`${s}-h1`, 'hire', T - 10 * D, s),
    provider(`${s}-h2`, 'hire', T - 29 * D, s),
    provider(`${s}-h3`, 'hire', T - 31 * D, s),
  ];
}

const EXPECTED_AD = { asOf: T, imp_1h: 3, clk_1h: 4, imp_24h: 5, clk_24h: 7, imp_7d: 6, clk_7d: 8 };
const EXPECTED_VELOCITY = { asOf: T, clicks_1m: 3, clicks_1h: 4, impressions_1h: 3, min_click_gap_ms: 5_000 };
const EXPECTED_PROVIDER = { asOf: T - H, proposals_24h: 2, proposals_7d: 4, hires_30d: 2, last_active_at: T - H };

const entities = (s: string): EntityRef[] => [
  { kind: 'creative', key: `cr-${s}` }, { kind: 'placement', key: `pl-${s}` },
  { kind: 'ip', key: `10.9.0.${s}` }, { kind: 'device', key: `dev-${s}` }, { kind: 'provider', key: `pv-${s}` },
];

async function inputsOf(counters: WindowCounterStore, s: string) {
  const [creative, placement, ip, device, prov] = await counters.read(entities(s));
  return {
    creative: windowCountsOf(creative!), placement: windowCountsOf(placement!),
    ip: velocityCountsOf(ip!), device: velocityCountsOf(device!), provider: providerActivityOf(prov!),
  };
}
const expectedInputs = { creative: EXPECTED_AD, placement: EXPECTED_AD, ip: EXPECTED_VELOCITY, device: EXPECTED_VELOCITY, provider: EXPECTED_PROVIDER };

describe.each(TARGETS)('stream features: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let t: TestApp;
  let stream: ReturnType<typeof createStreamFeatures>;
  let processor: ReturnType<typeof createStreamProcessor>;
  let online: OnlineStore;

  beforeAll(async () => {
    t = await startTestApp(env.config({
      'queue.lockDurationMs': 2_000, 'queue.pollIntervalMs': 25, 'queue.backoffMs': 20, 'queue.attempts': 2, 'rateLimit.enabled': false,
    }, { redis: target.redis }));
    await seedReferenceRows(env.db.db);
    const deps = { db: t.platform.db.db, redis: t.platform.redis, prefix: t.config.redis.prefix, queue: t.platform.queue, log: t.platform.log };
    stream = createStreamFeatures(deps);
    processor = createStreamProcessor({ counters: stream.counters, writer: stream.writer });
    online = createOnlineStore({ ...deps, sets: Object.values(STREAM_SETS) });
    expect(stream.counters.kind).toBe(target.redis ? 'redis' : 'database');
  }, 30_000);
  afterAll(async () => { await t?.close(); });

  it('counts each window as computed by hand and writes the values online and to the history', async () => {
    const result = await processor.process(handMade('a'));
    expect(result).toMatchObject({ events: 23, counted: 23, entities: 5, written: 5, poison: [] });
    expect(await inputsOf(stream.counters, 'a')).toEqual(expectedInputs);

    const [creative] = await online.read(STREAM_SETS.creative, ['cr-a'], T);
    expect(creative).toMatchObject({ found: true, eventAt: T, values: { imp_1h: 3, clk_1h: 4, imp_24h: 5, clk_24h: 7, imp_7d: 6, clk_7d: 8 } });
    const [ip] = await online.read(STREAM_SETS.ip, ['10.9.0.a'], T);
    expect(ip?.values).toMatchObject({ clicks_1m: 3, clicks_1h: 4, impressions_1h: 3, min_click_gap_ms: 5_000 });
    const [prov] = await online.read(STREAM_SETS.provider, ['pv-a'], T - H);
    expect(prov?.values).toMatchObject({ proposals_24h: 2, proposals_7d: 4, hires_30d: 2, last_active_at: T - H });
    const history = await readHistory(t.platform.db.db, { featureSet: WINDOWED_SETS.placement, version: 1, entityKeys: ['pl-a'] });
    expect(history.map((h) => ({ eventAt: h.eventAt, imp_24h: h.values.imp_24h }))).toEqual([{ eventAt: T, imp_24h: 5 }]);
  });

  it('counts an event once when it comes twice in a job, in two jobs, or when a job runs twice', async () => {
    const events = handMade('b');
    const twice = [...events.slice(0, 12), ...events.slice(0, 12)]; // repeats inside one job
    expect((await processor.process(twice)).counted).toBe(12);
    expect((await processor.process(events.slice(6))).counted).toBe(events.length - 12); // overlaps the first job
    const again = await processor.process(events); // the whole batch again: a redelivered job
    expect(again.counted).toBe(0);
    expect(again.written).toBe(5); // still writes the values (an earlier run may have died before writing)
    expect(await inputsOf(stream.counters, 'b')).toEqual(expectedInputs);
  });

  it('counts each event once when two jobs with overlapping events run at the same time', async () => {
    const events = handMade('f');
    const [x, y] = await Promise.all([processor.process(events.slice(0, 16)), processor.process([...events.slice(6)].reverse())]);
    expect(x.counted + y.counted).toBe(events.length);
    expect(await inputsOf(stream.counters, 'f')).toEqual(expectedInputs);
  });

  it('gives the in-order values for events that arrive out of order, and a late event still updates the online value', async () => {
    const events = handMade('c');
    const byTime = [...events].sort((x, y) => x.row.event_at - y.row.event_at);
    for (const e of byTime) await processor.process([e]); // in order, one event per job
    const inOrder = await inputsOf(stream.counters, 'c');
    expect(inOrder).toEqual(expectedInputs);

    const d = handMade('d');
    const scrambled = [...d].reverse(); // newest first: every later event is older
    for (let i = 0; i < scrambled.length; i += 4) await processor.process(scrambled.slice(i, i + 4));
    expect(await inputsOf(stream.counters, 'd')).toEqual(inOrder);

    // The online row carries the entity's latest event time, so the late (older) events were not dropped as stale.
    const [creative] = await online.read(STREAM_SETS.creative, ['cr-d'], T);
    expect(creative).toMatchObject({ eventAt: T, values: { imp_7d: 6, clk_7d: 8 } });
  });

  it('returns from counting the window values of every entity of the batch, repeated ones too, equal to the stored buckets summed', async () => {
    const events = handMade('g').map(streamEventOf);
    await stream.counters.countAndRead(events.slice(0, 10));
    const second = await stream.counters.countAndRead(events);
    expect(second.counted).toBe(events.length - 10);
    const stored = (await stream.counters.read(entities('g'))).map((c) => windowsOf(c!));
    expect(second.windows).toEqual(stored);
    const [creative, placement, ip, device, prov] = second.windows;
    expect({
      creative: windowCountsOf(creative!), placement: windowCountsOf(placement!),
      ip: velocityCountsOf(ip!), device: velocityCountsOf(device!), provider: providerActivityOf(prov!),
    }).toEqual(expectedInputs);
    // A redelivered batch counts nothing and still gets every entity's values (to write them again).
    // Reversed, the provider's events come first: values in first-seen order.
    expect(await stream.counters.countAndRead([...events].reverse())).toEqual({ counted: 0, windows: [prov, creative, placement, ip, device] });
  });

  it('drops the buckets that left every window when an entity\'s latest event time moves on', async () => {
    const old = T - 3 * H;
    await processor.process([ad('h-1', 'impression', old, 'h')]);
    await processor.process([ad('h-2', 'impression', T, 'h')]);
    const [creative] = await stream.counters.read([{ kind: 'creative', key: 'cr-h' }]);
    expect([...creative!.buckets.get('imp@m')!.keys()]).toEqual([bucketOf(T, 'imp@m')]); // the minute of 3 h ago is gone
    expect([...creative!.buckets.get('imp@h')!.keys()].sort()).toEqual([bucketOf(old, 'imp@h'), bucketOf(T, 'imp@h')].sort());
    expect(windowCountsOf(creative!)).toMatchObject({ imp_1h: 1, imp_24h: 2 });
  });

  it('updates online features from POST /v1/events through the queue workers', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'ingest', scopes: ['ingest'] } });
    const headers = { authorization: `Bearer ${created.json<{ key: string }>().key}` };
    const at = Date.now() - 5 * M;
    const events = [
      ...Array.from({ length: 600 }, (_, i) => ({ ...adEvent(`e2e-imp-${i}`, 'impression', i, at - i * S), ip: '10.7.7.7' })),
      ...Array.from({ length: 30 }, (_, i) => ({ ...adEvent(`e2e-clk-${i}`, 'click', i, at - 2 * i * S), impression_id: `e2e-imp-${i}`, ip: '10.7.7.7' })),
      ...Array.from({ length: 3 }, (_, i) => ({ event_id: `e2e-prop-${i}`, type: 'proposal', event_at: at - i * H, provider_id: 'p1', job_id: 'j1', price_minor: 9000, currency: 'EUR' })),
    ];
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers, payload: { events } });
    expect(res.statusCode).toBe(202);
    expect((await t.platform.queue.counts())['features.stream']).toMatchObject({ waiting: 2 });
    await t.platform.queue.startWorkers();
    await vi.waitFor(async () => {
      const counts = await t.platform.queue.counts();
      expect({ apply: counts['events.apply'], stream: counts['features.stream'] })
        .toEqual({ apply: { waiting: 0, active: 0, delayed: 0, dead: 0 }, stream: { waiting: 0, active: 0, delayed: 0, dead: 0 } });
    }, { timeout: 20_000, interval: 50 });

    // adEvent spreads events over two slots by index parity; all of them lie in the last 20 minutes.
    const [cr0, cr1] = await online.read(STREAM_SETS.creative, ['cr0', 'cr1'], at);
    expect(cr0).toMatchObject({ eventAt: at, values: { imp_1h: 300, clk_1h: 15, imp_24h: 300, clk_24h: 15, imp_7d: 300, clk_7d: 15 } });
    expect(cr1?.values).toMatchObject({ imp_1h: 300, clk_1h: 15 });
    const [ip] = await online.read(STREAM_SETS.ip, ['10.7.7.7'], at);
    expect(ip?.values).toMatchObject({ clicks_1h: 30, min_click_gap_ms: 2_000 });
    const [p1] = await online.read(STREAM_SETS.provider, ['p1'], at);
    expect(p1?.values).toMatchObject({ proposals_24h: 3, last_active_at: at });

    const metrics = await t.platform.metrics.registry.getSingleMetricAsString(STREAM_LAG_METRIC);
    expect(metrics).toMatch(new RegExp(`${STREAM_LAG_METRIC}_count \\d+`));
    expect(Number(/_count (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(633);
  }, 40_000);

  it('dead-letters a poison event with the reason apart from the good ones, and replay-dead-letters re-queues it', async () => {
    await t.platform.queue.startWorkers(); // no-op when the previous test started them
    const good = ad('poison-ok', 'click', T, 'e');
    const bad = { type: 'click', row: { id: 'poison-bad', event_at: T, creative_id: 'cr-e', ip: '10.9.0.e' } } as QueuedEvent;
    await t.platform.queue.enqueue('features.stream', { events: [good, bad] }, { jobId: 'stream-poison-test' });
    let firstFailedAt = 0;
    await vi.waitFor(async () => {
      const dead = await t.platform.queue.deadLetters('features.stream');
      expect(dead).toHaveLength(1);
      expect(dead[0]!.error).toContain('poison-bad: click without placement_id');
      expect((dead[0]!.payload as { events: QueuedEvent[] }).events.map((e) => e.row.id)).toEqual(['poison-bad']);
      firstFailedAt = dead[0]!.failedAt;
    }, { timeout: 20_000, interval: 50 });
    const [creative] = await stream.counters.read([{ kind: 'creative', key: 'cr-e' }]);
    expect(windowCountsOf(creative!).clk_1h).toBe(1); // the good click of the same job was counted

    const cliEnv = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_'))),
      GIGINTEL_DATABASE_URL: env.databaseUrl, GIGINTEL_REDIS_PREFIX: env.redisPrefix, GIGINTEL_LOG_LEVEL: 'warn',
      GIGINTEL_FEATURE_DEMO_SEED: 'false', ...(target.redis ? { GIGINTEL_REDIS_URL: REDIS_URL } : {}),
    };
    const dry = await runCli(['pipeline', 'replay-dead-letters', '--dry-run'], cliEnv);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.out).toMatch(/^dead +\S+ +features\.stream +\S+ +.*poison-bad: click without placement_id/m);
    expect(dry.out).toContain('[dry run] 1 dead-lettered job (events.apply 0, features.stream 1); nothing re-queued');

    const real = await runCli(['pipeline', 'replay-dead-letters', '--job', 'features.stream', '--limit', '10'], cliEnv);
    expect(real).toMatchObject({ code: 0 });
    expect(real.out).toContain('1 of 1 dead-lettered job re-queued (features.stream 1)');
    // It ran again (still poison) and is back in the dead-letter list, failed later than the first time.
    await vi.waitFor(async () => {
      const dead = await t.platform.queue.deadLetters('features.stream');
      expect(dead).toHaveLength(1);
      expect(dead[0]!.failedAt).toBeGreaterThan(firstFailedAt);
    }, { timeout: 20_000, interval: 50 });

    const unknown = await runCli(['pipeline', 'replay-dead-letters', '--job', 'nope'], cliEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown job "nope"');
  }, 60_000);
});

function runCli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => resolvePromise({ code, out, err }));
  });
}
