// TypeBox response shapes of explanations and global importance, for the scoring routes, the
// prediction log read-back and the registry (the JSON of explanation.ts's and global-importance.ts's results).
import { Type, type Static } from 'typebox';

const FeatureValueOut = Type.Union([
  Type.Number(), Type.String(), Type.Boolean(), Type.Null(),
  Type.Array(Type.String()), Type.Array(Type.Number()),
], { description: 'the raw feature value (null when missing or unknown)' });

export const ContributionOut = Type.Object({
  feature: Type.String({ description: 'raw feature, e.g. match_pair__required_skill_coverage' }),
  label: Type.String({ description: 'readable name, e.g. "required skill coverage"' }),
  value: FeatureValueOut,
  phi: Type.Number({ description: 'contribution to the logit (log-odds), summed over the feature\'s design columns' }),
  direction: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  reason: Type.String({ description: 'e.g. "5 of 6 required skills" or "smoothed rating 4.71 raises the score"' }),
}, { additionalProperties: false });

export const ExplanationOut = Type.Object({
  method: Type.Union([Type.Literal('shap-linear'), Type.Literal('integrated-gradients')]),
  base: Type.Number({ description: 'the logit at the training means; base + Σφ over all features = logit' }),
  logit: Type.Number(),
  score: Type.Number(),
  completenessError: Type.Optional(Type.Number({ minimum: 0, description: 'Integrated Gradients: |Σφ − (logit − base)|' })),
  contributions: Type.Array(ContributionOut, { description: 'top K features by |φ|, largest first' }),
}, { additionalProperties: false });

export const FeatureImportanceOut = Type.Object({
  feature: Type.String(),
  label: Type.String(),
  meanAbsPhi: Type.Number({ minimum: 0, description: 'mean |φ| over the rows (log-odds)' }),
  meanPhi: Type.Number({ description: 'mean signed φ' }),
}, { additionalProperties: false });

export const GlobalImportanceOut = Type.Object({
  method: Type.Union([Type.Literal('shap-linear'), Type.Literal('integrated-gradients')]),
  rows: Type.Integer({ minimum: 0 }),
  features: Type.Array(FeatureImportanceOut),
}, { additionalProperties: false });

export type ExplanationJson = Static<typeof ExplanationOut>;
export type GlobalImportanceJson = Static<typeof GlobalImportanceOut>;
