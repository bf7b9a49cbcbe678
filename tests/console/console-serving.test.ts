// The console's server side with app.inject(): the built files under /console with the CSP,
// immutable caching for hashed assets and revalidation for index.html, br/gzip chosen by
// Accept-Encoding, the SPA fallback, a 503 page without a build, and the session cookie with its
// CSRF header rule, expiry and sign-out.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionTokens } from '../../services/api/auth/session-token.js';
import { consoleDistDir, ensureConsoleBuilt } from '../../services/console/build-console.js';
import { CONSOLE_CSP, consoleRoutes, pickEncoding } from '../../services/console/console.routes.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { useTestEnv } from '../helpers/test-env.js';

describe('console serving and sessions', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  let jsPath: string;
  let readerKey: string;

  beforeAll(async () => {
    await ensureConsoleBuilt({ quiet: true });
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'console.sessionTtlMs': 60_000 }));
    const js = readdirSync(join(consoleDistDir(), 'assets')).find((f) => f.endsWith('.js'))!;
    jsPath = `/console/assets/${js}`;
    readerKey = (await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: 'reader', scopes: ['registry:read'] } })).json<{ key: string }>().key;
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });

  it('serves index.html under the console CSP, revalidated on every load', async () => {
    for (const url of ['/console', '/console/']) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.body).toContain('<div id="app"></div>');
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
      expect(res.body).not.toMatch(/<style|style="/); // no inline styles
    }
    const etag = (await get('/console/')).headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await get('/console/experiments', { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).not.toContain('unsafe-eval');
  });

  it('caches hashed assets for a year and picks br, then gzip, by Accept-Encoding', async () => {
    const raw = readFileSync(join(consoleDistDir(), jsPath.replace('/console/', '')));
    const br = await get(jsPath, { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.statusCode).toBe(200);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(br.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers.vary).toMatch(/accept-encoding/i);
    expect(brotliDecompressSync(br.rawPayload).equals(raw)).toBe(true);
    expect(br.rawPayload.length).toBeLessThan(raw.length / 2);

    const gz = await get(jsPath, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).equals(raw)).toBe(true);

    const refused = await get(jsPath, { 'accept-encoding': 'br;q=0, gzip' });
    expect(refused.headers['content-encoding']).toBe('gzip');
    const plain = await get(jsPath, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.rawPayload.equals(raw)).toBe(true);

    expect(pickEncoding(undefined)).toBeNull();
    expect(pickEncoding('*')).toBe('br');
    expect(pickEncoding('br;q=0, *;q=0.5')).toBe('gzip');
    expect(pickEncoding('gzip;q=0, br;q=0')).toBeNull();
  });

  it('answers any other /console path with the app, but 404s an unknown hashed asset', async () => {
    const deep = await get('/console/models/matching-ranker/versions/3?x=1');
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('<div id="app"></div>');
    expect(deep.headers['cache-control']).toBe('no-cache');
    const stale = await get('/console/assets/index-00000000.js');
    expect(stale.statusCode).toBe(404);
    expect(stale.headers['cache-control']).toBe('no-store');
    // The API keeps its own policy and no-store.
    const api = await get('/healthz');
    expect(api.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(api.headers['cache-control']).toBe('no-store');
  });

  it('says how to build the console when dist/console is missing', async () => {
    const app = Fastify();
    await app.register(consoleRoutes, { dir: join(env.databaseUrl.replace(/^sqlite:/, ''), '..', 'no-console-here') });
    const res = await app.inject({ method: 'GET', url: '/console/models' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:console');
    await app.close();
  });

  it('trades a key for an HttpOnly SameSite=Strict session cookie that names the key, not the key itself', async () => {
    const noCsrf = await t.app.inject({ method: 'POST', url: '/v1/session', payload: { apiKey: readerKey } });
    expect(noCsrf.statusCode).toBe(403);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/session', headers: { 'x-gigintel-csrf': '1' }, payload: { apiKey: 'gi_not_a_key_at_all_000000000000' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers['set-cookie']).toBeUndefined();

    const res = await t.app.inject({ method: 'POST', url: '/v1/session', headers: { 'x-gigintel-csrf': '1' }, payload: { apiKey: readerKey } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'reader', scopes: ['registry:read'], via: 'cookie' });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^gigintel_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60$/);
    expect(setCookie).not.toContain(readerKey);
    const cookie = setCookie.split(';')[0]!;

    const who = await t.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } });
    expect(who.json()).toMatchObject({ name: 'reader', via: 'cookie' });
    expect(who.json().expiresAt).toBeGreaterThan(Date.now());
    expect((await t.app.inject({ method: 'GET', url: '/v1/models', headers: { cookie } })).statusCode).toBe(200);
    // Scopes still apply to a cookie.
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: { cookie } })).statusCode).toBe(403);
    // A forged or altered cookie is refused.
    const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await t.app.inject({ method: 'GET', url: '/v1/models', headers: { cookie: forged } })).statusCode).toBe(401);
    // Bearer keys still work, and GET /v1/session says so.
    expect((await t.app.inject({ method: 'GET', url: '/v1/session', headers: { authorization: `Bearer ${readerKey}` } })).json()).toMatchObject({ via: 'key', expiresAt: null });
  });

  it('needs the CSRF header on unsafe methods authenticated by the cookie, not on Bearer calls', async () => {
    const admin = await t.app.inject({ method: 'POST', url: '/v1/session', headers: { 'x-gigintel-csrf': '1' }, payload: { apiKey: t.adminAuth.authorization.slice(7) } });
    const cookie = String(admin.headers['set-cookie']).split(';')[0]!;
    const body = { name: 'console-made', description: 'made through a cookie' };
    const without = await t.app.inject({ method: 'POST', url: '/v1/models', headers: { cookie }, payload: body });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.details).toEqual({ header: 'x-gigintel-csrf' });
    const withHeader = await t.app.inject({ method: 'POST', url: '/v1/models', headers: { cookie, 'x-gigintel-csrf': '1' }, payload: body });
    expect(withHeader.statusCode).toBe(201);
    const bearer = await t.app.inject({ method: 'POST', url: '/v1/models', headers: t.adminAuth, payload: { name: 'bearer-made' } });
    expect(bearer.statusCode).toBe(201);
  });

  it('ends a session on sign-out, on expiry and when its key is revoked', async () => {
    const signIn = async () => String((await t.app.inject({ method: 'POST', url: '/v1/session', headers: { 'x-gigintel-csrf': '1' }, payload: { apiKey: readerKey } })).headers['set-cookie']).split(';')[0]!;
    const out = await t.app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie: await signIn(), 'x-gigintel-csrf': '1' } });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/^gigintel_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);

    const tokens = createSessionTokens({ secret: 's'.repeat(32), ttlMs: 1000 });
    const { token } = tokens.issue('key_0123456789ab', 5_000);
    expect(tokens.verify(token, 5_999)).toEqual({ keyId: 'key_0123456789ab', expiresAt: 6_000 });
    expect(tokens.verify(token, 6_000)).toBeNull();
    expect(createSessionTokens({ secret: 't'.repeat(32), ttlMs: 1000 }).verify(token, 5_500)).toBeNull();

    const cookie = await signIn();
    const keyId = (await t.app.inject({ method: 'GET', url: '/v1/session', headers: { cookie } })).json<{ keyId: string }>().keyId;
    await t.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, headers: t.adminAuth });
    const after = await t.app.inject({ method: 'GET', url: '/v1/models', headers: { cookie } });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toMatch(/revoked or expired/);
  });
});
