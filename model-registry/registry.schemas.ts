// TypeBox schemas of the registry: what a version declares (validated by the service whether it
// arrives over HTTP or from training code) and the request/response shapes of the routes.
import { Type, type Static } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ModelName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'e.g. matching-ranker' });
/** Not all digits, so an alias is never mistaken for a version number. */
export const AliasName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_-]*$', description: 'e.g. champion, challenger' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex sha256' });
const Tags = Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 500 }), { description: 'string tags' });
const Finite = Type.Number({ minimum: -1e300, maximum: 1e300 });

export const FeatureSetLineage = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }), version: Type.Integer({ minimum: 1 }), schemaHash: Sha256,
}, { additionalProperties: false });

/** Holdout metrics by name: auc (what the champion gate compares), logLoss, ece, precisionAt10… */
export const Metrics = Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Finite, { description: 'holdout metrics by name; `auc` is what the champion gate compares' });

export const Calibration = Type.Object({
  ece: Type.Number({ minimum: 0, maximum: 1, description: 'expected calibration error' }),
  bins: Type.Array(Type.Object({
    lower: Type.Number({ minimum: 0, maximum: 1 }), upper: Type.Number({ minimum: 0, maximum: 1 }),
    count: Type.Integer({ minimum: 0 }),
    meanPredicted: Nullable(Type.Number({ minimum: 0, maximum: 1 })), fractionPositive: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  }, { additionalProperties: false }), { maxItems: 1000, description: 'reliability table' }),
}, { additionalProperties: false });

/** One sensitive attribute's audit, with Fairlearn's definitions. */
export const FairnessByAttribute = Type.Object({
  demographicParityDifference: Type.Number({ minimum: 0, maximum: 1 }),
  disparateImpactRatio: Nullable(Type.Number({ minimum: 0, maximum: 1, description: 'min/max selection rate over groups; null when no group is selected' })),
  equalOpportunityDifference: Type.Number({ minimum: 0, maximum: 1, description: 'max − min true positive rate over groups' }),
  equalizedOddsDifference: Type.Number({ minimum: 0, maximum: 1 }),
  groups: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.Object({
    count: Type.Integer({ minimum: 0 }),
    positives: Type.Optional(Type.Integer({ minimum: 0, description: 'rows labelled 1: the support of the true positive rate' })),
    selectionRate: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
    truePositiveRate: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
    falsePositiveRate: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  }, { additionalProperties: false }))),
}, { additionalProperties: false });

/** Keyed by sensitive attribute; `{}` when the training set declares none. */
export const Fairness = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), FairnessByAttribute);
/** Global importance by feature column. */
export const Importance = Type.Record(Type.String({ minLength: 1, maxLength: 200 }), Finite);

/** Everything a version declares besides its artifact bytes. */
export const VersionSpec = Type.Object({
  algorithm: Type.String({ minLength: 1, maxLength: 64 }),
  hyperparameters: Type.Record(Type.String({ maxLength: 100 }), Type.Unknown()),
  featureSets: Type.Array(FeatureSetLineage, { maxItems: 50 }),
  dataset: Nullable(Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }), contentHash: Sha256 }, { additionalProperties: false })),
  codeVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'git commit, else package version (detected when absent)' })),
  metrics: Metrics,
  calibration: Type.Optional(Nullable(Calibration)),
  fairness: Type.Optional(Nullable(Fairness)),
  importance: Type.Optional(Nullable(Importance)),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
}, { additionalProperties: false });
export type VersionSpec = Static<typeof VersionSpec>;

// --- HTTP shapes ----------------------------------------------------------------------------

export const ModelParams = Type.Object({ model: ModelName });
export const VersionParams = Type.Object({ model: ModelName, version: Type.Integer({ minimum: 1 }) });
export const AliasParams = Type.Object({ model: ModelName, alias: AliasName });

export const CreateModelIn = Type.Object({
  name: ModelName, description: Type.Optional(Type.String({ maxLength: 2000 })), tags: Type.Optional(Tags),
}, { additionalProperties: false });

export const RegisterVersionIn = Type.Object({
  ...VersionSpec.properties,
  artifact: Type.Object({
    base64: Type.String({ minLength: 1, description: 'the artifact bytes, base64' }),
    sha256: Sha256,
    format: Type.String({ minLength: 1, maxLength: 100, description: 'e.g. gigintel-logistic/1' }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export const PromoteIn = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  expectedVersion: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: 'compare-and-set: the version the alias must point at now (null: unset); 409 otherwise' }))),
  reason: Type.Optional(Type.String({ maxLength: 2000 })),
  force: Type.Optional(Type.Boolean({ description: 'override failed gates; needs scope admin and a reason' })),
}, { additionalProperties: false });

export const RollbackIn = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: 2000 }),
  expectedVersion: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false });

export const ModelOut = Type.Object({
  name: Type.String(), description: Type.String(), tags: Tags, latestVersion: Nullable(Type.Integer()),
  aliases: Type.Record(Type.String(), Type.Integer()), createdBy: Type.String(), createdAt: Type.Integer(), updatedAt: Type.Integer(),
}, { description: 'Times are UTC epoch milliseconds.' });

export const VersionOut = Type.Object({
  model: Type.String(), version: Type.Integer(), status: Type.Enum(['registering', 'ready', 'failed']), statusReason: Nullable(Type.String()),
  algorithm: Type.String(), hyperparameters: Type.Record(Type.String(), Type.Unknown()), featureSets: Type.Array(FeatureSetLineage),
  dataset: Nullable(Type.Object({ id: Type.String(), contentHash: Type.String() })), codeVersion: Type.String(),
  metrics: Metrics, calibration: Nullable(Calibration), fairness: Nullable(Fairness), importance: Nullable(Importance),
  artifact: Nullable(Type.Object({ sha256: Type.String(), bytes: Type.Integer(), format: Type.String() })),
  description: Type.String(), aliases: Type.Array(Type.String()), createdBy: Type.String(), createdAt: Type.Integer(), updatedAt: Type.Integer(),
});

export const GateCheckOut = Type.Object({
  name: Type.String(), passed: Type.Boolean(), actual: Type.Unknown(), required: Type.Unknown(),
  by: Nullable(Type.Number({ description: 'how far short of the requirement (positive) when failed' })), message: Type.String(),
  detail: Type.Optional(Type.Unknown({ description: 'fairness checks: groups compared, groups too small to judge, the confidence interval' })),
});
export const GateVerdictOut = Type.Object({ passed: Type.Boolean(), gated: Type.Boolean(), checks: Type.Array(GateCheckOut) });

export const AliasMoveOut = Type.Object({
  id: Type.Integer(), model: Type.String(), alias: Type.String(), kind: Type.Enum(['move', 'rollback']),
  fromVersion: Nullable(Type.Integer()), toVersion: Type.Integer(), reason: Type.String(), gates: Nullable(GateVerdictOut),
  forced: Type.Boolean(), actor: Type.Object({ type: Type.String(), id: Type.String() }), requestId: Nullable(Type.String()), at: Type.Integer(),
});

const Delta = Type.Object({ a: Nullable(Type.Number()), b: Nullable(Type.Number()), delta: Nullable(Type.Number({ description: 'b − a' })) });
export const CompareOut = Type.Object({
  model: Type.String(), a: VersionOut, b: VersionOut,
  metrics: Type.Array(Type.Intersect([Type.Object({ name: Type.String() }), Delta])),
  fairness: Type.Array(Type.Intersect([Type.Object({ attribute: Type.String(), measure: Type.String() }), Delta])),
  importance: Type.Array(Type.Intersect([Type.Object({ feature: Type.String(), rankA: Nullable(Type.Integer()), rankB: Nullable(Type.Integer()) }), Delta])),
  calibration: Type.Object({ ece: Delta, binsA: Type.Array(Type.Unknown()), binsB: Type.Array(Type.Unknown()) }),
});
