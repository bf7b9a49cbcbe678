// GET /v1/pipelines/runs (run history with counts and timings), GET /v1/pipelines/runs/{id},
// POST /v1/pipelines/runs (start one; admin).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { withErrors } from '../../../services/api/schemas.js';
import type { FeaturePipeline } from './feature-pipeline.service.js';

const RUN_STATUSES = ['planned', 'running', 'succeeded', 'failed'] as const;
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const RunOut = Type.Object({
  id: Type.String(), pipeline: Type.String(), status: Type.Enum(RUN_STATUSES),
  trigger: Type.String(), requestedBy: Type.String(), asOf: Type.Integer(), full: Type.Boolean(), advancesWatermark: Type.Boolean(), reconstructs: Type.Boolean(),
  featureSets: Type.Array(Type.Object({ name: Type.String(), version: Type.Integer(), changedSince: Nullable(Type.Integer()), entities: Type.Integer(), chunks: Type.Integer() })),
  chunksTotal: Type.Integer(), chunksDone: Type.Integer(), entities: Type.Integer(), rowsWritten: Type.Integer(),
  createdAt: Type.Integer(), startedAt: Nullable(Type.Integer()), finishedAt: Nullable(Type.Integer()), durationMs: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
}, { description: 'Times are UTC epoch milliseconds.' });

export const pipelineRunsRoutes: FastifyPluginAsyncTypebox<{ pipeline: FeaturePipeline }> = async (app, opts) => {
  app.get('/v1/pipelines/runs', {
    schema: { tags: ['features'], summary: 'Batch feature pipeline runs, newest first', security: [{ bearer: [] }],
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        before: Type.Optional(Type.Integer({ minimum: 0, description: 'Only runs created before this time (for the next page: the last createdAt)' })),
        status: Type.Optional(Type.Enum(RUN_STATUSES)),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ runs: Type.Array(RunOut) }) }) },
    preHandler: app.requireScope('features:read'),
  }, async (req) => ({ runs: await opts.pipeline.list(req.query) }));

  app.get('/v1/pipelines/runs/:id', {
    schema: { tags: ['features'], summary: 'One pipeline run', security: [{ bearer: [] }],
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: withErrors({ 200: RunOut }) },
    preHandler: app.requireScope('features:read'),
  }, async (req) => opts.pipeline.get(req.params.id));

  app.post('/v1/pipelines/runs', {
    schema: { tags: ['features'], summary: 'Start a batch feature run (or resume a failed one with resume)', security: [{ bearer: [] }],
      body: Type.Object({
        full: Type.Optional(Type.Boolean()),
        asOf: Type.Optional(Type.Integer({ minimum: 0, description: 'UTC ms: compute values as they were then (a backfill)' })),
        sets: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 50 })),
        reconstruct: Type.Optional(Type.Boolean({ description: 'With asOf: stamp history rows as created at asOf (rebuilding history from imported data)' })),
        resume: Type.Optional(Type.String({ maxLength: 64, description: 'Resume this failed run instead of starting one' })),
      }, { additionalProperties: false }),
      response: withErrors({ 202: RunOut, 409: Type.Ref('ErrorResponse') }) },
    preHandler: app.requireScope('admin'),
  }, async (req, reply) => {
    const b = req.body;
    const run = b.resume ? await opts.pipeline.resume(b.resume) : await opts.pipeline.start({
      trigger: 'api', requestedBy: `api_key:${req.principal?.keyId ?? 'unknown'}`,
      ...(b.full ? { full: true } : {}), ...(b.asOf !== undefined ? { asOf: b.asOf } : {}), ...(b.sets ? { sets: b.sets } : {}),
      ...(b.reconstruct ? { reconstruct: true } : {}),
    });
    return reply.status(202).send(run);
  });
};
