// Redis going away under the online store: a feature read answers a structured 503 naming Redis
// (never a 500), and reads work again by themselves once Redis is back.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { privateRedis, type PrivateRedis } from '../../helpers/redis-server.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';

describe('online feature reads while Redis is down', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let redis: PrivateRedis;
  let t: TestApp;
  const read = () => t.app.inject({ method: 'GET', url: '/v1/features/online/provider_profile?key=p1', headers: t.adminAuth });

  beforeAll(async () => {
    redis = await privateRedis();
    t = await startTestApp({ ...env.config({ 'rateLimit.enabled': false }), redis: { url: redis.url, prefix: env.redisPrefix } });
    await t.services.online.write([{ featureSet: 'provider_profile', version: 1, entityKey: 'p1', eventAt: Date.now(), values: { provider_id: 'p1' } }]);
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  it('answers 503 naming redis, then recovers', async () => {
    expect((await read()).json().entities[0]).toMatchObject({ found: true, values: { provider_id: 'p1' } });
    await redis.stop();
    const down = await read();
    expect(down.statusCode).toBe(503);
    expect(down.json().error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'redis' } });
    await redis.start(); // an empty Redis (it keeps nothing on disk): the entity is simply not found
    await vi.waitFor(async () => {
      const up = await read();
      expect(up.statusCode).toBe(200);
      expect(up.json().entities[0]).toMatchObject({ found: false });
    }, { timeout: 20_000, interval: 200 });
  }, 60_000);
});
