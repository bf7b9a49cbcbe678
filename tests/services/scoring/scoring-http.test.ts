// The scoring service over HTTP, on both dialects (MySQL with Redis for the online store and the
// queue): readiness waits for the models, ranking and scoring from the online store with exact
// explanations, missing and expired features reported, the pre-filter, inline pairs, ads CTRs,
// the prediction log and GET /v1/predictions/{id}, and the Open Inference Protocol surface.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeValues } from '../../../model-registry/training/encode-table.js';
import type { PipelineRun } from '../../../pipelines/features/batch/feature-pipeline.service.js';
import { featureSet } from '../../../pipelines/features/definitions/catalog.js';
import { seedMarketplace } from '../../../pipelines/synthetic/seed-marketplace.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';
import { adsEncoding, logisticOver, matchingEncoding, point, registerModel } from './scoring-fixtures.js';

type Result = { id: string; score: number; rank: number | null; explanation?: { base: number; logit: number; score: number; method: string; contributions: { feature: string; phi: number; reason: string }[] }; features?: { missing: string[]; expired: string[] } };

describe.each(['sqlite', 'mysql'] as const)('scoring service (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let scorer: { authorization: string };
  const matching = logisticOver(matchingEncoding(), 'scoring-http-matching');
  const ads = logisticOver(adsEncoding(), 'scoring-http-ads');
  let jobs: { id: string; required: string[] }[] = [];
  let providers: string[] = [];

  const settle = (runs: PipelineRun[]) => vi.waitFor(async () => {
    for (const r of runs) expect((await t.services.featurePipeline.get(r.id)).status).toBe('succeeded');
  }, { timeout: 60_000, interval: 100 });
  const post = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: scorer, payload });

  beforeAll(async () => {
    t = await startTestApp(env.config({
      'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'scoring.models': ['matching-ranker', 'ads-ctr'],
      'scoring.pollMs': 100, 'scoring.explainTopK': 100, 'registry.gatedAliases': [],
    }, { redis: dialect === 'mysql' }));
    await seedMarketplace(env.db.db, { providers: 200, jobs: 60, days: 8, seed: `scoring-${dialect}`, events: 6_000 });
    await t.platform.queue.startWorkers();
    await settle([await t.services.featurePipeline.start({ trigger: 'cli', requestedBy: 'test', full: true })]);
    const key = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'scorer', scopes: ['score'] } });
    scorer = { authorization: `Bearer ${key.json<{ key: string }>().key}` };
    // Jobs with required skills, from the online store itself.
    const db = env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const js = await db.selectFrom('job_skill').select(['job_id', 'skill_id']).where('required', '=', 1 as never).orderBy('job_id').execute();
    const byJob = new Map<string, string[]>();
    for (const r of js) byJob.set(String(r.job_id), [...(byJob.get(String(r.job_id)) ?? []), String(r.skill_id)]);
    jobs = [...byJob].slice(0, 5).map(([id, required]) => ({ id, required }));
    providers = (await db.selectFrom('provider').select('id').orderBy('id').limit(40).execute()).map((r) => String(r.id));
  }, 180_000);
  afterAll(async () => { await t?.close(); });

  it('is not ready until every configured model is loaded, then serves the champion', async () => {
    const before = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json().checks.models.error).toMatch(/matching-ranker@champion/);
    expect((await post('/v1/match/rank', { job: { id: jobs[0]!.id }, candidates: providers.slice(0, 3) })).json().error.code).toBe('model_unavailable');
    await point(t.services.registry, 'matching-ranker', 'champion', await registerModel(t.services.registry, 'matching-ranker', matching));
    await point(t.services.registry, 'ads-ctr', 'champion', await registerModel(t.services.registry, 'ads-ctr', ads));
    await vi.waitFor(async () => expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200), { timeout: 5_000, interval: 50 });
    expect((await t.app.inject({ method: 'GET', url: '/v2/health/ready' })).json()).toEqual({ ready: true });
  });

  it('ranks given candidates with scores equal to the model on the stored features, and exact explanations', async () => {
    const job = jobs[0]!;
    const res = await post('/v1/match/rank', { job: { id: job.id }, candidates: providers.slice(0, 30), k: 10, explain: true });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ model: string; version: number; route: string; predictionId: string; results: Result[]; candidates: { considered: number } }>();
    expect(body).toMatchObject({ model: 'matching-ranker', version: 1, route: 'serve', candidates: { considered: 30 } });
    expect(body.predictionId).toMatch(/^pr_/);
    expect(body.results).toHaveLength(10);
    for (let i = 1; i < body.results.length; i++) expect(body.results[i - 1]!.score).toBeGreaterThanOrEqual(body.results[i]!.score);
    expect(body.results.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const r of body.results) {
      const e = r.explanation!;
      expect(e.method).toBe('shap-linear');
      // Every feature listed (top K = 100): base + Σφ is the logit, and the logit gives the score.
      expect(Math.abs(e.base + e.contributions.reduce((s, c) => s + c.phi, 0) - e.logit)).toBeLessThan(1e-9);
      expect(Math.abs(1 / (1 + Math.exp(-e.logit)) - r.score)).toBeLessThan(1e-12);
      expect(e.contributions.find((c) => c.feature === 'match_pair__required_skill_coverage')?.reason ?? 'of').toMatch(/of|requires no/);
    }
    // Scores recomputed here from the same raw values the model saw (the logged features).
    await t.services.scoring.predictionLog.flush();
    const logged = await vi.waitFor(async () => {
      const g = await t.app.inject({ method: 'GET', url: `/v1/predictions/${body.predictionId}`, headers: scorer });
      expect(g.statusCode).toBe(200);
      return g.json<{ features: Record<string, Record<string, unknown>>; explanations: Record<string, unknown>; candidates: { id: string; score: number; rank: number }[]; contextId: string; version: number; featuresHash: string }>();
    }, { timeout: 5_000, interval: 50 });
    expect(logged).toMatchObject({ contextId: job.id, version: 1 });
    expect(logged.featuresHash).toMatch(/^[0-9a-f]{64}$/);
    expect(logged.candidates).toHaveLength(30);
    for (const r of body.results) {
      const x = encodeValues(matching.encoding, logged.features[r.id]!);
      let z = matching.intercept;
      for (let j = 0; j < x.length; j++) z += matching.coef[j]! * (x[j]! - matching.means[j]!) / matching.stds[j]!;
      expect(Math.abs(1 / (1 + Math.exp(-z)) - r.score)).toBeLessThan(1e-12);
      expect(logged.explanations[r.id]).toBeDefined();
    }
  });

  it('reports a candidate the store knows nothing of, and a feature past its TTL, instead of zeroing them', async () => {
    const fresh = providers[0]!;
    // provider_activity.hours_since_active has a TTL: a row written long ago is expired now.
    const activity = featureSet('provider_activity');
    const old = Date.now() - 400 * 86_400_000;
    await t.services.online.write([{ featureSet: activity.name, version: activity.version, entityKey: 'p_ghost_expired', eventAt: old, values: { hires_30d: 3, proposals_24h: 1, proposals_7d: 2, last_active_at: old, hours_since_active: 1 } }]);
    const res = await post('/v1/match/rank', { job: { id: jobs[0]!.id }, candidates: [fresh, 'p_nobody', 'p_ghost_expired'], k: 3 });
    expect(res.statusCode).toBe(200);
    const results = res.json<{ results: Result[] }>().results;
    const nobody = results.find((r) => r.id === 'p_nobody')!;
    expect(nobody.features!.missing).toEqual(expect.arrayContaining(['provider_profile__smoothed_rating', 'match_pair__price_fit', 'provider_activity__hires_30d']));
    expect(Number.isFinite(nobody.score)).toBe(true);
    const ghost = results.find((r) => r.id === 'p_ghost_expired')!;
    expect(ghost.features!.expired).toEqual(['provider_activity__hires_30d']);
  });

  it('finds candidates itself: providers with the job\'s required skills, active lately', async () => {
    const job = jobs[1]!;
    const res = await post('/v1/match/rank', { job: { id: job.id }, k: 5, activeWithinDays: 3650 });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ candidates: { considered: number; source: string }; results: Result[] }>();
    expect(body.candidates.source).toBe('prefilter');
    expect(body.candidates.considered).toBeGreaterThan(0);
    const db = env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    for (const r of body.results) {
      const skills = (await db.selectFrom('provider_skill').select('skill_id').where('provider_id', '=', r.id).execute()).map((s) => String(s.skill_id));
      expect(skills.some((s) => job.required.includes(s))).toBe(true);
    }
  });

  it('takes inline job fields, refuses bad ones by name, and 404s a job it cannot see', async () => {
    const inline = await post('/v1/match/rank', { job: { required_skill_ids: jobs[2]!.required, hourly_budget_min_minor: 2000, hourly_budget_max_minor: 5000, currency: 'USD' }, candidates: providers.slice(0, 5), k: 5 });
    expect(inline.statusCode).toBe(200);
    expect(inline.json<{ job: { id: string | null } }>().job.id).toBeNull();
    const bad = await post('/v1/match/rank', { job: { required_skill_ids: 'python', budget: 3 }, candidates: providers.slice(0, 2) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.problems.map((d: { path: string }) => d.path).sort()).toEqual(['job/budget', 'job/required_skill_ids']);
    const unknown = await post('/v1/match/rank', { job: { id: 'j_does_not_exist' }, candidates: providers.slice(0, 2) });
    expect(unknown.statusCode).toBe(404);
  });

  it('scores pairs: stored or as inline model columns, the same pair the same score', async () => {
    const job = jobs[0]!;
    const stored = await post('/v1/match/score', { pairs: [{ job: { id: job.id }, providerId: providers[3] }], explain: true });
    expect(stored.statusCode).toBe(200);
    const s = stored.json<{ results: Result[]; predictionId: string }>();
    await t.services.scoring.predictionLog.flush();
    const logged = await vi.waitFor(async () => {
      const g = await t.app.inject({ method: 'GET', url: `/v1/predictions/${s.predictionId}`, headers: scorer });
      expect(g.statusCode).toBe(200);
      return g.json<{ features: Record<string, Record<string, unknown>> }>();
    }, { timeout: 5_000, interval: 50 });
    const features = logged.features[providers[3]!]!;
    const inline = await post('/v1/match/score', { pairs: [{ features }] });
    expect(inline.json<{ results: Result[] }>().results[0]!.score).toBe(s.results[0]!.score);
    const unknown = await post('/v1/match/score', { pairs: [{ features: { not_a_column: 1 } }] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details.problems[0].path).toBe('pairs/0/features/not_a_column');
  });

  it('predicts ad CTRs for creatives in a placement, and refuses unknown creatives', async () => {
    const db = env.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const creatives = (await db.selectFrom('creative').select('id').orderBy('id').limit(4).execute()).map((r) => String(r.id));
    const placement = String((await db.selectFrom('placement').select('id').orderBy('id').executeTakeFirstOrThrow()).id);
    const res = await post('/v1/ads/score', { placementId: placement, device: 'mobile', creatives, explain: true });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ model: string; results: { creativeId: string; ctr: number; rank: number; explanation: Result['explanation'] }[] }>();
    expect(body.model).toBe('ads-ctr');
    expect(body.results.map((r) => r.creativeId)).toEqual(creatives);
    expect(body.results.map((r) => r.rank).sort()).toEqual([1, 2, 3, 4].slice(0, creatives.length));
    for (const r of body.results) expect(Math.abs(r.explanation!.base + r.explanation!.contributions.reduce((a, c) => a + c.phi, 0) - r.explanation!.logit)).toBeLessThan(1e-9);
    const bad = await post('/v1/ads/score', { placementId: placement, creatives: ['cr_nope'] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.problems[0]).toMatchObject({ path: 'creatives/0' });
  });

  it('speaks the Open Inference Protocol: metadata, readiness and infer equal to the kernel', async () => {
    const meta = await t.app.inject({ method: 'GET', url: '/v2/models/matching-ranker', headers: scorer });
    expect(meta.statusCode).toBe(200);
    const m = meta.json<{ inputs: { shape: number[] }[]; versions: string[] }>();
    expect(m.versions).toEqual(['1']);
    const d = m.inputs[0]!.shape[1]!;
    expect(d).toBe(matching.featureNames.length);
    const rows = [Array.from({ length: d }, (_, j) => matching.means[j]!), Array.from({ length: d }, (_, j) => matching.means[j]! + matching.stds[j]!)];
    const res = await post('/v2/models/matching-ranker/versions/1/infer', { inputs: [{ name: 'input', shape: [2, d], datatype: 'FP64', data: rows }] });
    expect(res.statusCode).toBe(200);
    const out = res.json<{ outputs: { data: number[]; shape: number[] }[]; model_version: string }>();
    expect(out.model_version).toBe('1');
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    expect(out.outputs[0]!.data[0]).toBeCloseTo(sig(matching.intercept), 12);
    expect(out.outputs[0]!.data[1]).toBeCloseTo(sig(matching.intercept + matching.coef.reduce((a, b) => a + b, 0)), 12);
    expect((await post('/v2/models/matching-ranker/infer', { inputs: [{ name: 'input', shape: [1, d], datatype: 'FP64', data: [1, 2] }] })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/v2/models/nope/ready', headers: scorer })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v2/models/matching-ranker/versions/7/ready', headers: scorer })).statusCode).toBe(404);
  });

  it('needs the score scope', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'reader', scopes: ['features:read'] } });
    const res = await t.app.inject({ method: 'POST', url: '/v1/match/score', headers: { authorization: `Bearer ${key.json<{ key: string }>().key}` }, payload: { pairs: [{ features: {} }] } });
    expect(res.statusCode).toBe(403);
  });
});
