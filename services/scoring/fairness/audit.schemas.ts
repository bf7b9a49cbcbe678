// TypeBox shapes of the fairness audit routes: the audit window in, the stored audit out.
import { Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Num = Type.Number();
const Rate = Type.Number({ minimum: 0, maximum: 1 });

const ReliabilityBinOut = Type.Object({
  lower: Num, upper: Num, count: Type.Integer(), meanPredicted: Nullable(Num), fractionPositive: Nullable(Num),
});

const GroupCalibrationOut = Type.Object({
  meanPredicted: Num, fractionPositive: Num, ece: Num, bins: Type.Array(ReliabilityBinOut),
});

export const ClassificationFairnessOut = Type.Object({
  groups: Type.Array(Type.Object({
    group: Type.String(), count: Type.Integer(), positives: Type.Integer(), negatives: Type.Integer(), selected: Type.Integer(),
    selectionRate: Rate, truePositiveRate: Nullable(Rate), falsePositiveRate: Nullable(Rate), calibration: Nullable(GroupCalibrationOut),
  })),
  demographicParityDifference: Num,
  demographicParityRatio: Nullable(Num),
  disparateImpactRatio: Nullable(Num),
  fourFifthsViolated: Nullable(Type.Boolean()),
  equalOpportunityDifference: Num,
  equalOpportunityRatio: Nullable(Num),
  truePositiveRateDifference: Num,
  falsePositiveRateDifference: Num,
  equalizedOddsDifference: Num,
  equalizedOddsRatio: Nullable(Num),
  calibrationEceDifference: Nullable(Num),
}, { description: 'Fairlearn definitions: differences max − min over groups, ratios min / max (null when 0 / 0)' });

export const RankingFairnessOut = Type.Object({
  rankings: Type.Integer(),
  k: Type.Integer(),
  groups: Type.Array(Type.Object({
    group: Type.String(), candidates: Type.Integer(), desiredShare: Num, shareTopK: Num,
    skewAtK: Nullable(Num), meanSkewAtK: Nullable(Num), exposure: Num, exposureShare: Num, meanExposure: Num,
  })),
  minSkewAtK: Nullable(Num),
  maxSkewAtK: Nullable(Num),
  ndkl: Num,
  exposureRatio: Nullable(Num),
}, { description: 'skew@k and NDKL (Geyik et al. 2019), exposure with 1/log2(1 + rank) position weights' });

export const AuditReportOut = Type.Object({
  predictions: Type.Integer(), rankings: Type.Integer(), candidates: Type.Integer(), labelled: Type.Integer(),
  k: Type.Integer(), threshold: Num, truncated: Type.Boolean(),
  attributes: Type.Record(Type.String(), Type.Object({
    known: Type.Integer(), unknown: Type.Integer(),
    ranking: Nullable(RankingFairnessOut),
    classification: Nullable(ClassificationFairnessOut),
  })),
});

export const ModelAuditOut = Type.Object({
  id: Type.Integer(), model: Type.String(), version: Type.Integer(),
  from: Type.Integer({ description: 'window start, epoch ms (inclusive)' }), to: Type.Integer({ description: 'window end, epoch ms (exclusive)' }),
  predictions: Type.Integer(), trigger: Type.Union([Type.Literal('manual'), Type.Literal('schedule')]),
  createdBy: Type.String(), createdAt: Type.Integer(), report: AuditReportOut,
});

export const RunAuditIn = Type.Object({
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms, default `to` − 24 h' })),
  to: Type.Optional(Type.Integer({ minimum: 1, description: 'epoch ms, default now' })),
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'top-k cut-off for selection and skew@k (default 10)' })),
  threshold: Type.Optional(Type.Number({ minimum: -1e9, maximum: 1e9, description: 'score threshold for unranked predictions (default 0.5)' })),
}, { additionalProperties: false });
