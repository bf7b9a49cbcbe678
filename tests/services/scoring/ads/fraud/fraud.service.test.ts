// The click-fraud rules on every backend (database on SQLite and MySQL, Redis with MySQL): each rule
// flags what it should and nothing else, every reason is collected, velocity at the window's edge,
// counting and the first-click claim atomic under concurrent delivery, flagged clicks stored and
// counted in the metrics, review release / confirm.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../../../../platform/audit/audit-log.js';
import type { Dialect } from '../../../../../platform/db/database.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../../../platform/errors/app-error.js';
import type { ClickInput, ImpressionToken } from '../../../../../services/scoring/ads/ad-types.js';
import { createDbFraudCounters } from '../../../../../services/scoring/ads/fraud/db-fraud-counters.js';
import { createRedisFraudCounters } from '../../../../../services/scoring/ads/fraud/redis-fraud-counters.js';
import { FLAGGED_CLICKS_METRIC } from '../../../../../services/scoring/ads/fraud/fraud-metrics.js';
import { createFraudService, type FraudServiceDeps } from '../../../../../services/scoring/ads/fraud/fraud.service.js';
import type { FraudRulesConfig, TokenCheck } from '../../../../../services/scoring/ads/fraud/fraud.types.js';
import { DIALECTS, REDIS_URL, useTestEnv } from '../../../../helpers/test-env.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 1);
const OFF = { ipClicksPerMinute: 0, ipClicksPerHour: 0, deviceClicksPerMinute: 0, deviceClicksPerHour: 0, anomalyThreshold: 0 };
const actor = { type: 'api_key' as const, id: 'key_ops', name: 'ops' };

interface Target { label: string; dialect: Dialect; redis: boolean }
const TARGETS: Target[] = [
  { label: 'database on sqlite', dialect: 'sqlite', redis: false },
  { label: 'database on mysql', dialect: 'mysql', redis: false },
  { label: 'redis on mysql', dialect: 'mysql', redis: true },
];

describe.each(TARGETS)('click fraud: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect }); // its afterAll deletes this file's Redis keys
  let redis: Redis | null = null;
  let seq = 0;
  // Each test runs on its own day, so the per-hour IP population of one never feeds another.
  let day = 0;

  beforeAll(() => { if (target.redis) redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }); });
  afterAll(async () => { await redis?.quit(); });

  const service = (rules: Partial<FraudRulesConfig> = {}, extra: Partial<FraudServiceDeps> = {}) =>
    createFraudService({ db: env.db.db, redis, prefix: env.redisPrefix, rules, now: () => T0, ...extra });
  const newDay = () => T0 + ++day * DAY;
  const id = (p: string) => `${p}_${++seq}`;
  const tokenFor = (issuedAt: number, over: Partial<ImpressionToken> = {}): { valid: true; payload: ImpressionToken } => ({
    valid: true,
    payload: {
      impressionId: id('imp'), campaignId: 'cmp_1', creativeId: 'cr_1', placementId: 'pl_1', userId: 'u_1', bidType: 'cpc',
      priceMinor: 120, currency: 'EUR', issuedAt, expiresAt: issuedAt + HOUR, ...over,
    },
  });
  const click = (at: number, over: Partial<ClickInput> = {}): ClickInput =>
    ({ clickId: id('clk'), token: 'signed', at, ip: null, device: null, userAgent: 'Mozilla/5.0', userId: 'u_1', ...over });
  /** A click 5 s after a fresh impression: no rule has a reason to fire. */
  const clean = (at: number, over: Partial<ClickInput> = {}): [ClickInput, TokenCheck] => [click(at, over), tokenFor(at - 5_000)];

  it('passes a clean click and stores nothing', async () => {
    const fraud = service();
    expect(fraud.countersKind).toBe(target.redis ? 'redis' : 'database');
    const [c, t] = clean(newDay(), { ip: '203.0.113.1', device: 'dev_clean' });
    const v = await fraud.checkClick(c, t);
    expect(v).toMatchObject({ flagged: false, reasons: [] });
    expect(await fraud.getFlagged(c.clickId)).toBeNull();
  });

  it.each(['invalid_token', 'expired_token'] as const)('flags a click with %s, and only that', async (reason) => {
    const fraud = service();
    const c = click(newDay(), { ip: '203.0.113.2', device: 'dev_tok' });
    const v = await fraud.checkClick(c, { valid: false, reason });
    expect(v).toMatchObject({ flagged: true, reasons: [reason] });
    expect(await fraud.getFlagged(c.clickId)).toMatchObject({ reasons: [reason], status: 'flagged', campaignId: null, impressionId: null, token: null });
  });

  it('flags the second click on one impression as duplicate_click, and a redelivered first click passes again', async () => {
    const fraud = service();
    const at = newDay();
    const token = tokenFor(at - 5_000);
    const first = click(at, { ip: '203.0.113.3' });
    const second = click(at + 1_000, { ip: '203.0.113.4' });
    expect(await fraud.checkClick(first, token)).toMatchObject({ flagged: false, reasons: [] });
    const v = await fraud.checkClick(second, token);
    expect(v).toMatchObject({ flagged: true, reasons: ['duplicate_click'], details: { firstClickId: first.clickId } });
    expect(await fraud.checkClick(first, token)).toMatchObject({ flagged: false, reasons: [] });
    // Another impression is not a duplicate.
    expect((await fraud.checkClick(click(at + 2_000), tokenFor(at))).reasons).toEqual([]);
  });

  it('lets exactly one of 20 concurrent clicks on one impression through', async () => {
    const fraud = service();
    const at = newDay();
    const token = tokenFor(at - 5_000);
    const clicks = Array.from({ length: 20 }, (_, i) => click(at + i, { ip: `198.51.100.${i + 1}`, device: `dev_dup_${i}` }));
    const verdicts = await Promise.all(clicks.map((c) => fraud.checkClick(c, token)));
    const passed = verdicts.filter((v) => !v.flagged);
    expect(passed).toHaveLength(1);
    for (const v of verdicts.filter((x) => x.flagged)) expect(v.reasons).toEqual(['duplicate_click']);
    const winner = clicks[verdicts.findIndex((v) => !v.flagged)]!;
    for (const v of verdicts.filter((x) => x.flagged)) expect(v.details.firstClickId).toBe(winner.clickId);
  });

  it('flags a click sooner than minClickDelayMs after the impression (token time, or the recorded one)', async () => {
    const at = newDay();
    const fraud = service({ minClickDelayMs: 1_000 });
    expect(await fraud.checkClick(click(at + 999), tokenFor(at))).toMatchObject({ flagged: true, reasons: ['too_fast'], details: { delayMs: 999 } });
    expect(await fraud.checkClick(click(at + 1_000), tokenFor(at))).toMatchObject({ flagged: false, reasons: [] });
    expect((await fraud.checkClick(click(at - 10), tokenFor(at))).reasons).toEqual(['too_fast']); // before its impression
    // The recorded impression time wins over the token's issue time when known.
    const recorded = service({ minClickDelayMs: 1_000 }, { impressionAt: async () => at + 5_000 });
    expect(await recorded.checkClick(click(at + 5_500), tokenFor(at))).toMatchObject({ reasons: ['too_fast'], details: { delayMs: 500 } });
    const unknown = service({ minClickDelayMs: 1_000 }, { impressionAt: async () => null });
    expect((await unknown.checkClick(click(at + 5_500), tokenFor(at))).reasons).toEqual([]);
    expect((await service({ minClickDelayMs: 0 }).checkClick(click(at + 1), tokenFor(at))).reasons).toEqual([]);
  });

  it('counts IP clicks over a sliding minute: the limit passes, one more is flagged, the window edge is exclusive', async () => {
    const fraud = service({ ...OFF, ipClicksPerMinute: 2 });
    const at = newDay();
    const check = (t: number, ip: string) => fraud.checkClick(...clean(t, { ip }));
    expect((await check(at, '192.0.2.1')).reasons).toEqual([]);
    expect((await check(at + 30_000, '192.0.2.1')).reasons).toEqual([]);
    const third = await check(at + 59_999, '192.0.2.1');
    expect(third).toMatchObject({ reasons: ['ip_velocity'], details: { ipClicks: { minute: 3, hour: 3 } } });
    // 60,000 ms after the first, the first has left the window: (t − 1 min, t].
    expect((await check(at, '192.0.2.2')).reasons).toEqual([]);
    expect((await check(at + 30_000, '192.0.2.2')).reasons).toEqual([]);
    expect(await check(at + 60_000, '192.0.2.2')).toMatchObject({ reasons: [], details: { ipClicks: { minute: 2 } } });
    // Another IP has its own count.
    expect((await check(at + 59_999, '192.0.2.3')).reasons).toEqual([]);
  });

  it('counts IP clicks over a sliding hour, and device clicks over both windows', async () => {
    const at = newDay();
    const hourly = service({ ...OFF, ipClicksPerHour: 3 });
    const ipAt = async (t: number) => (await hourly.checkClick(...clean(t, { ip: '192.0.2.10' }))).reasons;
    expect([await ipAt(at), await ipAt(at + 20 * 60_000), await ipAt(at + 40 * 60_000)]).toEqual([[], [], []]);
    expect(await ipAt(at + HOUR - 1)).toEqual(['ip_velocity']);
    expect(await ipAt(at + HOUR + 20 * 60_000 + 1)).toEqual([]); // at and at + 20 min have left: 3 in the hour

    const devices = service({ ...OFF, deviceClicksPerMinute: 1, deviceClicksPerHour: 2 });
    const devAt = async (t: number, ip: string) => (await devices.checkClick(...clean(t, { device: 'dev_v', ip })));
    expect((await devAt(at, '192.0.2.20')).reasons).toEqual([]);
    expect((await devAt(at + 1_000, '192.0.2.21')).reasons).toEqual(['device_velocity']); // 2 in a minute
    expect(await devAt(at + 5 * 60_000, '192.0.2.22')).toMatchObject({ reasons: ['device_velocity'], details: { deviceClicks: { minute: 1, hour: 3 } } });
  });

  it('counts concurrent clicks from one IP atomically: exactly the clicks past the limit are flagged', async () => {
    const fraud = service({ ...OFF, ipClicksPerMinute: 4 });
    const at = newDay();
    const verdicts = await Promise.all(Array.from({ length: 12 }, () => fraud.checkClick(...clean(at, { ip: '192.0.2.30' }))));
    expect(verdicts.filter((v) => v.flagged)).toHaveLength(8);
    expect(verdicts.map((v) => (v.details.ipClicks as { minute: number }).minute).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // A redelivered click is not counted twice.
    const [c, t] = clean(at + 1, { ip: '192.0.2.31' });
    await fraud.checkClick(c, t);
    expect((await fraud.checkClick(c, t)).details.ipClicks).toMatchObject({ minute: 1 });
  });

  it('flags blocked IPs (exact, CIDR, IPv6, IPv4-mapped) and user agents (substring, regex), and only those', async () => {
    const fraud = service({ ...OFF, blockedIps: ['203.0.113.99', '10.20.0.0/16', '2001:db8::/32'], blockedUserAgents: ['HeadlessChrome', '/^python-requests\\//i'] });
    const at = newDay();
    const reasons = async (over: Partial<ClickInput>) => (await fraud.checkClick(...clean(at, over))).reasons;
    expect(await reasons({ ip: '203.0.113.99' })).toEqual(['blocked_ip']);
    expect(await reasons({ ip: '10.20.255.1' })).toEqual(['blocked_ip']);
    expect(await reasons({ ip: '::ffff:10.20.0.7' })).toEqual(['blocked_ip']);
    expect(await reasons({ ip: '2001:db8:ab::1' })).toEqual(['blocked_ip']);
    expect(await reasons({ ip: '10.21.0.1' })).toEqual([]);
    expect(await reasons({ userAgent: 'Mozilla/5.0 HeadlessChrome/120' })).toEqual(['blocked_user_agent']);
    expect(await reasons({ userAgent: 'Python-Requests/2.31' })).toEqual(['blocked_user_agent']);
    expect(await reasons({ userAgent: 'my python-requests/2.31' })).toEqual([]);
    expect(await reasons({ userAgent: null })).toEqual([]);
  });

  it('scores the IP against the previous hour\'s IPs and flags it past the anomaly threshold', async () => {
    const fraud = service({ ...OFF, anomalyThreshold: 2, anomalyMinClicks: 5, anomalyMinPopulation: 30 });
    const hour0 = newDay();
    // The reference hour: 10 IPs each with 1, 2, 4 and 8 clicks: median of log(1 + n) = (ln 3 + ln 5) / 2, 1.4826·MAD = 0.679.
    const pop = [1, 2, 4, 8].flatMap((n) => Array(10).fill(n) as number[]);
    for (const [i, n] of pop.entries()) {
      for (let k = 0; k < n; k++) await fraud.checkClick(...clean(hour0 + i * 60_000 + k * 1_000, { ip: `100.64.0.${i + 1}` }));
    }
    const hour1 = hour0 + HOUR;
    const seen = [];
    for (let k = 1; k <= 16; k++) seen.push(await fraud.checkClick(...clean(hour1 + k * 60_000, { ip: '100.64.9.9' })));
    // z(14 clicks) = 1.993 < 2, z(15) = 2.088: the 15th click is the first flagged.
    expect(seen.map((v) => v.reasons.length)).toEqual([...Array(14).fill(0), 1, 1]);
    expect(seen[15]!.reasons).toEqual(['ip_anomaly']);
    expect(seen[13]!.score).toBeCloseTo(1.993, 3);
    expect(seen[14]!.score).toBeCloseTo(2.088, 3);
    expect(seen[14]!.details.anomaly).toMatchObject({ clicksLastHour: 15, populationIps: 40, scaleKind: 'mad', scale: 0.6792, gapCv: 0 });
    // The click minimum holds even past the threshold: against one-click IPs (scale: the 0.5 floor) 3 clicks are z = 2·ln 2 = 1.386.
    const strict = service({ ...OFF, anomalyThreshold: 1, anomalyMinClicks: 4, anomalyMinPopulation: 30 });
    const h2 = newDay();
    for (let i = 0; i < 30; i++) await strict.checkClick(...clean(h2 + i * 1_000, { ip: `100.65.0.${i + 1}` }));
    const few = [];
    for (let k = 1; k <= 4; k++) few.push(await strict.checkClick(...clean(h2 + HOUR + k * 1_000, { ip: '100.65.9.9' })));
    expect(few.map((v) => v.reasons)).toEqual([[], [], [], ['ip_anomaly']]);
    expect(few[2]!).toMatchObject({ score: 1.386, details: { anomaly: { scaleKind: 'floor', scale: 0.5, populationMedianClicks: 1 } } });

    // A reference hour with too few IPs says nothing.
    const lonely = newDay();
    await fraud.checkClick(...clean(lonely, { ip: '100.64.10.1' }));
    const quiet = [];
    for (let k = 1; k <= 30; k++) quiet.push(await fraud.checkClick(...clean(lonely + HOUR + k * 1_000, { ip: '100.64.10.2' })));
    expect(quiet.every((v) => !v.flagged)).toBe(true);
    expect(quiet[29]!.details.anomaly).toMatchObject({ clicksLastHour: 30, z: null, populationIps: 1 });
  });

  it('collects every reason of a click, stores it and counts each reason in the metrics', async () => {
    const registry = new Registry();
    const fraud = service({ blockedIps: ['203.0.113.50'], blockedUserAgents: ['curl'], minClickDelayMs: 1_000 }, { metrics: registry });
    const at = newDay();
    const token = tokenFor(at - 100);
    await fraud.checkClick(click(at - 50, { ip: '192.0.2.99' }), token); // claims the impression
    const c = click(at, { ip: '203.0.113.50', userAgent: 'curl/8.0', device: 'dev_all' });
    const v = await fraud.checkClick(c, token);
    expect(v.reasons.sort()).toEqual(['blocked_ip', 'blocked_user_agent', 'duplicate_click', 'too_fast']);
    const stored = await fraud.getFlagged(c.clickId);
    expect(stored).toMatchObject({
      clickId: c.clickId, campaignId: 'cmp_1', impressionId: token.payload.impressionId, status: 'flagged', token: token.payload,
      clickedAt: at, ip: '203.0.113.50', device: 'dev_all', userAgent: 'curl/8.0', reviewedBy: null, createdAt: T0,
    });
    expect(stored!.reasons.sort()).toEqual(v.reasons);
    const counts = Object.fromEntries((await registry.getSingleMetric(FLAGGED_CLICKS_METRIC)!.get()).values.map((x) => [x.labels.reason, x.value]));
    expect(counts).toEqual({ blocked_ip: 1, blocked_user_agent: 1, duplicate_click: 1, too_fast: 2 });
    // Redelivery: stored once, counted once.
    await fraud.checkClick(c, token);
    const again = Object.fromEntries((await registry.getSingleMetric(FLAGGED_CLICKS_METRIC)!.get()).values.map((x) => [x.labels.reason, x.value]));
    expect(again).toEqual(counts);
  });

  it('lists flagged clicks by status, campaign and reason, a page at a time', async () => {
    let t = T0 + 1_000 * DAY;
    const fraud = service({ ...OFF }, { now: () => t++ });
    const campaign = id('cmp_list');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = click(newDay());
      ids.push(c.clickId);
      await fraud.checkClick(c, i % 2 ? { valid: false, reason: 'expired_token' } : { valid: true, payload: { ...tokenFor(c.at).payload, campaignId: campaign } });
    }
    const mine = await fraud.listFlagged({ campaignId: campaign, limit: 2 });
    expect(mine.items.map((x) => x.clickId)).toEqual([ids[4], ids[2]]);
    const next = await fraud.listFlagged({ campaignId: campaign, limit: 2, cursor: mine.nextCursor! });
    expect(next).toMatchObject({ items: [{ clickId: ids[0], reasons: ['too_fast'] }], nextCursor: null });
    const expired = await fraud.listFlagged({ reason: 'expired_token', status: 'flagged', from: T0 + 1_000 * DAY });
    expect(expired.items.map((x) => x.clickId)).toEqual([ids[3], ids[1]]);
    await expect(fraud.listFlagged({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(fraud.listFlagged({ cursor: 'zz' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('releases a click once (with what charging needs), confirms another, refuses a change of mind, audits', async () => {
    const audit = createAuditLog({ db: env.db.db });
    const fraud = service({ ...OFF }, { audit });
    const at = newDay();
    const token = tokenFor(at);
    const fast = click(at + 10);
    await fraud.checkClick(fast, token);

    const released = await fraud.review(fast.clickId, 'release', actor);
    expect(released).toMatchObject({ changed: true, click: { status: 'released', reviewedBy: 'key_ops', reviewedAt: T0 }, charge: { clickId: fast.clickId, at: at + 10, impression: token.payload } });
    expect(await fraud.review(fast.clickId, 'release', actor)).toMatchObject({ changed: false, charge: null, click: { status: 'released' } });
    await expect(fraud.review(fast.clickId, 'confirm', actor)).rejects.toBeInstanceOf(ConflictError);

    const bad = click(at + 20);
    await fraud.checkClick(bad, { valid: false, reason: 'invalid_token' });
    expect(await fraud.review(bad.clickId, 'confirm', actor)).toMatchObject({ changed: true, charge: null, click: { status: 'confirmed' } });
    await expect(fraud.review(bad.clickId, 'release', actor)).rejects.toBeInstanceOf(ConflictError);
    const noToken = click(at + 30);
    await fraud.checkClick(noToken, { valid: false, reason: 'invalid_token' });
    expect(await fraud.review(noToken.clickId, 'release', actor)).toMatchObject({ changed: true, charge: null }); // nothing to charge against

    await expect(fraud.review('clk_unknown', 'release', actor)).rejects.toBeInstanceOf(NotFoundError);
    await expect(fraud.review(fast.clickId, 'maybe' as never, actor)).rejects.toBeInstanceOf(ValidationError);
    const trail = await audit.list({ objectType: 'click', objectId: fast.clickId });
    expect(trail.map((e) => e.action)).toEqual(['ads.click.released']);

    // Concurrent reviews of one click: one decision wins, the other is refused.
    const race = click(at + 40);
    await fraud.checkClick(race, { valid: false, reason: 'invalid_token' });
    const outcomes = await Promise.allSettled([fraud.review(race.clickId, 'release', actor), fraud.review(race.clickId, 'confirm', actor)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: expect.any(ConflictError) });
  });

  it('refuses bad input and bad rules', async () => {
    const fraud = service();
    await expect(fraud.checkClick(click(-1), { valid: false, reason: 'invalid_token' })).rejects.toBeInstanceOf(ValidationError);
    await expect(fraud.checkClick({ ...click(T0), clickId: '' }, { valid: false, reason: 'invalid_token' })).rejects.toBeInstanceOf(ValidationError);
    await expect(fraud.checkClick(click(T0, { ip: 'x'.repeat(46) }), { valid: false, reason: 'invalid_token' })).rejects.toBeInstanceOf(ValidationError);
    expect(() => service({ blockedIps: ['300.1.1.1'] })).toThrow(ValidationError);
  });
});

describe('redis fraud counters: population sample', () => {
  const env = useTestEnv({ dialect: 'sqlite', migrate: false });
  let redis: Redis;
  beforeAll(() => { redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }); });
  afterAll(async () => { await redis.quit(); });

  it('reads a busy hour as a sample of distinct IPs with their counts', async () => {
    const counters = createRedisFraudCounters({ redis, prefix: env.redisPrefix, populationSample: 5 });
    const at = T0 + 7 * HOUR;
    for (let i = 0; i < 12; i++) {
      for (let k = 0; k <= i % 3; k++) await counters.recordClick([{ kind: 'ip', key: `ip${i}` }], `c${i}_${k}`, at + k);
    }
    const sample = await counters.ipPopulation(7 + Math.floor(T0 / HOUR));
    expect(sample.counts).toHaveLength(5);
    for (const n of sample.counts) expect([1, 2, 3]).toContain(n);
    const small = createRedisFraudCounters({ redis, prefix: env.redisPrefix, populationSample: 100 });
    expect((await small.ipPopulation(7 + Math.floor(T0 / HOUR))).counts.sort()).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  });
});

describe.each(DIALECTS)('database fraud counters on %s', (dialect) => {
  const env = useTestEnv({ dialect });

  it('prunes hits no window reads and expired claims', async () => {
    const counters = createDbFraudCounters({ db: env.db.db });
    const at = T0 + 400 * DAY;
    await counters.recordClick([{ kind: 'ip', key: 'prune_ip' }], 'p1', at);
    expect((await counters.claimImpression('prune_imp', 'p1', at, at + 1_000)).first).toBe(true);
    expect((await counters.claimImpression('prune_imp', 'p2', at, at + 1_000)).first).toBe(false);
    await counters.prune(at + 2 * HOUR + 1);
    const hits = await env.db.db.selectFrom('fraud_velocity_hit').select('click_id').where('key', '=', 'prune_ip').execute();
    expect(hits).toEqual([]);
    expect((await counters.claimImpression('prune_imp', 'p2', at + 2 * HOUR + 2, at + 3 * HOUR)).first).toBe(true);
  });
});
