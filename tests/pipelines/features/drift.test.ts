// Drift end to end on both dialects: a seeded marketplace, a daily backfill, a matching training
// snapshot; drift against the served values is computed, stored, served over HTTP and exported
// as a gauge; shifting every provider's rating makes exactly that feature drift. Also the feature
// read endpoints (sets, online values).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildDataset } from '../../../pipelines/datasets/build-dataset.js';
import type { PipelineRun } from '../../../pipelines/features/batch/feature-pipeline.service.js';
import type { DriftReport } from '../../../pipelines/features/drift/drift.service.js';
import { SYNTHETIC_END } from '../../../pipelines/synthetic/generate-marketplace.js';
import { seedMarketplace } from '../../../pipelines/synthetic/seed-marketplace.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../../helpers/test-env.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('feature drift and feature reads on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  const dataDir = mkdtempSync(join(tmpdir(), 'gigintel-drift-'));
  let t: TestApp;
  let reader: { authorization: string };

  const settle = (runs: PipelineRun[]) => vi.waitFor(async () => {
    for (const r of runs) expect((await t.services.featurePipeline.get(r.id)).status).toBe('succeeded');
  }, { timeout: 60_000, interval: 100 });

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'data.dir': dataDir }));
    await seedMarketplace(env.db.db, { providers: 300, jobs: 120, days: 12, seed: 'drift', events: 12_000 });
    await t.platform.queue.startWorkers();
    await settle(await t.services.featurePipeline.backfill({ trigger: 'cli', requestedBy: 'test', from: SYNTHETIC_END - 12 * DAY, to: SYNTHETIC_END, everyMs: 2 * DAY, reconstruct: true, sets: ['provider_profile', 'job_profile', 'skill_idf', 'provider_activity'] }));
    await buildDataset({ db: env.db.db, dataDir }, { kind: 'matching', from: SYNTHETIC_END - 10 * DAY, to: SYNTHETIC_END });
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'reader', scopes: ['features:read'] } });
    reader = { authorization: `Bearer ${res.json<{ key: string }>().key}` };
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const rating = (r: DriftReport) => r.features.find((f) => f.featureSet === 'provider_profile' && f.feature === 'smoothed_rating')!;

  it('serves no report before drift was computed, then the computed one', async () => {
    const empty = await t.app.inject({ method: 'GET', url: '/v1/features/drift', headers: reader });
    expect(empty.json()).toMatchObject({ computedAt: 0, features: [] });
    expect((await t.app.inject({ method: 'POST', url: '/v1/features/drift', headers: reader, payload: {} })).statusCode).toBe(403);
    const computed = await t.app.inject({ method: 'POST', url: '/v1/features/drift', headers: t.adminAuth, payload: {} });
    expect(computed.statusCode).toBe(200);
    const report = computed.json<DriftReport>();
    expect(report.datasets).toHaveLength(1);
    expect(report.features.map((f) => f.featureSet)).toEqual(expect.arrayContaining(['provider_profile', 'job_profile', 'provider_activity']));
    expect(report.features.some((f) => f.featureSet === 'match_pair')).toBe(false); // request-time: nothing stored to compare
    expect(report.features.some((f) => /_id$|_ids$|_at$/.test(f.feature))).toBe(false);
    expect(rating(report).referenceRows).toBeGreaterThan(100);
    expect(rating(report).currentRows).toBe(300);
    const served = await t.app.inject({ method: 'GET', url: '/v1/features/drift', headers: reader });
    expect(served.json<DriftReport>()).toEqual(report);
  }, 60_000);

  it('finds the drift when every provider\'s rating moves, and exports it as a gauge', async () => {
    const before = rating((await t.services.drift.latest())!).psi!;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await (env.db.db as unknown as Kysely<any>).updateTable('provider').set({ rating: 1.2, review_count: 40, updated_at: Date.now() - 1 }).execute();
    await settle([await t.services.featurePipeline.start({ trigger: 'cli', requestedBy: 'test', sets: ['provider_profile'] })]);
    const after = await t.services.drift.compute();
    expect(rating(after).psi!).toBeGreaterThan(Math.max(0.25, before));
    expect(rating(after).status).toBe('drift');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: t.adminAuth });
    const line = metrics.body.split('\n').find((l) => l.startsWith('gigintel_feature_drift_psi{feature_set="provider_profile@v1",feature="smoothed_rating"}'));
    expect(Number(line?.split(' ').pop())).toBeCloseTo(rating(after).psi!, 6);
  }, 90_000);

  it('lists the feature sets and reads online values with their freshness', async () => {
    const sets = await t.app.inject({ method: 'GET', url: '/v1/features/sets', headers: reader });
    const body = sets.json<{ sets: { id: string; schemaHash: string }[] }>();
    expect(body.sets.map((s) => s.id)).toContain('provider_profile@v1');
    expect(body.sets.every((s) => /^[0-9a-f]{64}$/.test(s.schemaHash))).toBe(true);
    const online = await t.app.inject({ method: 'GET', url: '/v1/features/online/provider_profile?key=p_0000001&key=nobody', headers: reader });
    expect(online.statusCode).toBe(200);
    const [p1, nobody] = online.json<{ entities: { found: boolean; values: Record<string, unknown>; missing: string[] }[] }>().entities;
    expect(p1).toMatchObject({ found: true, values: { provider_id: 'p_0000001', smoothed_rating: expect.any(Number) } });
    expect(nobody).toMatchObject({ found: false, values: {} });
    expect(nobody!.missing).toContain('smoothed_rating');
    expect((await t.app.inject({ method: 'GET', url: '/v1/features/online/nope?key=a', headers: reader })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/v1/features/online/provider_profile', headers: reader })).statusCode).toBe(400);
  });
});
