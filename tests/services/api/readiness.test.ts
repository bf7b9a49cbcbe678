// /readyz and the API when MySQL or Redis goes away: a structured 503 naming the dependency,
// and recovery without a restart when it comes back. Real servers: a private redis-server that
// is killed and restarted, and MariaDB behind a proxy that cuts every connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { privateRedis, type PrivateRedis } from '../../helpers/redis-server.js';
import { createTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';
import { useTestEnv } from '../../helpers/test-env.js';

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

describe('readiness and recovery', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    redis = await privateRedis();
    const real = new URL(env.databaseUrl);
    proxy = await createTcpProxy({ host: real.hostname, port: Number(real.port || 3306) });
    real.port = String(proxy.port);
    t = await startTestApp(env.config({ 'database.url': real.toString(), 'redis.url': redis.url }));
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await redis?.stop();
  });

  const ready = () => t.app.inject({ method: 'GET', url: '/readyz' });
  const keys = () => t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: t.adminAuth });

  it('is ready when everything is up', async () => {
    const res = await ready();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', failing: [], checks: { database: { ok: true }, redis: { ok: true }, migrations: { ok: true, pending: 0 }, queue: { ok: true, kind: 'bullmq' } } });
  });

  it('names Redis when it is down and recovers when it returns', async () => {
    await redis.stop();
    const down = await eventually(ready, (r) => r.statusCode === 503);
    expect(down.statusCode).toBe(503);
    expect(down.json().failing).toContain('redis');
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json().failing).not.toContain('database');
    expect(down.json().checks.redis.error).toBeTruthy();
    // Rate limiting lives in Redis; requests are still served while it is gone.
    expect((await keys()).statusCode).toBe(200);

    await redis.start();
    const up = await eventually(ready, (r) => r.statusCode === 200);
    expect(up.statusCode).toBe(200);
  });

  it('names the database when MySQL is down, answers API calls with a structured 503, and recovers', async () => {
    await proxy.stop();
    const down = await eventually(ready, (r) => r.statusCode === 503);
    expect(down.json().failing).toEqual(expect.arrayContaining(['database', 'migrations']));
    expect(down.json().failing).not.toContain('redis');

    const api = await keys();
    expect(api.statusCode).toBe(503);
    expect(api.json().error).toMatchObject({ code: 'service_unavailable', details: { dependency: 'database' }, requestId: api.headers['x-request-id'] });
    expect(api.headers['retry-after']).toBe('5');

    await proxy.start();
    const up = await eventually(ready, (r) => r.statusCode === 200);
    expect(up.statusCode).toBe(200);
    expect((await eventually(keys, (r) => r.statusCode === 200)).statusCode).toBe(200);
  });
});
