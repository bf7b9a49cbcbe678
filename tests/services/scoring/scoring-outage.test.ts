// Scoring while Redis (online store and queue) is away: a ranking that needs stored features is a
// structured 503 naming Redis; scoring inline features goes on (the model is in memory), and the
// predictions it served are logged once Redis is back — none is lost.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { privateRedis, type PrivateRedis } from '../../helpers/redis-server.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';
import { logisticOver, matchingEncoding, point, registerModel } from './scoring-fixtures.js';

const CACHE_MS = 1_000;

describe('scoring while Redis is down', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let redis: PrivateRedis;
  let t: TestApp;
  const post = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload });

  beforeAll(async () => {
    redis = await privateRedis();
    t = await startTestApp({
      ...env.config({ 'rateLimit.enabled': false, 'scoring.models': ['matching-ranker'], 'registry.gatedAliases': [], 'scoring.pollMs': 200, 'scoring.entityCacheMs': CACHE_MS }),
      redis: { url: redis.url, prefix: env.redisPrefix },
    });
    await point(t.services.registry, 'matching-ranker', 'champion', await registerModel(t.services.registry, 'matching-ranker', logisticOver(matchingEncoding(), 'outage')));
    await t.services.scoring.store.refresh();
    await t.services.online.write([{ featureSet: 'job_profile', version: 1, entityKey: 'j1', eventAt: Date.now(), values: { required_skill_ids: ['sk_a'], currency: 'USD' } }]);
    await t.platform.queue.startWorkers();
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('answers 503 naming redis for stored features, keeps scoring inline ones, and logs them after', async () => {
    expect((await post('/v1/match/rank', { job: { id: 'j1' }, candidates: ['p1'] })).statusCode).toBe(200);
    await redis.stop();
    // Features read within the entity cache's window may still serve from memory: wait it out.
    await new Promise((r) => setTimeout(r, CACHE_MS + 100));
    const down = await post('/v1/match/rank', { job: { id: 'j1' }, candidates: ['p1'] });
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'redis' } });
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/match/score', { pairs: [{ features: { match_pair__price_fit: i / 5 } }] });
      expect(res.statusCode).toBe(200);
      served.push(res.json<{ predictionId: string }>().predictionId);
    }
    await redis.start();
    await vi.waitFor(async () => {
      await t.services.scoring.predictionLog.flush();
      const rows = await env.db.db.selectFrom('prediction_log').select('id').where('id', 'in', served).execute();
      expect(rows.map((r) => r.id).sort()).toEqual([...served].sort());
    }, { timeout: 30_000, interval: 250 });
    expect((await post('/v1/match/rank', { job: { id: 'j1' }, candidates: ['p1'] })).statusCode).toBe(404); // Redis came back empty
  }, 90_000);
});
