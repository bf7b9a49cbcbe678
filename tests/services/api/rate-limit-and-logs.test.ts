// Rate limits shared through Redis by every replica, and request ids on every log line.
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../platform/logging/logger.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';

describe('replicas behind one Redis', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  const lines: Record<string, unknown>[] = [];
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    const config = env.config({ 'rateLimit.max': 6, 'rateLimit.windowMs': 60_000 }, { redis: true });
    a = await startTestApp(config, {
      logger: createLogger({ level: 'info', destination: out }),
      configure: (app) => {
        app.get('/deep', async (req) => {
          req.log.info({ step: 'inside the handler' }, 'working');
          return { ok: true };
        });
      },
    });
    b = await startTestApp(config);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('counts one key across replicas', async () => {
    const get = (t: TestApp) => t.app.inject({ method: 'GET', url: '/v1/admin/audit?limit=1', headers: t.adminAuth }).then((r) => r.statusCode);
    const statuses = [await get(a), await get(b), await get(a), await get(b), await get(a), await get(b), await get(a), await get(b)];
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(statuses.slice(6)).toEqual([429, 429]);
  });

  it('puts the request id on every log line the request writes', async () => {
    const res = await a.app.inject({ method: 'GET', url: '/deep', headers: { 'x-request-id': 'req-for-logs-1' } });
    expect(res.statusCode).toBe(200);
    const mine = lines.filter((l) => l.correlationId === 'req-for-logs-1');
    expect(mine.map((l) => l.msg)).toEqual(['working', 'request']);
    expect(mine[1]).toMatchObject({ method: 'GET', url: '/deep', statusCode: 200 });
    expect(lines.filter((l) => l.msg === 'working').every((l) => l.correlationId === 'req-for-logs-1')).toBe(true);
  });
});
