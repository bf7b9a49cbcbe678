// API-key authentication. A route opts in with `preHandler: app.requireScope('scope')`; the key
// comes as "Authorization: Bearer <key>" or "x-api-key: <key>", or as the console's signed session
// cookie (then unsafe methods need the x-gigintel-csrf header). 401 for a missing or bad key,
// 403 when the key lacks the scope.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ForbiddenError, UnauthorizedError } from '../../../platform/errors/app-error.js';
import type { ApiKeyService, Principal } from '../auth/api-key.service.js';
import { grants, type Scope } from '../auth/scopes.js';
import { CSRF_HEADER, sessionCookie, type SessionTokens } from '../auth/session-token.js';

declare module 'fastify' {
  interface FastifyInstance {
    requireScope(scope: Scope): preHandlerAsyncHookHandler;
    /** Any valid key or session, whatever its scopes (GET /v1/session). */
    requirePrincipal: preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || null;
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header.length > 0 ? header : null;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const authPlugin = fp<{ apiKeys: ApiKeyService; sessions?: SessionTokens }>(async (app, opts) => {
  const authenticate = async (req: FastifyRequest): Promise<Principal> => {
    const key = presentedKey(req);
    const token = key ? null : opts.sessions && sessionCookie(req);
    if (!key && !token) throw new UnauthorizedError('an API key is required: send "Authorization: Bearer <key>"');
    if (key) {
      const principal = await opts.apiKeys.authenticate(key);
      if (!principal) throw new UnauthorizedError('the API key is unknown, revoked or expired');
      return principal;
    }
    const session = opts.sessions!.verify(token!);
    if (!session) throw new UnauthorizedError('the console session is invalid or expired: sign in again');
    if (UNSAFE.has(req.method) && req.headers[CSRF_HEADER] !== '1') {
      throw new ForbiddenError(`a request authenticated by the session cookie must send the "${CSRF_HEADER}: 1" header`, { header: CSRF_HEADER });
    }
    const principal = await opts.apiKeys.principalById(session.keyId);
    if (!principal) throw new UnauthorizedError('the API key of this session is revoked or expired: sign in again');
    return principal;
  };
  app.decorateRequest('principal', null);
  app.decorate('requirePrincipal', async (req: FastifyRequest) => { req.principal = await authenticate(req); });
  app.decorate('requireScope', (scope: Scope) => async (req: FastifyRequest, _reply: FastifyReply) => {
    const principal = await authenticate(req);
    if (!grants(principal.scopes, scope)) {
      throw new ForbiddenError(`the API key lacks the "${scope}" scope`, { required: scope, granted: principal.scopes });
    }
    req.principal = principal;
  });
}, { name: 'gigintel-auth' });
