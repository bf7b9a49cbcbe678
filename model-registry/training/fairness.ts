// Group fairness of thresholded predictions by a sensitive feature, with Fairlearn's definitions
// (fairlearn.metrics, "Common fairness metrics"): differences are max − min over groups, ratios
// min / max; equalized odds takes the worse of the TPR and FPR disparities.
import { ValidationError } from '../../platform/errors/app-error.js';

export interface GroupRates {
  group: string;
  count: number;
  /** Rows labelled 1 / 0 in the group. */
  positives: number;
  negatives: number;
  /** Share predicted 1. */
  selectionRate: number;
  /** P(pred 1 | label 1); NaN without positives. */
  tpr: number;
  /** P(pred 1 | label 0); NaN without negatives. */
  fpr: number;
}

export interface FairnessReport {
  groups: GroupRates[];
  demographicParityDifference: number;
  /** min / max selection rate: the disparate-impact ratio. */
  demographicParityRatio: number;
  /** max − min TPR. */
  equalOpportunityDifference: number;
  /** max(TPR difference, FPR difference). */
  equalizedOddsDifference: number;
  /** min(TPR ratio, FPR ratio). */
  equalizedOddsRatio: number;
}

/**
 * Fairness of `yPred` (0/1, or probabilities thresholded at `threshold`) against `yTrue` across the
 * groups of `sensitive` (null becomes the group "null"). Groups lacking a class are left out of
 * that class's rate disparities, as NaN rates would make them meaningless.
 */
export function fairnessReport(
  yTrue: ArrayLike<number>, yPred: ArrayLike<number>, sensitive: ArrayLike<string | number | null>, threshold = 0.5,
): FairnessReport {
  if (yTrue.length !== yPred.length || yTrue.length !== sensitive.length) {
    throw new ValidationError('yTrue, yPred and sensitive must have the same length', [{ path: 'sensitive', message: `must have ${yTrue.length} values` }]);
  }
  const acc = new Map<string, { n: number; sel: number; pos: number; tp: number; neg: number; fp: number }>();
  for (let i = 0; i < yTrue.length; i++) {
    const g = String(sensitive[i] ?? 'null');
    let a = acc.get(g);
    if (!a) acc.set(g, a = { n: 0, sel: 0, pos: 0, tp: 0, neg: 0, fp: 0 });
    const pred = yPred[i]! >= threshold ? 1 : 0;
    a.n++; a.sel += pred;
    if (yTrue[i] === 1) { a.pos++; a.tp += pred; } else { a.neg++; a.fp += pred; }
  }
  const groups: GroupRates[] = [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, a]) => ({
    group, count: a.n, positives: a.pos, negatives: a.neg,
    selectionRate: a.sel / a.n, tpr: a.pos ? a.tp / a.pos : NaN, fpr: a.neg ? a.fp / a.neg : NaN,
  }));
  const sel = spread(groups.map((g) => g.selectionRate));
  const tpr = spread(groups.map((g) => g.tpr));
  const fpr = spread(groups.map((g) => g.fpr));
  return {
    groups,
    demographicParityDifference: sel.difference,
    demographicParityRatio: sel.ratio,
    equalOpportunityDifference: tpr.difference,
    equalizedOddsDifference: Math.max(tpr.difference, fpr.difference),
    equalizedOddsRatio: Math.min(tpr.ratio, fpr.ratio),
  };
}

function spread(values: number[]): { difference: number; ratio: number } {
  const v = values.filter((x) => !Number.isNaN(x));
  if (!v.length) return { difference: NaN, ratio: NaN };
  const max = Math.max(...v), min = Math.min(...v);
  return { difference: max - min, ratio: max === 0 ? 1 : min / max };
}
