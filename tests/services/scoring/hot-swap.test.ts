// What serves, and when: an alias move is picked up while requests keep flowing (none fails, no
// worker sees the old version after the new one), a corrupted or invalid artifact is refused and
// the last good version keeps serving, a canary share is sticky per unit, and a shadow alias is
// scored and logged but never returned.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serialiseArtifact } from '../../../model-registry/artifact.js';
import { unitBucket } from '../../../services/scoring/scoring.service.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';
import { specOf } from '../../model-registry/registry-fixtures.js';
import { logisticOver, matchingEncoding, mlpOver, point, registerModel } from './scoring-fixtures.js';

const enc = matchingEncoding();
const features = { match_pair__required_skill_coverage: 0.5, match_pair__price_fit: 1, provider_profile__smoothed_rating: 4.7, provider_profile__country: 'IN' };

describe('hot swap', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  const score = () => t.app.inject({ method: 'POST', url: '/v1/match/score', headers: t.adminAuth, payload: { pairs: [{ features }] } });

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'scoring.models': ['matching-ranker'], 'scoring.pollMs': 100, 'registry.gatedAliases': [] }));
    await point(t.services.registry, 'matching-ranker', 'champion', await registerModel(t.services.registry, 'matching-ranker', logisticOver(enc, 'swap-v1')));
    await t.services.scoring.store.refresh();
  });
  afterAll(async () => { await t?.close(); });

  it('moves to a new version under concurrent load with no failed request and no going back', async () => {
    const v2 = await registerModel(t.services.registry, 'matching-ranker', mlpOver(enc, 'swap-v2'));
    let stop = false;
    const seen: { status: number; version: number }[][] = [];
    const worker = async (w: number) => {
      seen[w] = [];
      while (!stop) {
        const res = await score();
        seen[w]!.push({ status: res.statusCode, version: res.statusCode === 200 ? res.json<{ version: number }>().version : -1 });
        await new Promise((r) => setImmediate(r));
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await vi.waitFor(() => expect(seen.flat().length).toBeGreaterThan(200), { timeout: 10_000, interval: 20 });
    await point(t.services.registry, 'matching-ranker', 'champion', v2);
    await vi.waitFor(() => expect(seen.flat().filter((s) => s.version === v2).length).toBeGreaterThan(200), { timeout: 10_000, interval: 20 });
    stop = true;
    await Promise.all(workers);
    const all = seen.flat();
    expect(all.filter((s) => s.status !== 200)).toEqual([]);
    for (const w of seen) {
      const firstNew = w.findIndex((s) => s.version === v2);
      expect(w.slice(firstNew).every((s) => s.version === v2)).toBe(true);
    }
    expect(new Set(all.map((s) => s.version))).toEqual(new Set([1, v2]));
  });

  it('refuses a corrupted artifact and keeps serving the last good version', async () => {
    const serving = t.services.scoring.store.get('matching-ranker', 'champion')!.version;
    const v3 = await registerModel(t.services.registry, 'matching-ranker', logisticOver(enc, 'swap-v3'));
    // Flip one byte of the stored artifact: its sha256 no longer matches the recorded one.
    const row = await env.db.db.selectFrom('model_version').select('artifact').where('model', '=', 'matching-ranker').where('version', '=', v3).executeTakeFirstOrThrow();
    const bytes = Buffer.from(row.artifact!);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 1, bytes.length - 3);
    await env.db.db.updateTable('model_version').set({ artifact: bytes }).where('model', '=', 'matching-ranker').where('version', '=', v3).execute();
    await point(t.services.registry, 'matching-ranker', 'champion', v3);
    await vi.waitFor(() => expect(t.services.scoring.store.status()[0]!.lastError?.version).toBe(v3), { timeout: 5_000, interval: 20 });
    expect(t.services.scoring.store.status()[0]!.lastError!.message).toMatch(/sha256|corrupt/);
    const res = await score();
    expect(res.statusCode).toBe(200);
    expect(res.json<{ version: number }>().version).toBe(serving);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.models.models[0]).toMatchObject({ version: serving, error: expect.stringMatching(/corrupt/) });
  });

  it('refuses an artifact whose hash is right but whose model is invalid', async () => {
    const serving = t.services.scoring.store.get('matching-ranker', 'champion')!.version;
    const good = serialiseArtifact(logisticOver(enc, 'swap-v4'));
    // A model whose coefficients are one short: the hash is honest, the shape is not.
    const text = good.bytes.toString('utf8').replace(/"coef":\{"\$f64":"([A-Za-z0-9+/=]+)"\}/, (_m, b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      return `"coef":{"$f64":"${buf.subarray(8).toString('base64')}"}`;
    });
    const bytes = Buffer.from(text, 'utf8');
    const { createHash } = await import('node:crypto');
    await t.services.registry.createModel({ name: 'matching-ranker' }, { type: 'system', id: 'test' }, { ifMissing: true });
    const v = await t.services.registry.registerVersion('matching-ranker', await specOf(), { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), format: 'gigintel-model/1' }, { type: 'system', id: 'test' });
    await point(t.services.registry, 'matching-ranker', 'champion', v.version);
    await vi.waitFor(() => expect(t.services.scoring.store.status()[0]!.lastError?.version).toBe(v.version), { timeout: 5_000, interval: 20 });
    expect(t.services.scoring.store.status()[0]!.lastError!.message).toMatch(/coef/);
    expect((await score()).json<{ version: number }>().version).toBe(serving);
  });
});

describe('canary and shadow', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  const score = (unitId: string) => t.app.inject({ method: 'POST', url: '/v1/match/score', headers: t.adminAuth, payload: { pairs: [{ features }], unitId } });

  beforeAll(async () => {
    t = await startTestApp(env.config({
      'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'scoring.models': ['matching-ranker'], 'scoring.pollMs': 100, 'registry.gatedAliases': [],
      'scoring.canary': ['matching-ranker=challenger:0.3'], 'scoring.shadow': ['matching-ranker=shadow'],
    }));
    const r = t.services.registry;
    await point(r, 'matching-ranker', 'champion', await registerModel(r, 'matching-ranker', logisticOver(enc, 'canary-v1')));
    await point(r, 'matching-ranker', 'challenger', await registerModel(r, 'matching-ranker', logisticOver(enc, 'canary-v2')));
    await point(r, 'matching-ranker', 'shadow', await registerModel(r, 'matching-ranker', mlpOver(enc, 'canary-v3')));
    await t.services.scoring.store.refresh();
    await t.platform.queue.startWorkers();
  });
  afterAll(async () => { await t?.close(); });

  it('serves the canary alias to a sticky share of units', async () => {
    const units = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const routes = new Map<string, { route: string; version: number }>();
    for (const u of units) {
      const { route, version } = (await score(u)).json<{ route: string; version: number }>();
      routes.set(u, { route, version });
    }
    for (const u of units) {
      expect(routes.get(u)).toEqual(unitBucket('matching-ranker', u) < 0.3 ? { route: 'canary', version: 2 } : { route: 'serve', version: 1 });
      expect((await score(u)).json<{ route: string }>().route).toBe(routes.get(u)!.route); // sticky
    }
    const share = [...routes.values()].filter((r) => r.route === 'canary').length / units.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.45);
  });

  it('scores the shadow alias after the response and logs it beside the served prediction', async () => {
    const res = await score('u-shadow');
    const body = res.json<{ predictionId: string; version: number; results: { score: number }[] }>();
    expect(body.version).not.toBe(3);
    await vi.waitFor(async () => {
      await t.services.scoring.predictionLog.flush();
      const g = await t.app.inject({ method: 'GET', url: `/v1/predictions/${body.predictionId}`, headers: t.adminAuth });
      expect(g.statusCode).toBe(200);
      const p = g.json<{ version: number; candidates: { score: number }[]; shadow?: { version: number; alias: string; candidates: { score: number }[] } }>();
      expect(p.candidates[0]!.score).toBe(body.results[0]!.score);
      expect(p.shadow).toMatchObject({ version: 3, alias: 'shadow' });
      expect(p.shadow!.candidates[0]!.score).not.toBe(body.results[0]!.score);
    }, { timeout: 5_000, interval: 50 });
  });
});
