// Console session tokens: `<payload>.<hmac>`, payload = base64url JSON { k: key id, e: expiry ms }.
// The cookie names the API key it was issued for, never the key itself; each request re-checks the
// key (revoked or expired keys end their sessions), and the HMAC stops anyone forging an id.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'gigintel_session';
/** Cookie-authenticated unsafe requests must carry this header: a cross-site form cannot set it. */
export const CSRF_HEADER = 'x-gigintel-csrf';

export interface SessionTokens {
  readonly ttlMs: number;
  issue(keyId: string, now?: number): { token: string; expiresAt: number };
  /** The key id of a well-signed, unexpired token; null otherwise. */
  verify(token: string, now?: number): { keyId: string; expiresAt: number } | null;
}

export function createSessionTokens(opts: { secret: string | null; ttlMs: number }): SessionTokens {
  // No configured secret: a random one, so sessions last as long as this process.
  const secret = opts.secret ?? randomBytes(32).toString('hex');
  const sign = (payload: string) => createHmac('sha256', secret).update(payload).digest('base64url');
  return {
    ttlMs: opts.ttlMs,
    issue(keyId, now = Date.now()) {
      const expiresAt = now + opts.ttlMs;
      const payload = Buffer.from(JSON.stringify({ k: keyId, e: expiresAt })).toString('base64url');
      return { token: `${payload}.${sign(payload)}`, expiresAt };
    },
    verify(token, now = Date.now()) {
      const dot = token.indexOf('.');
      if (dot <= 0 || token.length > 1000) return null;
      const payload = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1));
      const wanted = Buffer.from(sign(payload));
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return null;
      try {
        const { k, e } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { k?: unknown; e?: unknown };
        if (typeof k !== 'string' || typeof e !== 'number' || e <= now) return null;
        return { keyId: k, expiresAt: e };
      } catch {
        return null;
      }
    },
  };
}

/** The session cookie's value from the Cookie header, if any. */
export function sessionCookie(req: FastifyRequest): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim()) || null;
  }
  return null;
}

/** Set-Cookie for a session (HttpOnly, SameSite=Strict, Secure on https), or one that clears it. */
export function sessionSetCookie(value: string | null, opts: { secure: boolean; maxAgeMs?: number }): string {
  const attrs = [`${SESSION_COOKIE}=${value ? encodeURIComponent(value) : ''}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  attrs.push(value ? `Max-Age=${Math.floor((opts.maxAgeMs ?? 0) / 1000)}` : 'Max-Age=0');
  if (opts.secure) attrs.push('Secure');
  return attrs.join('; ');
}
