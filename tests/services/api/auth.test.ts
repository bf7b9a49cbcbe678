// API keys: 401/403, hashing at rest, revocation, expiry and the audit trail, on both dialects.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../../services/api/auth/api-key.service.js';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../../helpers/test-env.js';

describe.each(DIALECTS)('API keys on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  beforeAll(async () => { t = await startTestApp(env.config()); });
  afterAll(async () => { await t?.close(); });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  async function createKey(scopes: string[], extra: Record<string, unknown> = {}) {
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: `k-${scopes.join('-')}`, scopes, ...extra } });
    expect(res.statusCode).toBe(201);
    return res.json() as { key: string; apiKey: { id: string; scopes: string[]; prefix: string } };
  }

  it('answers 401 without a key or with an unknown one, in the error envelope', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/v1/admin/keys' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('API key is required'), details: null, requestId: none.headers['x-request-id'] } });
    const bad = await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer('gi_not_a_real_key_at_all_000000') });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.message).toContain('unknown, revoked or expired');
  });

  it('answers 403 naming the missing scope; x-api-key works as well as Bearer', async () => {
    const { key } = await createKey(['score', 'exports']);
    const res = await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'forbidden', details: { required: 'admin', granted: ['score', 'exports'] } });
  });

  it('stores keys only as hashes', async () => {
    const { key, apiKey } = await createKey(['ingest']);
    const rows = await sql<Record<string, unknown>>`select * from api_key`.execute(t.platform.db.db);
    const dump = JSON.stringify(rows.rows);
    expect(dump).not.toContain(key);
    const row = rows.rows.find((r) => r.id === apiKey.id)!;
    expect(row.key_hash).toBe(hashKey(key));
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(apiKey.prefix).toBe(key.slice(0, 10));
    expect(dump).not.toContain(TEST_ADMIN_KEY);
  });

  it('stops accepting a key as soon as it is revoked, and records who did it', async () => {
    const { key, apiKey } = await createKey(['admin']);
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(key) })).statusCode).toBe(200);
    const revoke = await t.app.inject({ method: 'DELETE', url: `/v1/admin/keys/${apiKey.id}`, headers: t.adminAuth });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().revokedAt).toBeGreaterThan(0);
    expect((await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(key) })).statusCode).toBe(401);
    const listed = (await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: t.adminAuth })).json().keys as { id: string }[];
    expect(listed.map((k) => k.id)).not.toContain(apiKey.id);

    const audit = (await t.app.inject({ method: 'GET', url: `/v1/admin/audit?objectType=api_key&objectId=${apiKey.id}`, headers: t.adminAuth })).json();
    expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(['api_key.revoked', 'api_key.created']);
    expect(audit.entries[0].actor.type).toBe('api_key');
    expect(audit.entries[0].requestId).toBe(revoke.headers['x-request-id']);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/admin/keys/key_000000000000', headers: t.adminAuth })).statusCode).toBe(404);
  });

  it('rejects an expired key', async () => {
    const { key } = await createKey(['score'], { expiresAt: Date.now() + 300 });
    const principal = await t.services.apiKeys.authenticate(key);
    expect(principal?.scopes).toEqual(['score']);
    await new Promise((r) => setTimeout(r, 350));
    expect(await t.services.apiKeys.authenticate(key)).toBeNull();
  });

  it('validates key requests with field paths', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: '', scopes: ['score', 'fly'], color: 'red' } });
    expect(res.statusCode).toBe(400);
    const paths = res.json().error.details.problems.map((p: { path: string }) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/name', '/body/scopes/1', '/body/color']));
    await expect(t.services.apiKeys.create({ name: 'x', scopes: ['nope'] }, { type: 'cli', id: 't' }))
      .rejects.toMatchObject({ code: 'validation_failed', problems: [{ path: 'scopes/0', message: expect.stringContaining('unknown scope "nope"') }] });
  });

  it('generates one admin key on an empty database, and none after that', async () => {
    const first = await t.services.apiKeys.ensureAdminKey(null);
    expect(first.generated).toBeNull(); // the fixed test admin key already exists
    await t.app.inject({ method: 'GET', url: '/v1/admin/keys', headers: t.adminAuth }); // still valid
  });
});
