// API-key authentication. A route opts in with `preHandler: app.requireScope('scope')`; the key
// comes as "Authorization: Bearer <key>" or "x-api-key: <key>". 401 for a missing or bad key,
// 403 when the key lacks the scope.
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ForbiddenError, UnauthorizedError } from '../../../platform/errors/app-error.js';
import type { ApiKeyService, Principal } from '../auth/api-key.service.js';
import { grants, type Scope } from '../auth/scopes.js';

declare module 'fastify' {
  interface FastifyInstance {
    requireScope(scope: Scope): preHandlerAsyncHookHandler;
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

export const authPlugin = fp<{ apiKeys: ApiKeyService }>(async (app, opts) => {
  app.decorateRequest('principal', null);
  app.decorate('requireScope', (scope: Scope) => async (req: FastifyRequest, _reply: FastifyReply) => {
    const key = presentedKey(req);
    if (!key) throw new UnauthorizedError('an API key is required: send "Authorization: Bearer <key>"');
    const principal = await opts.apiKeys.authenticate(key);
    if (!principal) throw new UnauthorizedError('the API key is unknown, revoked or expired');
    if (!grants(principal.scopes, scope)) {
      throw new ForbiddenError(`the API key lacks the "${scope}" scope`, { required: scope, granted: principal.scopes });
    }
    req.principal = principal;
  });
}, { name: 'gigintel-auth' });
