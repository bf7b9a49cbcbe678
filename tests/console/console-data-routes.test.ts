// The read routes the console added, on both dialects: GET /v1/ads/campaigns (budgets, ledger
// spend, today's cumulative pacing curve against the target) and an experiment's analysis history
// (p-values over time) and audit trail.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('console data routes (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let reader: { authorization: string };

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'experiments.analyzeSchedule': 'off' }, { redis: dialect === 'mysql' }));
    const key = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'analyst', scopes: ['experiments:read'] } });
    reader = { authorization: `Bearer ${key.json<{ key: string }>().key}` };
  }, 60_000);
  afterAll(async () => { await t?.close(); });

  it('gives campaigns with ledger spend and today\'s cumulative pacing curve against the target', async () => {
    const now = Date.now();
    const dayStart = Math.floor(now / DAY) * DAY;
    const k = env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    await k.insertInto('advertiser').values({ id: 'adv_c', name: 'Console', client_id: null, updated_at: now }).execute();
    const campaign = (id: string, daily: number | null, status = 'active') => ({
      id, advertiser_id: 'adv_c', name: `Campaign ${id}`, bid_type: 'cpc', bid_minor: 50, currency: 'EUR', daily_budget_minor: daily,
      lifetime_budget_minor: 1_000_000, starts_at: dayStart - 10 * DAY, ends_at: null, targeting: null, status, updated_at: now,
    });
    await k.insertInto('campaign').values([campaign('cmp_a', 100_000), campaign('cmp_b', null), campaign('cmp_p', 5_000, 'paused')]).execute();
    // cmp_a: charges in the first hour and in the current one; one yesterday (lifetime only).
    const charges: [string, number, number][] = [['a1', 120, dayStart + 60_000], ['a2', 80, dayStart + 30 * 60_000], ['a3', 50, now - 1000], ['y1', 70, dayStart - HOUR]];
    for (const [id, amount, at] of charges) expect((await t.services.ads.budget.charge('cmp_a', id, amount, at)).charged).toBe(true);

    const res = await t.app.inject({ method: 'GET', url: '/v1/ads/campaigns', headers: t.adminAuth });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ day: string; slotMs: number; campaigns: { id: string; active: boolean; status: string; currency: string; dailyBudgetMinor: number | null; spentTodayMinor: number; spentLifetimeMinor: number; pacing: { at: number; spentMinor: number; targetMinor: number | null }[] }[] }>();
    expect(body.day).toBe(new Date(now).toISOString().slice(0, 10));
    expect(body.slotMs).toBe(HOUR);
    expect(body.campaigns.map((c) => c.id)).toEqual(['cmp_a', 'cmp_b', 'cmp_p']); // active first
    const a = body.campaigns[0]!;
    expect(a).toMatchObject({ active: true, currency: 'EUR', dailyBudgetMinor: 100_000, spentTodayMinor: 250, spentLifetimeMinor: 320 });
    const slots = Math.floor((now - dayStart) / HOUR) + 1;
    expect(a.pacing).toHaveLength(slots);
    const today = charges.filter(([, , at]) => at >= dayStart);
    a.pacing.forEach((p, i) => {
      expect(p.spentMinor).toBe(today.filter(([, , at]) => at < dayStart + (i + 1) * HOUR).reduce((s, [, amount]) => s + amount, 0));
    });
    expect(a.pacing.at(-1)!.at).toBeGreaterThanOrEqual(now); // the curve ends at the time of the request
    expect(a.pacing.at(-1)!.spentMinor).toBe(250);
    for (let i = 1; i < a.pacing.length; i++) {
      expect(a.pacing[i]!.spentMinor).toBeGreaterThanOrEqual(a.pacing[i - 1]!.spentMinor);
      expect(a.pacing[i]!.targetMinor!).toBeGreaterThanOrEqual(a.pacing[i - 1]!.targetMinor!);
    }
    // The default pacer spreads the budget evenly over the UTC day.
    expect(a.pacing[0]!.targetMinor).toBe(Math.round(100_000 * Math.min(HOUR, now - dayStart) / DAY));
    expect(body.campaigns[1]!.pacing.every((p) => p.targetMinor === null && p.spentMinor === 0)).toBe(true);
    expect(body.campaigns[2]).toMatchObject({ status: 'paused', active: false });
    // Operators only.
    expect((await t.app.inject({ method: 'GET', url: '/v1/ads/campaigns', headers: reader })).statusCode).toBe(403);
  });

  it('gives an experiment\'s analyses oldest first with p-values, and its audit trail', async () => {
    const x = t.services.experiments;
    const actor = { type: 'system', id: 'test' } as const;
    await x.create({ key: 'history', hypothesis: 'h', unitType: 'user', variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'events.signup' }, actor);
    await x.start('history', actor);
    const start = Date.now();
    const units = Array.from({ length: 200 }, (_, i) => `u${i}`);
    await x.recordExposures('history', units.map((u, i) => ({ unitId: u, variant: i % 2 ? 'treatment' : 'control', at: start + i })));
    await x.recordEvents(units.filter((_, i) => i % 5 === 0 || (i % 2 === 1 && i % 3 === 0)).map((u, i) => ({ name: 'signup', unitId: u, at: start + 500 + i })));
    await x.analyze('history', { trigger: 'manual', to: start + 100, act: false });
    await x.analyze('history', { trigger: 'manual', to: start + 5_000, act: false });

    const res = await t.app.inject({ method: 'GET', url: '/v1/experiments/history/analyses', headers: reader });
    expect(res.statusCode).toBe(200);
    const analyses = res.json<{ analyses: { analyzedAt: number; phase: number; trigger: string; metric: string; variants: { variant: string; sequentialPValue: number | null; fixedPValue: number | null; relativeLift: number | null }[] }[] }>().analyses;
    expect(analyses).toHaveLength(2);
    expect(analyses[0]!.analyzedAt).toBeLessThanOrEqual(analyses[1]!.analyzedAt);
    expect(analyses.map((a) => [a.phase, a.trigger, a.metric])).toEqual([[1, 'manual', 'events.signup'], [1, 'manual', 'events.signup']]);
    const stored = (await x.results('history'))!;
    const comparison = stored.metrics[0]!.analysis!.comparisons[0]!;
    expect(analyses[1]!.variants).toEqual([{
      variant: 'treatment', sequentialPValue: comparison.sequential!.absolute.pValue, fixedPValue: comparison.fixed.absolute.pValue,
      relativeLift: comparison.sequential!.relative!.estimate, relativeCi: comparison.sequential!.relative!.ci,
    }]);
    expect(analyses[1]!.variants[0]!.sequentialPValue).toBeGreaterThan(0);
    const limited = await t.app.inject({ method: 'GET', url: '/v1/experiments/history/analyses?limit=1', headers: reader });
    expect(limited.json<{ analyses: { analyzedAt: number }[] }>().analyses).toEqual([expect.objectContaining({ analyzedAt: analyses[1]!.analyzedAt })]);

    const audit = await t.app.inject({ method: 'GET', url: '/v1/experiments/history/audit', headers: reader });
    expect(audit.statusCode).toBe(200);
    expect(audit.json<{ entries: { action: string; actor: { id: string } }[] }>().entries.map((e) => e.action)).toEqual(['experiment.started', 'experiment.created']);
    expect((await t.app.inject({ method: 'GET', url: '/v1/experiments/nope/audit', headers: reader })).statusCode).toBe(404);
  });
});
