// Graceful shutdown: a request in flight when SIGTERM's stop begins still completes (and can
// still use the database, which closes after HTTP), new connections are refused, stop is idempotent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';

describe('graceful shutdown', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  let entered: () => void;
  const inHandler = new Promise<void>((r) => { entered = r; });

  beforeAll(async () => {
    t = await startTestApp(env.config(), {
      configure: (app) => {
        app.get('/slow', async () => {
          entered();
          await new Promise((r) => setTimeout(r, 600));
          const { rows } = await sql<{ one: number }>`select 1 as one`.execute(t.platform.db.db);
          return { done: true, one: rows[0]?.one };
        });
      },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => { await t?.close(); });

  it('finishes the in-flight request, then refuses new ones', async () => {
    const { port } = t.app.server.address() as { port: number };
    const inflight = fetch(`http://127.0.0.1:${port}/slow`);
    await inHandler;
    const stopped = t.close();
    const again = t.close(); // a second signal gets the same stop

    const res = await inflight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true, one: 1 });
    await stopped;
    await again;
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    expect(t.platform.lifecycle.stopping).toBe(true);
  });
});
