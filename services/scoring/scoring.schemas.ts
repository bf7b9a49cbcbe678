// TypeBox schemas of the scoring endpoints (/v1/match/*, /v1/ads/score, /v1/predictions/{id})
// and of the Open Inference Protocol V2 surface (/v2/…).
import { Type } from 'typebox';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A job by id (its stored features), inline job_profile fields, or both (inline fields win). */
export const JobIn = Type.Object({
  id: Type.Optional(Id),
}, { additionalProperties: true, description: 'job id and/or job_profile fields inline (required_skill_ids, category_id, hourly_budget_min_minor, …)' });

const Contribution = Type.Object({
  feature: Type.String(), label: Type.String(), value: Type.Unknown(), phi: Type.Number(),
  direction: Type.Union([Type.Literal('up'), Type.Literal('down')]), reason: Type.String(),
});
export const ExplanationOut = Type.Object({
  method: Type.String({ description: 'shap-linear (exact, logistic) or integrated-gradients (MLP)' }),
  base: Type.Number({ description: 'logit at the training means' }),
  logit: Type.Number(), score: Type.Number(),
  completenessError: Type.Optional(Type.Number()),
  contributions: Type.Array(Contribution),
}, { description: 'base + Σφ = logit (exactly for shap-linear)' });

const Problems = Type.Object({
  missing: Type.Array(Type.String(), { description: 'model columns the online store did not hold: encoded as at training (mean + missing indicator)' }),
  expired: Type.Array(Type.String(), { description: 'model columns held past their TTL: treated as missing' }),
});

const ServedBy = {
  predictionId: Type.String({ description: 'GET /v1/predictions/{id} returns what was scored, with which features and why' }),
  model: Type.String(), version: Type.Integer(), alias: Type.String(),
  route: Type.Union([Type.Literal('serve'), Type.Literal('canary')], { description: 'canary: the unit falls in the canary share' }),
  variant: Nullable(Type.String({ description: 'the experiment variant, when an experiment applies' })),
};

const Scored = Type.Object({
  id: Type.String(), score: Type.Number(), rank: Nullable(Type.Integer()),
  explanation: Type.Optional(ExplanationOut), features: Type.Optional(Problems),
});

export const RankIn = Type.Object({
  job: JobIn,
  candidates: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000, description: 'provider ids; absent: pre-filter the pool by the job\'s required skills (or category) and availability' })),
  k: Type.Integer({ minimum: 1, maximum: 10_000, default: 10 }),
  explain: Type.Boolean({ default: false }),
  unitId: Type.Optional(Id),
  activeWithinDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'pre-filter: active within this many days (default 30)' })),
}, { additionalProperties: false });

export const RankOut = Type.Object({
  ...ServedBy,
  job: Type.Object({ id: Nullable(Type.String()) }),
  candidates: Type.Object({ considered: Type.Integer(), source: Type.Union([Type.Literal('given'), Type.Literal('prefilter')]) }),
  results: Type.Array(Scored),
});

export const ScoreIn = Type.Object({
  pairs: Type.Array(Type.Union([
    Type.Object({ job: JobIn, providerId: Id }, { additionalProperties: false }),
    Type.Object({ features: Type.Record(Type.String(), Type.Unknown(), { description: 'model columns (set__feature) → raw values' }) }, { additionalProperties: false }),
  ]), { minItems: 1, maxItems: 10_000 }),
  explain: Type.Boolean({ default: false }),
  unitId: Type.Optional(Id),
}, { additionalProperties: false });

export const ScoreOut = Type.Object({ ...ServedBy, results: Type.Array(Scored) });

export const AdsIn = Type.Object({
  placementId: Id,
  userId: Type.Optional(Id), ip: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  device: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  creatives: Type.Array(Id, { minItems: 1, maxItems: 10_000 }),
  explain: Type.Boolean({ default: false }),
  unitId: Type.Optional(Id),
}, { additionalProperties: false });

export const AdsOut = Type.Object({
  ...ServedBy,
  results: Type.Array(Type.Object({
    creativeId: Type.String(), campaignId: Type.String(), ctr: Type.Number(), rank: Type.Integer(),
    explanation: Type.Optional(ExplanationOut), features: Type.Optional(Problems),
  })),
});

export const PredictionOut = Type.Object({
  id: Type.String(), requestId: Nullable(Type.String()), endpoint: Type.String(),
  model: Type.String(), version: Type.Integer(), alias: Type.String(), role: Type.String(),
  experiment: Nullable(Type.String()), variant: Nullable(Type.String()),
  unitId: Nullable(Type.String()), contextId: Nullable(Type.String()),
  candidates: Type.Array(Type.Object({ id: Type.String(), score: Type.Number(), rank: Nullable(Type.Integer()) })),
  featuresHash: Type.String(),
  features: Nullable(Type.Record(Type.String(), Type.Unknown())),
  explanations: Nullable(Type.Record(Type.String(), Type.Unknown())),
  missing: Nullable(Type.Record(Type.String(), Type.Unknown())),
  actor: Nullable(Type.String()),
  createdAt: Type.Integer(),
  shadow: Type.Optional(Type.Object({ id: Type.String(), version: Type.Integer(), alias: Type.String(), candidates: Type.Array(Type.Object({ id: Type.String(), score: Type.Number(), rank: Nullable(Type.Integer()) })) })),
});

// --- Open Inference Protocol V2 ------------------------------------------------------------------

export const V2ModelParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
export const V2VersionParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }), version: Type.String({ pattern: '^[0-9]{1,9}$' }) });

const TensorMeta = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
export const V2ModelMetadata = Type.Object({
  name: Type.String(), versions: Type.Array(Type.String()), platform: Type.String(),
  inputs: Type.Array(TensorMeta), outputs: Type.Array(TensorMeta),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

const Numbers = Type.Array(Type.Union([Type.Number(), Type.Array(Type.Number())]));
export const V2InferIn = Type.Object({
  id: Type.Optional(Type.String({ maxLength: 200 })),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  inputs: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 200 }),
    shape: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 2 }),
    datatype: Type.Union(['FP64', 'FP32', 'INT64', 'INT32'].map((t) => Type.Literal(t))),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    data: Numbers,
  }), { minItems: 1, maxItems: 10_000 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String() }))),
});
export const V2InferOut = Type.Object({
  model_name: Type.String(), model_version: Type.String(), id: Type.String(),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  outputs: Type.Array(Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()), data: Type.Array(Type.Number()) })),
});
