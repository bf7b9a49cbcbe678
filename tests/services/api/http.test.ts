// The HTTP platform: security headers and CSP, request ids, the error envelope, OpenAPI, rate
// limits, CORS and metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';

const METRICS_TOKEN = 'metrics-token-0123456789';

describe('HTTP platform', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(env.config({
      'metrics.token': METRICS_TOKEN, 'cors.origins': ['https://console.example.com'], 'rateLimit.max': 40,
    }), { configure: (app) => { app.get('/boom', async () => { throw new Error('secret internals'); }); } });
  });
  afterAll(async () => { await t?.close(); });

  it('sets a strict CSP and OWASP\'s API security headers on API responses', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('serves the docs with a policy of their own that still forbids framing by others and inline script', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('publishes an OpenAPI document in which every route has request and response schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/admin/keys', '/v1/admin/keys/{id}', '/v1/admin/audit']) {
      expect(doc.paths[path], path).toBeDefined();
      for (const op of Object.values(doc.paths[path]) as { responses: Record<string, unknown> }[]) {
        expect(Object.keys(op.responses).length, path).toBeGreaterThan(0);
      }
    }
    expect(doc.paths['/v1/admin/keys'].post.requestBody).toBeDefined();
    expect(doc.components.schemas.ErrorResponse).toBeDefined();
  });

  it('echoes a valid x-request-id, replaces an invalid one, and puts it in error bodies', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'trace-abc.123' } });
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    expect(given.statusCode).toBe(404);
    expect(given.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nope', details: null, requestId: 'trace-abc.123' } });
    const bad = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'has spaces and {braces}' } });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns malformed bodies into 4xx envelopes, and unknown errors into a 500 that leaks nothing', async () => {
    const json = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { ...t.adminAuth, 'content-type': 'application/json' }, payload: '{"name": ' });
    expect(json.statusCode).toBe(400);
    expect(json.json().error.code).toBe('invalid_json');
    const type = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { ...t.adminAuth, 'content-type': 'text/csv' }, payload: 'a,b' });
    expect(type.statusCode).toBe(415);
    expect(type.json().error.code).toBe('unsupported_media_type');
    const boom = await t.app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json().error).toMatchObject({ code: 'internal', details: null });
    expect(boom.body).not.toContain('secret internals');
  });

  it('answers CORS preflights for configured origins only', async () => {
    const ok = await t.app.inject({ method: 'OPTIONS', url: '/v1/admin/keys', headers: { origin: 'https://console.example.com', 'access-control-request-method': 'POST' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://console.example.com');
    const other = await t.app.inject({ method: 'OPTIONS', url: '/v1/admin/keys', headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('guards /metrics with the token and exposes HTTP, pool, queue and process metrics', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/gigintel_http_request_duration_seconds_bucket\{[^}]*route="\/healthz"[^}]*status_code="200"/);
    expect(res.body).toContain('gigintel_db_pool_connections');
    expect(res.body).toContain('gigintel_process_cpu_user_seconds_total');
    expect(res.body).toContain('gigintel_jobs_completed_total');
    // An admin key works too.
    expect((await t.app.inject({ method: 'GET', url: '/metrics', headers: t.adminAuth })).statusCode).toBe(200);
  });

  it('rate-limits per key with a structured 429 and Retry-After, but never the probes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) {
      statuses.push((await t.app.inject({ method: 'GET', url: '/v1/admin/audit?limit=1', headers: t.adminAuth })).statusCode);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const limited = await t.app.inject({ method: 'GET', url: '/v1/admin/audit', headers: t.adminAuth });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another caller (no key: keyed by IP) is not affected, nor are health probes.
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/audit' })).statusCode).toBe(401);
    for (let i = 0; i < 50; i++) expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
