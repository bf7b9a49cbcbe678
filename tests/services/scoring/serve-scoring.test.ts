// `gigintel serve scoring` as its own stateless process beside another one that owns the
// registry: ready once its model is loaded, scores, mounts nothing but scoring and the probes,
// follows an alias move made elsewhere, and stops on SIGTERM.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bannerUrl } from '../../helpers/banner-url.js';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';
import { logisticOver, matchingEncoding, point, registerModel } from './scoring-fixtures.js';

const BIN = new URL('../../../bin/gigintel.js', import.meta.url).pathname;
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));

describe('gigintel serve scoring', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  const enc = matchingEncoding();

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'registry.gatedAliases': [] }));
    await point(t.services.registry, 'matching-ranker', 'champion', await registerModel(t.services.registry, 'matching-ranker', logisticOver(enc, 'serve-v1')));
  });
  afterAll(async () => { await t?.close(); });

  it('serves the champion from its own process and follows a move made by another', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', 'scoring'], {
      env: {
        ...baseEnv, GIGINTEL_DATABASE_URL: env.databaseUrl, GIGINTEL_PORT: '0', GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_ADMIN_KEY: TEST_ADMIN_KEY,
        GIGINTEL_SCORING_MODELS: 'matching-ranker', GIGINTEL_SCORING_POLL_MS: '200', GIGINTEL_FEATURE_DEMO_SEED: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await bannerUrl(child, /API:\s+(http:\/\/\S+)/);
      await vi.waitFor(async () => expect((await fetch(`${url}/readyz`)).status).toBe(200), { timeout: 10_000, interval: 100 });
      const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' };
      const score = async () => (await fetch(`${url}/v1/match/score`, { method: 'POST', headers: auth, body: JSON.stringify({ pairs: [{ features: { match_pair__price_fit: 1 } }] }) })).json() as Promise<{ version: number }>;
      expect((await score()).version).toBe(1);
      expect((await fetch(`${url}/v1/admin/keys`, { headers: auth })).status).toBe(404); // scoring mode: no admin API
      await point(t.services.registry, 'matching-ranker', 'champion', await registerModel(t.services.registry, 'matching-ranker', logisticOver(enc, 'serve-v2')));
      await vi.waitFor(async () => expect((await score()).version).toBe(2), { timeout: 10_000, interval: 100 });
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 60_000);
});
