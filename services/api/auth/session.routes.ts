// /v1/session: the console's sign-in. POST trades an API key for a signed, expiring HttpOnly cookie
// (the key itself never goes into the cookie), GET tells who is signed in and with which scopes
// (the console hides what those scopes do not allow), DELETE signs out.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ForbiddenError, UnauthorizedError } from '../../../platform/errors/app-error.js';
import { presentedKey } from '../plugins/auth.plugin.js';
import { withErrors } from '../schemas.js';
import type { ApiKeyService } from './api-key.service.js';
import { SCOPES } from './scopes.js';
import { CSRF_HEADER, sessionCookie, sessionSetCookie, type SessionTokens } from './session-token.js';

const tags = ['session'];
const SessionOut = Type.Object({
  keyId: Type.String(), name: Type.String(), scopes: Type.Array(Type.Enum(SCOPES)),
  via: Type.Enum(['cookie', 'key'], { description: 'how this request was authenticated' }),
  expiresAt: Type.Union([Type.Integer(), Type.Null()], { description: 'when the session cookie expires (UTC ms); null for a key' }),
});

const secure = (req: FastifyRequest) => req.protocol === 'https';
function requireCsrf(req: FastifyRequest): void {
  if (req.headers[CSRF_HEADER] !== '1') throw new ForbiddenError(`send the "${CSRF_HEADER}: 1" header`, { header: CSRF_HEADER });
}

export const sessionRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService; sessions: SessionTokens }> = async (app, opts) => {
  app.post('/v1/session', {
    schema: { tags, summary: 'Sign in to the console: validates the key and sets an HttpOnly session cookie naming it',
      description: `Needs the "${CSRF_HEADER}: 1" header. Later cookie-authenticated POST, PUT, PATCH and DELETE requests need it too.`,
      body: Type.Object({ apiKey: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: withErrors({ 200: SessionOut }) },
  }, async (req, reply) => {
    requireCsrf(req);
    const principal = await opts.apiKeys.authenticate(req.body.apiKey);
    if (!principal) throw new UnauthorizedError('the API key (field apiKey) is unknown, revoked or expired');
    const { token, expiresAt } = opts.sessions.issue(principal.keyId);
    reply.header('set-cookie', sessionSetCookie(token, { secure: secure(req), maxAgeMs: opts.sessions.ttlMs }));
    return { keyId: principal.keyId, name: principal.name, scopes: principal.scopes, via: 'cookie' as const, expiresAt };
  });

  app.get('/v1/session', {
    schema: { tags, security: [{ bearer: [] }], summary: 'Who is signed in: the key\'s name and scopes (by cookie or key)', response: withErrors({ 200: SessionOut }) },
    preHandler: app.requirePrincipal,
  }, async (req) => {
    const p = req.principal!;
    const byKey = presentedKey(req) !== null;
    const cookie = byKey ? null : opts.sessions.verify(sessionCookie(req) ?? '');
    return { keyId: p.keyId, name: p.name, scopes: p.scopes, via: byKey ? 'key' as const : 'cookie' as const, expiresAt: cookie?.expiresAt ?? null };
  });

  app.delete('/v1/session', {
    schema: { tags, summary: 'Sign out: clears the session cookie', response: withErrors({ 200: Type.Object({ signedOut: Type.Literal(true) }) }) },
  }, async (req, reply) => {
    requireCsrf(req);
    reply.header('set-cookie', sessionSetCookie(null, { secure: secure(req) }));
    return { signedOut: true as const };
  });
};
