// /v1/match/rank, /v1/match/score, /v1/ads/score (scope score) and /v1/predictions/{id}: every
// response names the model, version and route that served it and a prediction id to look it up.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError } from '../../platform/errors/app-error.js';
import { withErrors } from '../api/schemas.js';
import { AdsIn, AdsOut, PredictionOut, RankIn, RankOut, ScoreIn, ScoreOut } from './scoring.schemas.js';
import type { CallContext, ScoringService } from './scoring.service.js';

const tags = ['scoring'];
const security = [{ bearer: [] }];
const parse = (v: string | null) => (v === null ? null : JSON.parse(v) as Record<string, unknown>);

export const scoringRoutes: FastifyPluginAsyncTypebox<{ scoring: ScoringService }> = async (app, opts) => {
  const { scoring } = opts;
  const score = app.requireScope('score');
  const ctxOf = (req: { id: string; principal?: { keyId: string } | null }): CallContext => ({ requestId: req.id, actor: req.principal ? `api_key:${req.principal.keyId}` : null });

  app.post('/v1/match/rank', {
    schema: { tags, security, summary: 'Rank providers for a job: given candidates, or found by the pre-filter; top k with scores and (explain) why',
      body: RankIn, response: withErrors({ 200: RankOut }) },
    preHandler: score,
  }, async (req) => scoring.rankMatch(req.body, ctxOf(req)));

  app.post('/v1/match/score', {
    schema: { tags, security, summary: 'Score (job, provider) pairs, or pairs given as inline model columns',
      body: ScoreIn, response: withErrors({ 200: ScoreOut }) },
    preHandler: score,
  }, async (req) => scoring.scoreMatch(req.body, ctxOf(req)));

  app.post('/v1/ads/score', {
    schema: { tags, security, summary: 'Predicted CTR of candidate creatives in a placement context',
      body: AdsIn, response: withErrors({ 200: AdsOut }) },
    preHandler: score,
  }, async (req) => scoring.scoreAds(req.body, ctxOf(req)));

  app.get('/v1/predictions/:id', {
    schema: { tags, security, summary: 'A logged prediction: who was scored, by which version, with which features and why',
      params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 40 }) }), response: withErrors({ 200: PredictionOut }) },
    preHandler: score,
  }, async (req) => {
    const row = await scoring.getPrediction(req.params.id);
    if (!row) throw new NotFoundError(`no prediction ${req.params.id} (predictions are logged within about a second of the response)`, { id: req.params.id });
    const shadow = await scoring.getPrediction(`${row.id}.shadow`);
    return {
      id: row.id, requestId: row.request_id, endpoint: row.endpoint, model: row.model, version: Number(row.version), alias: row.alias, role: row.role,
      experiment: row.experiment, variant: row.variant, unitId: row.unit_id, contextId: row.context_id,
      candidates: JSON.parse(row.candidates) as { id: string; score: number; rank: number | null }[],
      featuresHash: row.features_hash, features: parse(row.features), explanations: parse(row.explanations), missing: parse(row.missing),
      actor: row.actor, createdAt: Number(row.created_at),
      ...(shadow ? { shadow: { id: shadow.id, version: Number(shadow.version), alias: shadow.alias, candidates: JSON.parse(shadow.candidates) as { id: string; score: number; rank: number | null }[] } } : {}),
    };
  });
};
