// Read-only feature endpoints (scope features:read): the declared feature sets, the online values
// of some entities, and the latest drift report; POST /v1/features/drift recomputes it (admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { withErrors } from '../../services/api/schemas.js';
import { FEATURE_SETS, featureSet } from './definitions/catalog.js';
import type { DriftService } from './drift/drift.service.js';
import { featureSetId, schemaHash } from './feature-set.js';
import type { OnlineStore } from './store/feature-store.types.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const SetOut = Type.Object({
  id: Type.String(), name: Type.String(), version: Type.Integer(), entity: Type.String(), source: Type.String(), description: Type.String(),
  schemaHash: Type.String(),
  features: Type.Array(Type.Object({ name: Type.String(), type: Type.String(), ttlMs: Nullable(Type.Integer()), description: Type.String() })),
});
const DriftOut = Type.Object({
  computedAt: Type.Integer(), datasets: Type.Array(Type.String()),
  summary: Type.Object({ stable: Type.Integer(), warning: Type.Integer(), drift: Type.Integer(), insufficient: Type.Integer() }),
  features: Type.Array(Type.Object({
    featureSet: Type.String(), version: Type.Integer(), feature: Type.String(), psi: Nullable(Type.Number()),
    status: Type.Enum(['stable', 'warning', 'drift', 'insufficient'] as const), referenceRows: Type.Integer(), currentRows: Type.Integer(),
    bins: Type.Array(Type.Object({ label: Type.String(), reference: Type.Number(), current: Type.Number() })),
  })),
}, { description: 'PSI < 0.1 stable, 0.1–0.25 warning, ≥ 0.25 drift; insufficient: fewer than 30 values on a side' });

export const featuresRoutes: FastifyPluginAsyncTypebox<{ online: OnlineStore; drift: DriftService }> = async (app, opts) => {
  const read = app.requireScope('features:read');
  const describe = (s: (typeof FEATURE_SETS)[number]) => ({
    id: featureSetId(s), name: s.name, version: s.version, entity: s.entity, source: s.source, description: s.description, schemaHash: schemaHash(s),
    features: s.features.map((f) => ({ name: f.name, type: f.type, ttlMs: f.ttlMs, description: f.description })),
  });

  app.get('/v1/features/sets', {
    schema: { tags: ['features'], summary: 'Declared feature sets with their schema hashes', security: [{ bearer: [] }],
      response: withErrors({ 200: Type.Object({ sets: Type.Array(SetOut) }) }) },
    preHandler: read,
  }, async () => ({ sets: FEATURE_SETS.map(describe) }));

  app.get('/v1/features/online/:set', {
    schema: { tags: ['features'], summary: 'Online values of up to 500 entities of a set (TTL applied)', security: [{ bearer: [] }],
      params: Type.Object({ set: Type.String({ maxLength: 64 }) }),
      querystring: Type.Object({
        key: Type.Array(Type.String({ minLength: 1, maxLength: 191 }), { minItems: 1, maxItems: 500, description: 'Entity keys (repeat)' }),
        version: Type.Optional(Type.Integer({ minimum: 1 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ featureSet: Type.String(), entities: Type.Array(Type.Object({
        entityKey: Type.String(), found: Type.Boolean(), eventAt: Nullable(Type.Integer()), createdAt: Nullable(Type.Integer()),
        values: Type.Record(Type.String(), Type.Unknown()), expired: Type.Array(Type.String()), missing: Type.Array(Type.String()),
      })) }) }) },
    preHandler: read,
  }, async (req) => {
    const set = featureSet(req.params.set, req.query.version);
    return { featureSet: featureSetId(set), entities: await opts.online.read(set, req.query.key) };
  });

  app.get('/v1/features/drift', {
    schema: { tags: ['features'], summary: 'Latest feature drift report (PSI per feature, training snapshot vs served values)', security: [{ bearer: [] }],
      response: withErrors({ 200: DriftOut }) },
    preHandler: read,
  }, async () => (await opts.drift.latest()) ?? { computedAt: 0, datasets: [], summary: { stable: 0, warning: 0, drift: 0, insufficient: 0 }, features: [] });

  app.post('/v1/features/drift', {
    schema: { tags: ['features'], summary: 'Recompute drift now against a snapshot (default: the latest of each kind)', security: [{ bearer: [] }],
      body: Type.Object({ datasetId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }),
      response: withErrors({ 200: DriftOut }) },
    preHandler: app.requireScope('admin'),
  }, async (req) => opts.drift.compute(req.body.datasetId ? { datasetId: req.body.datasetId } : {}));
};
