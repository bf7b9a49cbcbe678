// /v1/models…: registered models, versions (register with the artifact as base64), aliases and
// their history, promotion (gated; force needs admin), rollback, gate dry runs and comparisons.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../platform/audit/audit-log.js';
import { grants } from '../services/api/auth/scopes.js';
import type { Principal } from '../services/api/auth/api-key.service.js';
import { withErrors } from '../services/api/schemas.js';
import {
  AliasMoveOut, AliasName, AliasParams, CompareOut, CreateModelIn, GateVerdictOut, ModelOut, ModelParams, PromoteIn,
  RegisterVersionIn, RollbackIn, VersionOut, VersionParams,
} from './registry.schemas.js';
import type { RegistryService } from './registry.service.js';

const ref = Type.Ref('ErrorResponse');
const tags = ['models'];
const security = [{ bearer: [] }];
const actorOf = (p: Principal | null): Actor => ({ type: 'api_key', id: p?.keyId ?? 'unknown', ...(p?.name ? { name: p.name } : {}) });

export const registryRoutes: FastifyPluginAsyncTypebox<{ registry: RegistryService }> = async (app, opts) => {
  const registry = opts.registry;
  const read = app.requireScope('registry:read');
  const write = app.requireScope('registry:write');
  const promote = app.requireScope('registry:promote');

  app.get('/v1/models', {
    schema: { tags, security, summary: 'Registered models by name',
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        after: Type.Optional(Type.String({ maxLength: 100, description: 'The last name of the previous page' })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ models: Type.Array(ModelOut) }) }) },
    preHandler: read,
  }, async (req) => ({ models: await registry.listModels(req.query) }));

  app.post('/v1/models', {
    schema: { tags, security, summary: 'Register a model name', body: CreateModelIn, response: withErrors({ 201: ModelOut, 409: ref }) },
    preHandler: write,
  }, async (req, reply) => reply.status(201).send(await registry.createModel(req.body, actorOf(req.principal))));

  app.get('/v1/models/:model', {
    schema: { tags, security, summary: 'One model with its aliases', params: ModelParams, response: withErrors({ 200: ModelOut }) },
    preHandler: read,
  }, async (req) => registry.getModel(req.params.model));

  app.get('/v1/models/:model/versions', {
    schema: { tags, security, summary: 'Versions of a model, newest first', params: ModelParams,
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only versions below this number (next page)' })),
        status: Type.Optional(Type.Enum(['registering', 'ready', 'failed'])),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ versions: Type.Array(VersionOut) }) }) },
    preHandler: read,
  }, async (req) => ({ versions: await registry.listVersions(req.params.model, req.query) }));

  app.post('/v1/models/:model/versions', {
    schema: { tags, security, summary: 'Register a version: lineage, metrics, fairness, importance and the artifact (base64 + its sha256)',
      description: 'A sha256 that does not match the bytes leaves the version `failed` with the reason.',
      params: ModelParams, body: RegisterVersionIn, response: withErrors({ 201: VersionOut, 409: ref, 413: ref }) },
    preHandler: write,
  }, async (req, reply) => {
    const { artifact, ...spec } = req.body;
    const bytes = Buffer.from(artifact.base64, 'base64');
    const v = await registry.registerVersion(req.params.model, spec, { bytes, sha256: artifact.sha256, format: artifact.format }, actorOf(req.principal));
    return reply.status(201).send(v);
  });

  app.get('/v1/models/:model/versions/:version', {
    schema: { tags, security, summary: 'One version', params: VersionParams, response: withErrors({ 200: VersionOut }) },
    preHandler: read,
  }, async (req) => registry.getVersion(req.params.model, req.params.version));

  app.get('/v1/models/:model/versions/:version/artifact', {
    schema: { tags, security, summary: 'The artifact bytes, verified against the recorded sha256 (500 artifact_integrity_failed otherwise)',
      params: VersionParams, response: { 409: ref, 404: ref, 500: ref } },
    preHandler: read,
  }, async (req, reply) => {
    const a = await registry.loadArtifact(req.params.model, req.params.version);
    return reply.header('content-type', 'application/octet-stream').header('x-artifact-sha256', a.sha256).header('x-artifact-format', a.format).send(a.bytes);
  });

  app.get('/v1/models/:model/aliases', {
    schema: { tags, security, summary: 'Aliases of a model and the version each points at', params: ModelParams,
      response: withErrors({ 200: Type.Object({ aliases: Type.Array(Type.Object({ alias: Type.String(), version: Type.Integer(), updatedBy: Type.String(), updatedAt: Type.Integer() })) }) }) },
    preHandler: read,
  }, async (req) => ({ aliases: await registry.listAliases(req.params.model) }));

  app.get('/v1/models/:model/history', {
    schema: { tags, security, summary: 'Alias moves and rollbacks, newest first (append-only)', params: ModelParams,
      querystring: Type.Object({
        alias: Type.Optional(AliasName),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        beforeId: Type.Optional(Type.Integer({ minimum: 1, description: 'Only entries older than this id (next page)' })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ history: Type.Array(AliasMoveOut) }) }) },
    preHandler: read,
  }, async (req) => ({ history: await registry.history({ model: req.params.model, ...req.query }) }));

  app.get('/v1/models/:model/aliases/:alias/history', {
    schema: { tags, security, summary: 'One alias\'s moves and rollbacks, newest first', params: AliasParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), beforeId: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ history: Type.Array(AliasMoveOut) }) }) },
    preHandler: read,
  }, async (req) => ({ history: await registry.history({ model: req.params.model, alias: req.params.alias, ...req.query }) }));

  app.get('/v1/models/:model/aliases/:alias/gates', {
    schema: { tags, security, summary: 'Dry run: the gates moving this alias to a version would check', params: AliasParams,
      querystring: Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
      response: withErrors({ 200: GateVerdictOut }) },
    preHandler: read,
  }, async (req) => registry.checkGates(req.params.model, req.query.version, req.params.alias));

  app.post('/v1/models/:model/aliases/:alias', {
    schema: { tags, security, summary: 'Move (promote) an alias: gated for champion, compare-and-set on expectedVersion',
      description: '422 gate_failed lists every failed check with actual, required and the gap; `force` with a `reason` overrides them and needs scope admin. 409 when the alias moved meanwhile.',
      params: AliasParams, body: PromoteIn, response: withErrors({ 200: AliasMoveOut, 409: ref, 422: ref }) },
    preHandler: promote,
  }, async (req) => registry.promote({ ...req.params, ...req.body }, actorOf(req.principal), {
    canForce: req.principal !== null && grants(req.principal.scopes, 'admin'),
  }));

  app.post('/v1/models/:model/aliases/:alias/rollback', {
    schema: { tags, security, summary: 'Move the alias back to the version it pointed at before, in one call (recorded as a rollback)',
      params: AliasParams, body: RollbackIn, response: withErrors({ 200: AliasMoveOut, 409: ref }) },
    preHandler: promote,
  }, async (req) => registry.rollback({ ...req.params, ...req.body }, actorOf(req.principal)));

  app.get('/v1/models/:model/compare', {
    schema: { tags, security, summary: 'Two versions side by side: metrics, fairness, importance, calibration (deltas are b − a)', params: ModelParams,
      querystring: Type.Object({ a: Type.Integer({ minimum: 1 }), b: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
      response: withErrors({ 200: CompareOut }) },
    preHandler: read,
  }, async (req) => registry.compare(req.params.model, req.query.a, req.query.b));
};
