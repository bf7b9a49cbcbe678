// /v1/models over HTTP with real API keys and scopes on both dialects, and the webhooks: each
// registry event reaches a local receiver that verifies the signature, after a failed first try.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyWebhookSignature } from '../../model-registry/webhooks/webhook-signature.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';
import { artifactBytes, artifactOf, sha256, specOf } from './registry-fixtures.js';

const SECRET = 'whsec_test_0123456789';

describe.each(DIALECTS)('model registry API and webhooks on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  let receiver: Server;
  const received: { type: string; body: string; valid: boolean; event: { type: string; data: Record<string, unknown> } }[] = [];
  let failNext = 1;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        if (failNext > 0) { failNext--; res.writeHead(503).end(); return; }
        const valid = verifyWebhookSignature(SECRET, req.headers['x-gigintel-signature'] as string | undefined, body);
        received.push({ type: String(req.headers['x-gigintel-event']), body, valid, event: JSON.parse(body) });
        res.writeHead(valid ? 204 : 400).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    const config = env.config({
      'queue.backoffMs': 10, 'queue.pollIntervalMs': 20, 'registry.webhooks.urls': [url], 'registry.webhooks.secret': SECRET,
    });
    // The app's own services: the registry routes, and its workers deliver the webhooks.
    t = await startTestApp(config);
    await t.platform.queue.startWorkers();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => receiver?.close(r));
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  async function key(scopes: string[]) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: `k-${scopes.join('-')}`, scopes } });
    expect(res.statusCode).toBe(201);
    return bearer((res.json() as { key: string }).key);
  }
  async function register(headers: Record<string, string>, seed: number, o: Parameters<typeof specOf>[0] = {}) {
    const a = artifactOf(seed);
    const res = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/versions', headers,
      payload: { ...(await specOf(o)), artifact: { base64: a.bytes.toString('base64'), sha256: a.sha256, format: a.format } } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { version: number; status: string };
  }

  it('serves the registry with scopes: register, promote behind gates, force as admin, roll back, compare', async () => {
    const reader = await key(['registry:read']);
    const writer = await key(['registry:read', 'registry:write', 'registry:promote']);

    expect((await t.app.inject({ method: 'GET', url: '/v1/models' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/v1/models', headers: reader, payload: { name: 'matching-ranker' } })).statusCode).toBe(403);
    const created = await t.app.inject({ method: 'POST', url: '/v1/models', headers: writer, payload: { name: 'matching-ranker', description: 'ranks providers for a job', tags: { domain: 'matching' } } });
    expect(created.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: '/v1/models', headers: writer, payload: { name: 'matching-ranker' } })).json().error.code).toBe('conflict');

    expect((await register(writer, 1, { auc: 0.8 })).status).toBe('ready');
    expect((await register(writer, 2, { auc: 0.7 })).version).toBe(2);

    const bad = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/versions', headers: writer, payload: { algorithm: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('validation_failed');

    expect((await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: reader, payload: { version: 1 } })).statusCode).toBe(403);
    const first = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: writer, payload: { version: 1, reason: 'first model' } });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ kind: 'move', fromVersion: null, toVersion: 1, forced: false });

    const gated = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: writer, payload: { version: 2, expectedVersion: 1 } });
    expect(gated.statusCode).toBe(422);
    expect(gated.json().error).toMatchObject({ code: 'gate_failed', details: { failed: [{ name: 'holdout_auc', actual: 0.7, by: 0.095 }] } });

    const stale = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: writer, payload: { version: 2, expectedVersion: 2 } });
    expect(stale.statusCode).toBe(409);
    const noAdmin = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: writer, payload: { version: 2, force: true, reason: 'experiment' } });
    expect(noAdmin.statusCode).toBe(403);
    const forced = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion', headers: t.adminAuth, payload: { version: 2, force: true, reason: 'experiment' } });
    expect(forced.statusCode).toBe(200);
    expect(forced.json()).toMatchObject({ forced: true, fromVersion: 1, toVersion: 2, gates: { passed: false } });

    const back = await t.app.inject({ method: 'POST', url: '/v1/models/matching-ranker/aliases/champion/rollback', headers: writer, payload: { reason: 'v2 underperforms' } });
    expect(back.statusCode).toBe(200);
    expect(back.json()).toMatchObject({ kind: 'rollback', fromVersion: 2, toVersion: 1 });

    const model = (await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker', headers: reader })).json();
    expect(model).toMatchObject({ name: 'matching-ranker', latestVersion: 2, aliases: { champion: 1 }, tags: { domain: 'matching' } });
    const history = (await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker/aliases/champion/history', headers: reader })).json().history as { kind: string; toVersion: number }[];
    expect(history.map((h) => [h.kind, h.toVersion])).toEqual([['rollback', 1], ['move', 2], ['move', 1]]);
    const cmp = (await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker/compare?a=1&b=2', headers: reader })).json();
    expect(cmp.metrics.find((m: { name: string }) => m.name === 'auc')).toEqual({ name: 'auc', a: 0.8, b: 0.7, delta: -0.1 });
    const dry = (await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker/aliases/champion/gates?version=2', headers: reader })).json();
    expect(dry.passed).toBe(false);

    const art = await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker/versions/1/artifact', headers: reader });
    expect(art.statusCode).toBe(200);
    expect(art.headers['x-artifact-sha256']).toBe(sha256(artifactBytes(1)));
    expect(art.rawPayload.equals(artifactBytes(1))).toBe(true);
    const versions = (await t.app.inject({ method: 'GET', url: '/v1/models/matching-ranker/versions', headers: reader })).json().versions;
    expect(versions.map((v: { version: number; aliases: string[] }) => [v.version, v.aliases])).toEqual([[2, []], [1, ['champion']]]);
    expect((await t.app.inject({ method: 'GET', url: '/v1/models/nope', headers: reader })).statusCode).toBe(404);

    const actions = (await t.services.audit.list({ limit: 1000 })).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('model.'))).toEqual(expect.arrayContaining(['model.created', 'model.version_ready', 'model.alias_moved', 'model.alias_rolled_back']));
  });

  it('delivers every event signed to the receiver, retrying after a failure', async () => {
    await vi.waitFor(() => {
      expect(new Set(received.map((r) => r.type))).toEqual(new Set(['version.created', 'alias.moved', 'gate.failed', 'alias.rolled_back']));
    }, { timeout: 15_000, interval: 50 });
    expect(received.every((r) => r.valid)).toBe(true);
    expect(failNext).toBe(0);
    const gate = received.find((r) => r.type === 'gate.failed')!;
    expect(gate.event.data).toMatchObject({ model: 'matching-ranker', alias: 'champion', version: 2, checks: [{ name: 'holdout_auc' }] });
    // The signature covers the body and the timestamp.
    const sig = signatureOf(gate);
    expect(verifyWebhookSignature(SECRET, sig, gate.body.replace('"version":2', '"version":3'))).toBe(false);
    expect(verifyWebhookSignature('other-secret', sig, gate.body)).toBe(false);
  });

  function signatureOf(r: { body: string }): string {
    // Re-sign what the receiver got to show the format a receiver parses: t=<unix>,v1=<hex>.
    const t0 = Math.floor(Date.now() / 1000);
    return `t=${t0},v1=${createHmacHex(SECRET, `${t0}.${r.body}`)}`;
  }
});

function createHmacHex(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}
