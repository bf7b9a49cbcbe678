// Global importance of a model version: mean |φ| per raw feature over a set of rows (the
// version's holdout), from the same attributions the per-request explanations use, so the
// registry's ranking of features and a single explanation never disagree on what φ means.
import { ValidationError } from '../../../platform/errors/app-error.js';
import type { FeatureGroups } from './feature-groups.js';
import { createExplainer, type ExplainableModel, type ExplanationMethod } from './explanation.js';
import type { IntegratedGradientsOptions } from './integrated-gradients.js';

export interface FeatureImportance {
  feature: string;
  label: string;
  /** Mean |φ| over the rows, in log-odds. */
  meanAbsPhi: number;
  /** Mean signed φ: near 0 when the feature pushes both ways. */
  meanPhi: number;
}

/**
 * Mean |φ| and mean φ per raw feature from `phi` (n × groups.features.length, row-major, as
 * Explainer.attributions returns), largest mean |φ| first (ties by feature name).
 */
export function globalImportance(groups: Pick<FeatureGroups, 'features' | 'labels'>, phi: ArrayLike<number>, n: number): FeatureImportance[] {
  const g = groups.features.length;
  if (!Number.isInteger(n) || n < 0) throw new ValidationError('n must be a non-negative integer', [{ path: 'n', message: 'must be a non-negative integer' }]);
  if (phi.length < n * g) throw new ValidationError(`phi holds ${phi.length} values, ${n} rows need ${n * g}`, [{ path: 'phi', message: `must hold n × ${g} values` }]);
  const abs = new Float64Array(g);
  const sum = new Float64Array(g);
  for (let r = 0; r < n; r++) {
    for (let f = 0, o = r * g; f < g; f++, o++) { const p = phi[o]!; abs[f] = abs[f]! + Math.abs(p); sum[f] = sum[f]! + p; }
  }
  const rows = Math.max(n, 1);
  return groups.features
    .map((feature, f) => ({ feature, label: groups.labels[f]!, meanAbsPhi: abs[f]! / rows, meanPhi: sum[f]! / rows }))
    .sort((a, b) => b.meanAbsPhi - a.meanAbsPhi || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
}

/** A model's global importance on n design rows (its holdout), with the method that produced the φ. */
export function modelImportance(
  loaded: ExplainableModel, rows: Float64Array, n: number, opts: IntegratedGradientsOptions = {},
): { method: ExplanationMethod; rows: number; features: FeatureImportance[] } {
  const explainer = createExplainer(loaded, opts);
  // Chunks bound the buffers for a large holdout; φ is per row, so chunking changes nothing.
  const chunk = 1024;
  const d = explainer.featureNames.length;
  const g = explainer.groups.features.length;
  const phi = new Float64Array(n * g);
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const m = Math.min(chunk, n - r0);
    phi.set(explainer.attributions(rows.subarray(r0 * d, (r0 + m) * d), m).phi, r0 * g);
  }
  return { method: explainer.method, rows: n, features: globalImportance(explainer.groups, phi, n) };
}
