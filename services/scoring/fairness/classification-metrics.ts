// Group fairness of a binary classifier, defined exactly as Fairlearn defines it (fairlearn.metrics,
// MetricFrame "between_groups"): a difference is max − min over groups, a ratio min / max (0 / 0 is
// undefined, reported as null); equalized odds takes the worse of the TPR and FPR disparities.
// Like Fairlearn (sklearn's confusion_matrix normalised by row, NaN turned into 0), a group without
// positives has TPR 0 and one without negatives FPR 0 in those aggregates; the per-group rows show
// null there instead so a reader can tell "no data" from "never selected".
import { ValidationError } from '../../../platform/errors/app-error.js';

/** Missing sensitive values form their own group, as pandas would keep them if asked to. */
export const MISSING_GROUP = 'null';
/** The four-fifths rule of the US Uniform Guidelines: a selection ratio under 0.8 flags adverse impact. */
export const FOUR_FIFTHS = 0.8;

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number | null;
  fractionPositive: number | null;
}

export interface GroupCalibration {
  /** Mean predicted score and observed positive rate over the whole group. */
  meanPredicted: number;
  fractionPositive: number;
  /** Expected calibration error: Σ (nᵦ/n)·|fraction positiveᵦ − mean predictedᵦ| over equal-width bins. */
  ece: number;
  bins: ReliabilityBin[];
}

export interface GroupMetrics {
  group: string;
  count: number;
  positives: number;
  negatives: number;
  selected: number;
  selectionRate: number;
  /** P(selected | label 1); null without positives. */
  truePositiveRate: number | null;
  /** P(selected | label 0); null without negatives. */
  falsePositiveRate: number | null;
  /** Only when scores (not 0/1 decisions) were given. */
  calibration: GroupCalibration | null;
}

export interface ClassificationFairness {
  groups: GroupMetrics[];
  demographicParityDifference: number;
  /** min / max selection rate; null when no group is ever selected. */
  demographicParityRatio: number | null;
  /** The same min / max selection rate, under the name of the US adverse-impact rule. */
  disparateImpactRatio: number | null;
  /** disparateImpactRatio < 0.8; null when the ratio is undefined. */
  fourFifthsViolated: boolean | null;
  equalOpportunityDifference: number;
  equalOpportunityRatio: number | null;
  truePositiveRateDifference: number;
  falsePositiveRateDifference: number;
  /** max(TPR difference, FPR difference). */
  equalizedOddsDifference: number;
  /** min(TPR ratio, FPR ratio); null when both are undefined. */
  equalizedOddsRatio: number | null;
  /** Largest minus smallest group ECE; null without scores. */
  calibrationEceDifference: number | null;
}

export interface ClassificationInput {
  yTrue: ArrayLike<number>;
  /** 0/1 decisions, or scores turned into decisions by `threshold`. */
  yPred: ArrayLike<number>;
  /** Sensitive values by attribute name: several attributes give one report each (and their intersection). */
  sensitive: Record<string, ArrayLike<string | number | null>>;
  /** Given: yPred are scores and selected means score ≥ threshold. Absent: yPred must be 0/1. */
  threshold?: number;
  /** Bins of the calibration tables (default 10). */
  calibrationBins?: number;
  /** Also report the intersection of all attributes (default true with two or more). */
  intersection?: boolean;
}

export interface ClassificationReport {
  rows: number;
  threshold: number | null;
  overall: { selectionRate: number; truePositiveRate: number | null; falsePositiveRate: number | null; calibration: GroupCalibration | null };
  /** One entry per attribute, plus "a × b" for the intersection. */
  byAttribute: Record<string, ClassificationFairness>;
}

/** max − min and min / max of the defined values (Fairlearn's between_groups difference and ratio). */
export function disparity(values: readonly number[]): { difference: number; ratio: number | null } {
  const v = values.filter((x) => Number.isFinite(x));
  if (!v.length) return { difference: 0, ratio: null };
  const max = Math.max(...v), min = Math.min(...v);
  return { difference: max - min, ratio: max === 0 ? null : min / max };
}

/** Reliability table and ECE of scores in [0, 1] against 0/1 labels; bin b holds [b/B, (b+1)/B), the last one includes 1. */
export function calibrationOf(yTrue: ArrayLike<number>, scores: ArrayLike<number>, bins = 10): GroupCalibration {
  const count = new Float64Array(bins), sumP = new Float64Array(bins), sumY = new Float64Array(bins);
  let totalP = 0, totalY = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = scores[i]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++; sumP[b]! += p; sumY[b]! += yTrue[i]!;
    totalP += p; totalY += yTrue[i]!;
  }
  const n = yTrue.length;
  let ece = 0;
  const table: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    const meanPredicted = c ? sumP[b]! / c : null;
    const fractionPositive = c ? sumY[b]! / c : null;
    if (c) ece += (c / n) * Math.abs(fractionPositive! - meanPredicted!);
    table.push({ lower: b / bins, upper: (b + 1) / bins, count: c, meanPredicted, fractionPositive });
  }
  return { meanPredicted: n ? totalP / n : NaN, fractionPositive: n ? totalY / n : NaN, ece, bins: table };
}

/**
 * Fairness of decisions across the groups of one sensitive feature. `selected[i]` is the decision,
 * `scores` (optional, in [0, 1]) feed the calibration tables.
 */
export function groupFairness(
  yTrue: ArrayLike<number>, selected: ArrayLike<number>, groupOf: ArrayLike<string | number | null>,
  opts: { scores?: ArrayLike<number>; calibrationBins?: number } = {},
): ClassificationFairness {
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < yTrue.length; i++) {
    const g = groupOf[i] === null || groupOf[i] === undefined ? MISSING_GROUP : String(groupOf[i]);
    let rows = byGroup.get(g);
    if (!rows) byGroup.set(g, rows = []);
    rows.push(i);
  }
  const groups: GroupMetrics[] = [...byGroup].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, rows]) => {
    let pos = 0, tp = 0, fp = 0, sel = 0;
    for (const i of rows) {
      const s = selected[i]!;
      sel += s;
      if (yTrue[i] === 1) { pos++; tp += s; } else fp += s;
    }
    const neg = rows.length - pos;
    const scores = opts.scores;
    return {
      group, count: rows.length, positives: pos, negatives: neg, selected: sel,
      selectionRate: sel / rows.length,
      truePositiveRate: pos ? tp / pos : null,
      falsePositiveRate: neg ? fp / neg : null,
      calibration: scores ? calibrationOf(rows.map((i) => yTrue[i]!), rows.map((i) => scores[i]!), opts.calibrationBins) : null,
    };
  });
  // Fairlearn's rates: an empty class counts as rate 0 (see the header).
  const sel = disparity(groups.map((g) => g.selectionRate));
  const tpr = disparity(groups.map((g) => g.truePositiveRate ?? 0));
  const fpr = disparity(groups.map((g) => g.falsePositiveRate ?? 0));
  const ratios = [tpr.ratio, fpr.ratio].filter((r): r is number => r !== null);
  const ece = opts.scores ? disparity(groups.map((g) => g.calibration!.ece)).difference : null;
  return {
    groups,
    demographicParityDifference: sel.difference,
    demographicParityRatio: sel.ratio,
    disparateImpactRatio: sel.ratio,
    fourFifthsViolated: sel.ratio === null ? null : sel.ratio < FOUR_FIFTHS,
    equalOpportunityDifference: tpr.difference,
    equalOpportunityRatio: tpr.ratio,
    truePositiveRateDifference: tpr.difference,
    falsePositiveRateDifference: fpr.difference,
    equalizedOddsDifference: Math.max(tpr.difference, fpr.difference),
    equalizedOddsRatio: ratios.length ? Math.min(...ratios) : null,
    calibrationEceDifference: ece,
  };
}

/** The MetricFrame of a set of predictions: overall rates and one fairness report per sensitive attribute. */
export function classificationReport(input: ClassificationInput): ClassificationReport {
  const n = input.yTrue.length;
  const names = Object.keys(input.sensitive);
  const problems = [];
  if (input.yPred.length !== n) problems.push({ path: 'yPred', message: `has ${input.yPred.length} values, yTrue has ${n}` });
  if (n === 0) problems.push({ path: 'yTrue', message: 'no rows to audit' });
  if (names.length === 0) problems.push({ path: 'sensitive', message: 'give at least one sensitive attribute' });
  for (const a of names) if (input.sensitive[a]!.length !== n) problems.push({ path: `sensitive.${a}`, message: `has ${input.sensitive[a]!.length} values, yTrue has ${n}` });
  for (let i = 0; i < n && problems.length < 20; i++) {
    if (input.yTrue[i] !== 0 && input.yTrue[i] !== 1) problems.push({ path: `yTrue[${i}]`, message: `must be 0 or 1 (got ${input.yTrue[i]})` });
    const p = input.yPred[i]!;
    if (input.threshold === undefined ? p !== 0 && p !== 1 : !Number.isFinite(p)) {
      problems.push({ path: `yPred[${i}]`, message: input.threshold === undefined ? `must be 0 or 1 without a threshold (got ${p})` : `must be a finite number (got ${p})` });
    }
  }
  if (problems.length) throw new ValidationError('cannot audit these predictions', problems);

  const threshold = input.threshold ?? null;
  const selected = threshold === null ? Float64Array.from(input.yPred) : Float64Array.from(input.yPred, (p) => (p >= threshold ? 1 : 0));
  // Calibration needs probabilities: scores outside [0, 1] (margins, logits) get none.
  let probabilities = threshold !== null;
  for (let i = 0; probabilities && i < n; i++) if (input.yPred[i]! < 0 || input.yPred[i]! > 1) probabilities = false;
  const scores = probabilities ? input.yPred : undefined;
  const common = { ...(scores ? { scores } : {}), ...(input.calibrationBins ? { calibrationBins: input.calibrationBins } : {}) };

  const byAttribute: Record<string, ClassificationFairness> = {};
  for (const a of names) byAttribute[a] = groupFairness(input.yTrue, selected, input.sensitive[a]!, common);
  if (names.length > 1 && input.intersection !== false) {
    const joint = Array.from({ length: n }, (_, i) => names.map((a) => `${a}=${input.sensitive[a]![i] ?? MISSING_GROUP}`).join(', '));
    byAttribute[names.join(' × ')] = groupFairness(input.yTrue, selected, joint, common);
  }
  const all = groupFairness(input.yTrue, selected, new Array<string>(n).fill('all'), common).groups[0]!;
  return {
    rows: n, threshold,
    overall: { selectionRate: all.selectionRate, truePositiveRate: all.truePositiveRate, falsePositiveRate: all.falsePositiveRate, calibration: all.calibration },
    byAttribute,
  };
}
