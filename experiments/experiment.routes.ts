// /v1/experiments…: definitions and their lifecycle (experiments:write), reading them and their
// results (experiments:read), and the assignment of a unit for callers other than scoring (score).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../platform/audit/audit-log.js';
import type { Principal } from '../services/api/auth/api-key.service.js';
import { withErrors } from '../services/api/schemas.js';
import { AssignIn, AssignOut, ExperimentIn, ExperimentKey, ExperimentOut, ExperimentPatch } from './experiment.schemas.js';
import type { ExperimentService } from './experiment.service.js';

const tags = ['experiments'];
const security = [{ bearer: [] }];
const ref = Type.Ref('ErrorResponse');
const actorOf = (p: Principal | null): Actor => ({ type: 'api_key', id: p?.keyId ?? 'unknown', ...(p?.name ? { name: p.name } : {}) });
const Params = Type.Object({ key: ExperimentKey });
const Reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
/** Reports are deep and versioned with the stats code: described in docs/api.md, passed through as is. */
const Report = Type.Record(Type.String(), Type.Unknown());
const Num = Type.Union([Type.Number(), Type.Null()]);
const AnalysisPointOut = Type.Object({
  analyzedAt: Type.Integer(), phase: Type.Integer(), trigger: Type.String(), metric: Type.Union([Type.String(), Type.Null()]), srmPValue: Num,
  variants: Type.Array(Type.Object({
    variant: Type.String(), sequentialPValue: Num, fixedPValue: Num, relativeLift: Num,
    relativeCi: Type.Union([Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), Type.Null()]),
  })),
});
const AuditEntryOut = Type.Object({
  id: Type.Integer(), at: Type.Integer(), actor: Type.Object({ type: Type.String(), id: Type.String() }),
  action: Type.String(), details: Type.Unknown(), requestId: Type.Union([Type.String(), Type.Null()]),
});

export const experimentRoutes: FastifyPluginAsyncTypebox<{ experiments: ExperimentService }> = async (app, opts) => {
  const x = opts.experiments;
  const read = app.requireScope('experiments:read');
  const write = app.requireScope('experiments:write');

  app.post('/v1/experiments', {
    schema: { tags, security, summary: 'Define an experiment (a draft)', body: ExperimentIn, response: withErrors({ 201: ExperimentOut, 409: ref }) },
    preHandler: write,
  }, async (req, reply) => reply.status(201).send(await x.create(req.body, actorOf(req.principal))));

  app.get('/v1/experiments', {
    schema: { tags, security, summary: 'Experiments by key',
      querystring: Type.Object({
        status: Type.Optional(Type.Union(['draft', 'running', 'stopped', 'rolled_back'].map((s) => Type.Literal(s)))),
        model: Type.Optional(Type.String({ maxLength: 100 })),
        after: Type.Optional(Type.String({ maxLength: 100 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ experiments: Type.Array(ExperimentOut) }) }) },
    preHandler: read,
  }, async (req) => ({ experiments: await x.list(req.query) }));

  app.get('/v1/experiments/:key', {
    schema: { tags, security, summary: 'One experiment with its phases', params: Params,
      response: withErrors({ 200: Type.Object({ ...ExperimentOut.properties, phases: Type.Array(Type.Object({ phase: Type.Integer(), weights: Type.Array(Type.Number()), coverage: Type.Number(), reason: Type.String(), startedAt: Type.Integer(), endedAt: Type.Union([Type.Integer(), Type.Null()]) })) }) }) },
    preHandler: read,
  }, async (req) => ({ ...await x.get(req.params.key), phases: await x.phases(req.params.key) }));

  app.patch('/v1/experiments/:key', {
    schema: { tags, security, summary: 'Change a draft; on a running experiment, weights or coverage start a new phase (reason required)', params: Params, body: ExperimentPatch, response: withErrors({ 200: ExperimentOut, 409: ref }) },
    preHandler: write,
  }, async (req) => x.update(req.params.key, req.body, actorOf(req.principal)));

  app.post('/v1/experiments/:key/start', {
    schema: { tags, security, summary: 'Start a draft: units are assigned and exposures logged from now on', params: Params, response: withErrors({ 200: ExperimentOut, 409: ref }) },
    preHandler: write,
  }, async (req) => x.start(req.params.key, actorOf(req.principal)));

  app.post('/v1/experiments/:key/stop', {
    schema: { tags, security, summary: 'Stop a running experiment (everyone served control)', params: Params, body: Reason, response: withErrors({ 200: ExperimentOut, 409: ref }) },
    preHandler: write,
  }, async (req) => x.stop(req.params.key, actorOf(req.principal), req.body.reason));

  app.post('/v1/experiments/:key/rollback', {
    schema: { tags, security, summary: 'The kill switch: roll back now, all traffic to control; recorded and announced by webhook', params: Params, body: Reason, response: withErrors({ 200: ExperimentOut, 409: ref }) },
    preHandler: write,
  }, async (req) => x.rollback(req.params.key, actorOf(req.principal), req.body.reason));

  app.post('/v1/experiments/:key/assign', {
    schema: { tags, security, summary: 'The variant of a unit (GrowthBook-compatible hashing); logs its first exposure', params: Params, body: AssignIn, response: withErrors({ 200: AssignOut }) },
    preHandler: app.requireScope('score'),
  }, async (req) => {
    const a = await x.assign(req.params.key, req.body.unitId, req.body.attributes ?? {}, { log: req.body.log ?? true });
    return { experiment: a.experiment, phase: a.phase, unitId: req.body.unitId, inExperiment: a.inExperiment, variant: a.variant.key, variationIndex: a.variationIndex, payload: a.variant.payload, reason: a.reason, bucket: a.bucket };
  });

  app.post('/v1/experiments/:key/exposures', {
    schema: { tags, security, summary: 'Exposures recorded elsewhere (an SDK\'s tracking callback): bad rows refused by index, the rest kept; a unit\'s first exposure stays', params: Params,
      body: Type.Object({ exposures: Type.Array(Type.Object({ unitId: Type.String(), variant: Type.String(), at: Type.Number() }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ accepted: Type.Integer(), inserted: Type.Integer(), refused: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })) }), 409: ref }) },
    preHandler: app.requireScope('ingest'),
  }, async (req) => x.recordExposures(req.params.key, req.body.exposures));

  app.post('/v1/experiments/events', {
    schema: { tags, security, summary: 'Outcome facts for events.<name> metrics (conversions, purchases…): bad rows refused by index, the rest kept',
      body: Type.Object({ events: Type.Array(Type.Object({ name: Type.String(), unitId: Type.String(), value: Type.Optional(Type.Number()), at: Type.Number() }), { minItems: 1, maxItems: 10_000 }) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ inserted: Type.Integer(), refused: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })) }) }) },
    preHandler: app.requireScope('ingest'),
  }, async (req) => x.recordEvents(req.body.events));

  app.post('/v1/experiments/:key/analyze', {
    schema: { tags, security, summary: 'Analyse now (every metric, SRM, guardrails); a breached guardrail or SRM rolls a running experiment back', params: Params,
      querystring: Type.Object({
        to: Type.Optional(Type.Integer({ minimum: 0, description: 'facts before this time (ms) count; default now' })),
        act: Type.Optional(Type.Boolean({ description: 'roll back on a breach (default true)' })),
        rebuild: Type.Optional(Type.Boolean({ description: 'MySQL: compute the kept per-unit values of events.* metrics again from all facts (default false: only the units that changed)' })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Report, 409: ref }) },
    preHandler: write,
  }, async (req) => x.analyze(req.params.key, {
    trigger: 'manual', ...(req.query.to !== undefined ? { to: req.query.to } : {}), act: req.query.act ?? true, rebuild: req.query.rebuild ?? false, actor: actorOf(req.principal),
  }) as unknown as Record<string, unknown>);

  app.get('/v1/experiments/:key/analyses', {
    schema: { tags, security, summary: 'The primary metric over the stored analyses, oldest first: sequential and fixed p-values and the relative lift per variant', params: Params,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ analyses: Type.Array(AnalysisPointOut) }) }) },
    preHandler: read,
  }, async (req) => ({ analyses: await x.analysisHistory(req.params.key, req.query.limit) }));

  app.get('/v1/experiments/:key/audit', {
    schema: { tags, security, summary: 'The experiment\'s audit trail (created, started, phases, stopped, rolled back…), newest first', params: Params,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ entries: Type.Array(AuditEntryOut) }) }) },
    preHandler: read,
  }, async (req) => ({ entries: await x.auditTrail(req.params.key, req.query.limit) }));

  app.get('/v1/experiments/:key/results', {
    schema: { tags, security, summary: 'The latest analysis (scheduled or on demand)', params: Params, response: withErrors({ 200: Type.Object({ results: Type.Union([Report, Type.Null()]) }) }) },
    preHandler: read,
  }, async (req) => ({ results: await x.results(req.params.key) as unknown as Record<string, unknown> | null }));
};
