// TypeBox schemas of experiments: what a definition may say (validated by the service whether it
// arrives over HTTP or from a file given to the CLI) and the shapes the routes return.
import { Type, type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ExperimentKey = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9_.-]*$', description: 'e.g. ranker-v7-vs-v6' });
const Share = Type.Number({ minimum: 0, maximum: 1 });

export const VariantIn = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
  name: Type.Optional(Type.String({ maxLength: 200 })),
  weight: Type.Optional(Share),
  /** For model experiments: which alias or version of the model this variant serves. */
  payload: Type.Optional(Type.Object({
    alias: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_-]*$' })),
  }, { additionalProperties: true })),
}, { additionalProperties: false });

export const GuardrailIn = Type.Object({
  metric: Type.String({ minLength: 1, maxLength: 100 }),
  /** Largest allowed relative degradation, e.g. 0.02 = 2 % worse than control. */
  maxDegradation: Type.Number({ minimum: 0, maximum: 10 }),
}, { additionalProperties: false });

export const NamespaceIn = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  start: Share,
  end: Share,
}, { additionalProperties: false });

export const ExperimentIn = Type.Object({
  key: ExperimentKey,
  hypothesis: Type.String({ minLength: 1, maxLength: 5000 }),
  unitType: Type.Union([Type.Literal('user'), Type.Literal('client'), Type.Literal('provider'), Type.Literal('job'), Type.Literal('session')]),
  model: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
  variants: Type.Array(VariantIn, { minItems: 2, maxItems: 20, description: 'control first; weights default to equal and must sum to 1' }),
  coverage: Type.Optional(Share),
  namespace: Type.Optional(Nullable(NamespaceIn)),
  conditions: Type.Optional(Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'targeting on unit attributes: { attr: value | { $in, $nin, $gt, $gte, $lt, $lte, $ne, $exists } }' }))),
  primaryMetric: Type.String({ minLength: 1, maxLength: 100 }),
  secondaryMetrics: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
  guardrails: Type.Optional(Type.Array(GuardrailIn, { maxItems: 20 })),
  mde: Type.Optional(Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 10, description: 'minimum detectable relative effect' }))),
  hashVersion: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  seed: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
}, { additionalProperties: false });
export type ExperimentInput = Static<typeof ExperimentIn>;

/** What may change: anything while a draft; while running only weights and coverage (a new phase) and the texts. */
export const ExperimentPatch = Type.Object({
  hypothesis: Type.Optional(Type.String({ minLength: 1, maxLength: 5000 })),
  weights: Type.Optional(Type.Array(Share, { minItems: 2, maxItems: 20 })),
  coverage: Type.Optional(Share),
  guardrails: Type.Optional(Type.Array(GuardrailIn, { maxItems: 20 })),
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
}, { additionalProperties: false });

export const ExperimentOut = Type.Object({
  key: Type.String(), hypothesis: Type.String(), unitType: Type.String(), model: Nullable(Type.String()),
  variants: Type.Array(Type.Object({ key: Type.String(), name: Type.String(), weight: Type.Number(), payload: Type.Record(Type.String(), Type.Unknown()) })),
  coverage: Type.Number(), namespace: Nullable(Type.Object({ name: Type.String(), start: Type.Number(), end: Type.Number() })),
  conditions: Nullable(Type.Record(Type.String(), Type.Unknown())),
  primaryMetric: Type.String(), secondaryMetrics: Type.Array(Type.String()),
  guardrails: Type.Array(Type.Object({ metric: Type.String(), maxDegradation: Type.Number() })),
  mde: Nullable(Type.Number()), hashVersion: Type.Integer(), seed: Type.String(),
  status: Type.String(), statusReason: Nullable(Type.String()), phase: Type.Integer(),
  startedAt: Nullable(Type.Integer()), stoppedAt: Nullable(Type.Integer()),
  createdBy: Type.String(), createdAt: Type.Integer(), updatedAt: Type.Integer(),
});

export const AssignIn = Type.Object({
  unitId: Type.String({ minLength: 1, maxLength: 200 }),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** Record the exposure (default true): the first one per unit is kept. */
  log: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const AssignOut = Type.Object({
  experiment: Type.String(), phase: Type.Integer(), unitId: Type.String(),
  inExperiment: Type.Boolean(), variant: Type.String(), variationIndex: Type.Integer(),
  payload: Type.Record(Type.String(), Type.Unknown()),
  reason: Type.String(), bucket: Nullable(Type.Number()),
});
