// Which features a logistic model leans on. Coefficients on the standardised scale are comparable
// across features (the log-odds change for one standard deviation); permutation importance on a
// holdout measures the AUC lost when one feature's values are shuffled, i.e. what the model
// actually uses on unseen rows.
import { ValidationError } from '../../platform/errors/app-error.js';
import { Random } from '../../pipelines/synthetic/random.js';
import type { Design } from './design.js';
import { rawScale, sigmoid, type LogisticModel } from './logistic-regression.js';
import { auc } from './metrics.js';

export interface CoefficientImportance { feature: string; importance: number; coef: number }

/** |coef| on the standardised scale, largest first (ties by name), with the signed coefficient. */
export function coefficientImportance(model: LogisticModel): CoefficientImportance[] {
  return model.featureNames
    .map((feature, j) => ({ feature, importance: Math.abs(model.coef[j]!), coef: model.coef[j]! }))
    .sort((a, b) => b.importance - a.importance || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
}

export interface PermutationImportance { feature: string; aucDrop: number; aucDropStd: number }

/**
 * Mean (and standard deviation over `repeats`) drop of holdout AUC when each feature column is
 * permuted, seeded. Only the permuted feature's term of the margin changes, so each shuffle costs
 * one pass over the rows rather than a full prediction.
 */
export function permutationImportance(
  model: LogisticModel, X: Design, y: ArrayLike<number>, opts: { seed: string | number; repeats?: number },
): PermutationImportance[] {
  const repeats = opts.repeats ?? 3;
  if (X.cols !== model.coef.length) throw new ValidationError(`X has ${X.cols} columns, the model ${model.coef.length}`, [{ path: 'X', message: `must have ${model.coef.length} columns` }]);
  if (y.length !== X.rows) throw new ValidationError('y must have one label per row', [{ path: 'y', message: `must have ${X.rows} values` }]);
  const { rows: n, cols: d, data } = X;
  const { weights, bias } = rawScale(model);
  const eta = new Float64Array(n);
  for (let i = 0; i < n; i++) { let e = bias; for (let j = 0; j < d; j++) e += weights[j]! * data[i * d + j]!; eta[i] = e; }
  const base = auc(y, Float64Array.from(eta, sigmoid));
  const rng = new Random(opts.seed, 'permutation-importance');
  const perm = new Int32Array(n);
  const p = new Float64Array(n);
  const out: PermutationImportance[] = [];
  for (let j = 0; j < d; j++) {
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      for (let i = 0; i < n; i++) perm[i] = i;
      for (let i = n - 1; i > 0; i--) { const k = Math.floor(rng.next() * (i + 1)); const t = perm[i]!; perm[i] = perm[k]!; perm[k] = t; }
      const w = weights[j]!;
      for (let i = 0; i < n; i++) p[i] = sigmoid(eta[i]! + w * (data[perm[i]! * d + j]! - data[i * d + j]!));
      drops.push(base - auc(y, p));
    }
    const mean = drops.reduce((s, x) => s + x, 0) / repeats;
    const sd = Math.sqrt(drops.reduce((s, x) => s + (x - mean) ** 2, 0) / repeats);
    out.push({ feature: model.featureNames[j]!, aucDrop: mean, aucDropStd: sd });
  }
  return out.sort((a, b) => b.aucDrop - a.aucDrop);
}
