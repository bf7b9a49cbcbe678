// API keys: random 192-bit secrets shown once at creation and stored only as sha256 hashes
// (a fast hash suffices for high-entropy secrets and keeps verification cheap on the hot path).
// Verified keys are cached for a few seconds; a revocation in this process clears the cache at
// once, one made elsewhere (the CLI) takes effect within auth.cacheTtlMs.
import { hash, randomBytes } from 'node:crypto';
import type { Db } from '../../../platform/db/database.js';
import type { Actor, AuditLog } from '../../../platform/audit/audit-log.js';
import { NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import {
  countActiveAdminKeys, findApiKey, findApiKeyByHash, insertApiKey, listApiKeys, revokeApiKey, touchApiKey,
} from './api-key.repository.js';
import type { ApiKeyTable } from './api-key.table.js';
import { isScope, SCOPES, type Scope } from './scopes.js';

export interface ApiKey {
  id: string; name: string; prefix: string; scopes: Scope[];
  createdAt: number; createdBy: string; expiresAt: number | null; revokedAt: number | null; lastUsedAt: number | null;
}
export interface Principal { keyId: string; name: string; scopes: Scope[] }
export interface CreateKeyCommand { name: string; scopes: string[]; expiresAt?: number | null }

const TOUCH_EVERY_MS = 60_000;

export function hashKey(key: string): string {
  return hash('sha256', key, 'hex'); // one-shot: no Hash object per request
}

export function createApiKeyService(deps: { db: Db; audit: AuditLog; cacheTtlMs: number; now?: () => number }) {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { principal: Principal | null; until: number }>();
  const touched = new Map<string, number>();

  async function create(cmd: CreateKeyCommand, actor: Actor, fixedKey?: string): Promise<{ key: string; apiKey: ApiKey }> {
    const problems = [];
    const name = cmd.name.trim();
    if (name.length === 0 || name.length > 200) problems.push({ path: 'name', message: 'must be 1-200 characters' });
    if (cmd.scopes.length === 0) problems.push({ path: 'scopes', message: `must name at least one of ${SCOPES.join(', ')}` });
    cmd.scopes.forEach((s, i) => {
      if (!isScope(s)) problems.push({ path: `scopes/${i}`, message: `unknown scope ${JSON.stringify(s)}; known: ${SCOPES.join(', ')}` });
    });
    if (cmd.expiresAt != null && cmd.expiresAt <= now()) problems.push({ path: 'expiresAt', message: 'must be in the future' });
    if (problems.length) throw new ValidationError('invalid API key request', problems);

    const key = fixedKey ?? `gi_${randomBytes(24).toString('base64url')}`;
    const row: ApiKeyTable = {
      id: `key_${randomBytes(6).toString('hex')}`, name, key_hash: hashKey(key), key_prefix: key.slice(0, 10),
      scopes: JSON.stringify([...new Set(cmd.scopes)]), created_at: now(), created_by: `${actor.type}:${actor.id}`,
      expires_at: cmd.expiresAt ?? null, revoked_at: null, last_used_at: null,
    };
    await deps.db.transaction().execute(async (tx) => {
      await insertApiKey(tx, row);
      await deps.audit.record(tx, actor, 'api_key.created', { type: 'api_key', id: row.id }, { name, scopes: JSON.parse(row.scopes) });
    });
    return { key, apiKey: toApiKey(row) };
  }

  /** A key's principal through the verification cache (by hash or by id), valid until revoked or expired. */
  async function cachedPrincipal(cacheKey: string, t: number, find: () => Promise<ApiKeyTable | undefined>): Promise<Principal | null> {
    const hit = cache.get(cacheKey);
    if (hit && hit.until > t) return hit.principal;
    const row = await find();
    const valid = row && row.revoked_at === null && (row.expires_at === null || Number(row.expires_at) > t);
    const principal = valid ? { keyId: row.id, name: row.name, scopes: JSON.parse(row.scopes) as Scope[] } : null;
    if (deps.cacheTtlMs > 0) cache.set(cacheKey, { principal, until: Math.min(t + deps.cacheTtlMs, row?.expires_at ? Number(row.expires_at) : Infinity) });
    return principal;
  }

  return {
    create: (cmd: CreateKeyCommand, actor: Actor) => create(cmd, actor),

    async revoke(id: string, actor: Actor): Promise<ApiKey> {
      return deps.db.transaction().execute(async (tx) => {
        const row = await findApiKey(tx, id);
        if (!row) throw new NotFoundError(`no API key ${id}`, { id });
        if (await revokeApiKey(tx, id, now())) {
          await deps.audit.record(tx, actor, 'api_key.revoked', { type: 'api_key', id });
        }
        for (const [hash, entry] of cache) if (entry.principal?.keyId === id) cache.delete(hash);
        return toApiKey((await findApiKey(tx, id))!);
      });
    },

    async list(includeRevoked = false): Promise<ApiKey[]> {
      return (await listApiKeys(deps.db, includeRevoked)).map(toApiKey);
    },

    /** The principal behind a presented key, or null for an unknown, revoked or expired key. */
    async authenticate(key: string): Promise<Principal | null> {
      const hash = hashKey(key);
      const t = now();
      const principal = await cachedPrincipal(hash, t, () => findApiKeyByHash(deps.db, hash));
      if (principal && t - (touched.get(principal.keyId) ?? 0) > TOUCH_EVERY_MS) {
        touched.set(principal.keyId, t);
        await touchApiKey(deps.db, principal.keyId, t);
      }
      return principal;
    },

    /** The principal of a key by its id (console sessions name the key), null when revoked or expired. */
    principalById: (id: string): Promise<Principal | null> => cachedPrincipal(`id:${id}`, now(), () => findApiKey(deps.db, id)),

    /**
     * Start-up: make sure an admin key exists. With GIGINTEL_ADMIN_KEY set, that key is registered
     * (once). Otherwise, on a database with no admin key, one is generated and returned to be shown.
     */
    async ensureAdminKey(fixedKey: string | null): Promise<{ generated: string | null }> {
      const actor: Actor = { type: 'system', id: 'bootstrap' };
      if (fixedKey) {
        if (!(await findApiKeyByHash(deps.db, hashKey(fixedKey)))) {
          await create({ name: 'admin (GIGINTEL_ADMIN_KEY)', scopes: ['admin'] }, actor, fixedKey);
        }
        return { generated: null };
      }
      if ((await countActiveAdminKeys(deps.db)) > 0) return { generated: null };
      const { key } = await create({ name: 'admin (generated on first start)', scopes: ['admin'] }, actor);
      return { generated: key };
    },
  };
}
export type ApiKeyService = ReturnType<typeof createApiKeyService>;

function toApiKey(r: ApiKeyTable): ApiKey {
  return {
    id: r.id, name: r.name, prefix: r.key_prefix, scopes: JSON.parse(r.scopes) as Scope[],
    createdAt: Number(r.created_at), createdBy: r.created_by,
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
