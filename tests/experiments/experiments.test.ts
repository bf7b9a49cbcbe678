// Experiments end to end on both dialects: definitions refused by name, the lifecycle and its
// phases, GrowthBook-compatible assignment with first exposures logged once, an analysis whose
// sufficient statistics equal sums taken by hand over the inserted facts, SRM rolling a skewed
// experiment back, and a guardrail breach rolling a model experiment back — scoring then serves
// control.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assign, compileExperiment } from '../../experiments/assignment/assign.js';
import type { ExperimentReport } from '../../experiments/experiment.service.js';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import { uniform } from '../../pipelines/synthetic/random.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';
import { adsEncoding, logisticOver, point, registerModel } from '../services/scoring/scoring-fixtures.js';

const MINUTE = 60_000;

describe.each(DIALECTS)('experiments (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let ad: { campaign_id: string; creative_id: string; placement_id: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const raw = () => env.db.db as unknown as Kysely<any>;
  const post = (url: string, payload?: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: t.adminAuth, ...(payload ? { payload } : {}) });
  let seq = 0;

  /** n impressions and k clicks of one user at `at`, on a real campaign, creative and placement. */
  async function adFacts(user: string, at: number, impressions: number, clicks: number): Promise<void> {
    const imps = Array.from({ length: impressions }, (_, i) => ({ id: `im_t${++seq}`, ...ad, user_id: user, ip: null, device: 'mobile', fraud_label: 0, event_at: at + i, ingested_at: at + i }));
    if (imps.length) await raw().insertInto('impression').values(imps).execute();
    const cls = Array.from({ length: clicks }, (_, i) => ({ id: `cl_t${++seq}`, impression_id: imps[i]?.id ?? null, ...ad, user_id: user, ip: null, device: 'mobile', fraud_label: 0, event_at: at + i + 1, ingested_at: at + i + 1 }));
    if (cls.length) await raw().insertInto('click').values(cls).execute();
  }

  async function settleExposures(key: string, n: number): Promise<void> {
    await vi.waitFor(async () => {
      await t.services.experiments.exposures.flush();
      const rows = await raw().selectFrom('experiment_exposure').select(raw().fn.countAll().as('n')).where('experiment', '=', key).executeTakeFirst();
      expect(Number(rows?.n)).toBe(n);
    }, { timeout: 20_000, interval: 100 });
  }

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'registry.gatedAliases': [], 'scoring.models': ['ads-ctr'], 'scoring.pollMs': 100 }));
    await seedMarketplace(env.db.db, { providers: 60, jobs: 20, days: 3, seed: `experiments-${dialect}`, events: 2_000 });
    ad = await raw().selectFrom('impression').select(['campaign_id', 'creative_id', 'placement_id']).limit(1).executeTakeFirstOrThrow();
    await t.platform.queue.startWorkers();
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  it('refuses a bad definition naming every problem', async () => {
    const res = await post('/v1/experiments', {
      key: 'bad', hypothesis: 'h', unitType: 'user', model: 'ads-ctr',
      variants: [{ key: 'a', weight: 0.7 }, { key: 'b', weight: 0.7 }],
      primaryMetric: 'hire_rate', guardrails: [{ metric: 'nope', maxDegradation: 0.1 }], conditions: { country: { $regex: 'x' } },
    });
    expect(res.statusCode).toBe(400);
    const paths = res.json().error.details.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['primaryMetric', 'guardrails/0/metric', 'variants/0/payload/alias', 'conditions/country/$regex', 'model']));
    expect(paths.some((p: string) => /weights|variants/.test(p))).toBe(true);
  });

  it('runs the lifecycle: draft, start (phase 1), a weight change only with a reason (phase 2), stop', async () => {
    const def = { key: 'life', hypothesis: 'a new layout lifts CTR', unitType: 'user', variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'ctr' };
    expect((await post('/v1/experiments', def)).statusCode).toBe(201);
    expect((await post('/v1/experiments', def)).statusCode).toBe(409);
    expect((await post('/v1/experiments/life/stop', { reason: 'x' })).statusCode).toBe(409);
    expect((await post('/v1/experiments/life/start')).json()).toMatchObject({ status: 'running', phase: 1 });
    const patch = (payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: '/v1/experiments/life', headers: t.adminAuth, payload });
    const silent = await patch({ weights: [0.3, 0.7] });
    expect(silent.statusCode).toBe(400);
    expect(silent.json().error.details.problems[0].path).toBe('reason');
    expect((await patch({ weights: [0.3, 0.7], reason: 'ramp down the treatment' })).json()).toMatchObject({ phase: 2, variants: [{ weight: 0.3 }, { weight: 0.7 }] });
    const show = (await t.app.inject({ method: 'GET', url: '/v1/experiments/life', headers: t.adminAuth })).json();
    expect(show.phases.map((p: { phase: number; endedAt: number | null }) => [p.phase, p.endedAt === null])).toEqual([[1, false], [2, true]]);
    expect((await post('/v1/experiments/life/stop', { reason: 'done' })).json()).toMatchObject({ status: 'stopped', statusReason: 'done' });
    const audit = await t.services.audit.list({ objectType: 'experiment', objectId: 'life', limit: 50 });
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['experiment.created', 'experiment.started', 'experiment.new_phase', 'experiment.stopped']));
  });

  it('assigns as GrowthBook does and keeps each unit\'s first exposure', async () => {
    expect((await post('/v1/experiments', { key: 'assign-me', hypothesis: 'h', unitType: 'user', variants: [{ key: 'a', weight: 0.2 }, { key: 'b', weight: 0.8 }], coverage: 0.5, primaryMetric: 'clicks' })).statusCode).toBe(201);
    await post('/v1/experiments/assign-me/start');
    const c = compileExperiment({ key: 'assign-me', seed: 'assign-me', hashVersion: 2, variants: [{ weight: 0.2 }, { weight: 0.8 }], coverage: 0.5, status: 'running' });
    let inside = 0;
    for (let i = 0; i < 60; i++) {
      const a = (await post('/v1/experiments/assign-me/assign', { unitId: `u${i}` })).json();
      const expected = assign(c, { id: `u${i}` });
      expect([a.inExperiment, a.variationIndex]).toEqual([expected.inExperiment, expected.variationIndex]);
      if (a.inExperiment) inside++;
    }
    await post('/v1/experiments/assign-me/assign', { unitId: 'u0' }); // again: the first exposure stays
    await settleExposures('assign-me', inside);
  });

  it('analyses from sums taken in SQL that equal the facts counted by hand', async () => {
    expect((await post('/v1/experiments', { key: 'ctr-lift', hypothesis: 'h', unitType: 'user', variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'ctr', secondaryMetrics: ['clicks', 'click_rate'] })).statusCode).toBe(201);
    await post('/v1/experiments/ctr-lift/start');
    const r = uniform('ctr-lift');
    const users = Array.from({ length: 400 }, (_, i) => `cu${i}`);
    const variantOf = new Map<string, string>();
    for (const u of users) variantOf.set(u, (await post('/v1/experiments/ctr-lift/assign', { unitId: u })).json().variant);
    await settleExposures('ctr-lift', users.length);
    const exposed = Math.max(...(await raw().selectFrom('experiment_exposure').select('exposed_at').where('experiment', '=', 'ctr-lift').execute()).map((x) => Number(x.exposed_at)));
    const hand = { control: { imp: 0, clk: 0, users: 0 }, treatment: { imp: 0, clk: 0, users: 0 } } as Record<string, { imp: number; clk: number; users: number }>;
    for (const u of users) {
      const v = variantOf.get(u)!;
      const imp = 5 + Math.floor(r() * 10);
      let clk = 0;
      for (let i = 0; i < imp; i++) if (r() < (v === 'treatment' ? 0.2 : 0.1)) clk++;
      await adFacts(u, exposed + MINUTE, imp, clk);
      await adFacts(u, exposed - 60 * MINUTE, 3, 0); // before exposure: not counted
      hand[v]!.imp += imp; hand[v]!.clk += clk; hand[v]!.users += clk > 0 ? 1 : 0;
    }
    const res = await post(`/v1/experiments/ctr-lift/analyze?to=${exposed + 60 * MINUTE}&act=false`);
    expect(res.statusCode).toBe(200);
    const report = res.json<ExperimentReport>();
    expect(report.trustworthy).toBe(true);
    const ctr = report.metrics.find((m) => m.metric === 'ctr')!.analysis!;
    for (const v of ctr.variants) expect(v.mean).toBeCloseTo(hand[v.name]!.clk / hand[v.name]!.imp, 12);
    expect(ctr.comparisons[0]!.fixed.relative!.estimate).toBeGreaterThan(0.3);
    expect(ctr.comparisons[0]!.significant).toBe(true);
    const rate = report.metrics.find((m) => m.metric === 'click_rate')!.analysis!;
    for (const v of rate.variants) expect(v.mean).toBeCloseTo(hand[v.name]!.users / v.n, 12);
    expect(report.metrics.find((m) => m.metric === 'clicks')!.adjustedAcrossMetrics).toBeDefined();
    const stored = (await t.app.inject({ method: 'GET', url: '/v1/experiments/ctr-lift/results', headers: t.adminAuth })).json().results;
    expect(stored.analyzedAt).toBe(report.analyzedAt);
  });

  it('rolls an experiment back on a sample-ratio mismatch', async () => {
    await post('/v1/experiments', { key: 'skewed', hypothesis: 'h', unitType: 'user', variants: [{ key: 'control' }, { key: 'treatment' }], primaryMetric: 'clicks' });
    await post('/v1/experiments/skewed/start');
    const at = Date.now();
    const rows = Array.from({ length: 1000 }, (_, i) => ({ experiment: 'skewed', unit_id: `s${i}`, phase: 1, variant: i < 600 ? 0 : 1, exposed_at: at }));
    await raw().insertInto('experiment_exposure').values(rows).execute();
    const res = await post('/v1/experiments/skewed/analyze');
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json<ExperimentReport>();
    expect(report.srm!.mismatch).toBe(true);
    expect(report.trustworthy).toBe(false);
    expect(report.action).toMatchObject({ rolledBack: true, reason: expect.stringMatching(/sample-ratio mismatch/) });
    expect((await t.services.experiments.get('skewed')).status).toBe('rolled_back');
  });

  it('rolls a model experiment back when a guardrail breaks, and scoring then serves control', async () => {
    const r = t.services.registry;
    await point(r, 'ads-ctr', 'champion', await registerModel(r, 'ads-ctr', logisticOver(adsEncoding(), 'exp-v1')));
    await point(r, 'ads-ctr', 'challenger', await registerModel(r, 'ads-ctr', logisticOver(adsEncoding(), 'exp-v2')));
    await t.services.scoring.store.refresh();
    expect((await post('/v1/experiments', {
      key: 'ctr-v2', hypothesis: 'v2 ranks ads better', unitType: 'user', model: 'ads-ctr',
      variants: [{ key: 'control', payload: { alias: 'champion' } }, { key: 'v2', payload: { alias: 'challenger' } }],
      primaryMetric: 'ctr', guardrails: [{ metric: 'clicks', maxDegradation: 0.05 }],
    })).statusCode).toBe(201);
    await post('/v1/experiments/ctr-v2/start');
    const score = (user: string) => post('/v1/ads/score', { placementId: ad.placement_id, userId: user, creatives: [ad.creative_id] });
    const users = Array.from({ length: 300 }, (_, i) => `g${i}`);
    const served = new Map<string, { variant: string | null; version: number }>();
    // The challenger loads on first demand: score until every unit is served its variant.
    await vi.waitFor(async () => {
      for (const u of users) { const b = (await score(u)).json(); served.set(u, { variant: b.variant, version: b.version }); }
      expect([...served.values()].every((s) => s.variant !== null)).toBe(true);
    }, { timeout: 10_000, interval: 100 });
    for (const s of served.values()) expect(s.version).toBe(s.variant === 'v2' ? 2 : 1);
    await settleExposures('ctr-v2', users.length);
    const exposed = Math.max(...(await raw().selectFrom('experiment_exposure').select('exposed_at').where('experiment', '=', 'ctr-v2').execute()).map((x) => Number(x.exposed_at)));
    // The challenger's users click far less: the clicks guardrail (≤ 5 % worse) breaks.
    const rng = uniform('guardrail');
    for (const u of users) await adFacts(u, exposed + MINUTE, 10, served.get(u)!.variant === 'v2' ? (rng() < 0.2 ? 1 : 0) : 3 + Math.floor(rng() * 3));
    const report = (await post(`/v1/experiments/ctr-v2/analyze?to=${exposed + 60 * MINUTE}`)).json<ExperimentReport>();
    expect(report.guardrails[0]).toMatchObject({ metric: 'clicks', variant: 'v2', breached: true });
    expect(report.action.rolledBack).toBe(true);
    expect((await t.services.experiments.get('ctr-v2')).status).toBe('rolled_back');
    const v2user = users.find((u) => served.get(u)!.variant === 'v2')!;
    await vi.waitFor(async () => expect((await score(v2user)).json()).toMatchObject({ variant: null, version: 1 }), { timeout: 5_000, interval: 100 });
  }, 60_000);
});
