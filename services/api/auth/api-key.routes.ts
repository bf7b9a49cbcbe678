// Admin endpoints for API keys and the audit log (scope admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditLog } from '../../../platform/audit/audit-log.js';
import { withErrors } from '../schemas.js';
import type { ApiKeyService } from './api-key.service.js';
import { SCOPES } from './scopes.js';

const ScopeT = Type.Enum(SCOPES);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const ApiKeyOut = Type.Object({
  id: Type.String(), name: Type.String(), prefix: Type.String(), scopes: Type.Array(ScopeT),
  createdAt: Type.Integer(), createdBy: Type.String(), expiresAt: Nullable(Type.Integer()),
  revokedAt: Nullable(Type.Integer()), lastUsedAt: Nullable(Type.Integer()),
});
const CreateKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Array(ScopeT, { minItems: 1, uniqueItems: true }),
  expiresAt: Type.Optional(Nullable(Type.Integer({ description: 'UTC milliseconds' }))),
}, { additionalProperties: false });
const AuditOut = Type.Object({
  id: Type.Integer(), at: Type.Integer(), actor: Type.Object({ type: Type.String(), id: Type.String() }),
  action: Type.String(), objectType: Type.String(), objectId: Type.String(), details: Type.Unknown(), requestId: Nullable(Type.String()),
});

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ apiKeys: ApiKeyService; audit: AuditLog }> = async (app, opts) => {
  const admin = app.requireScope('admin');
  const actorOf = (p: { keyId: string } | null) => ({ type: 'api_key' as const, id: p?.keyId ?? 'unknown' });

  app.post('/v1/admin/keys', {
    schema: { tags: ['admin'], summary: 'Create an API key (the key is shown once)', security: [{ bearer: [] }], body: CreateKeyBody,
      response: withErrors({ 201: Type.Object({ key: Type.String(), apiKey: ApiKeyOut }) }) },
    preHandler: admin,
  }, async (req, reply) => reply.status(201).send(await opts.apiKeys.create(req.body, actorOf(req.principal))));

  app.get('/v1/admin/keys', {
    schema: { tags: ['admin'], summary: 'List API keys', security: [{ bearer: [] }],
      querystring: Type.Object({ includeRevoked: Type.Optional(Type.Boolean()) }),
      response: withErrors({ 200: Type.Object({ keys: Type.Array(ApiKeyOut) }) }) },
    preHandler: admin,
  }, async (req) => ({ keys: await opts.apiKeys.list(req.query.includeRevoked ?? false) }));

  app.delete('/v1/admin/keys/:id', {
    schema: { tags: ['admin'], summary: 'Revoke an API key', security: [{ bearer: [] }],
      params: Type.Object({ id: Type.String({ pattern: '^key_[0-9a-f]{12}$' }) }),
      response: withErrors({ 200: ApiKeyOut }) },
    preHandler: admin,
  }, async (req) => opts.apiKeys.revoke(req.params.id, actorOf(req.principal)));

  app.get('/v1/admin/audit', {
    schema: { tags: ['admin'], summary: 'Audit log, newest first', security: [{ bearer: [] }],
      querystring: Type.Object({
        objectType: Type.Optional(Type.String({ maxLength: 100 })), objectId: Type.Optional(Type.String({ maxLength: 200 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), beforeId: Type.Optional(Type.Integer({ minimum: 1 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ entries: Type.Array(AuditOut) }) }) },
    preHandler: admin,
  }, async (req) => ({ entries: await opts.audit.list(req.query) }));
};
