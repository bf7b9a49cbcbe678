// Evaluation metrics for binary scorers: ranking (AUC), probability quality (log loss, calibration)
// and, for matching, ranking within groups (precision@k, NDCG@k per job, averaged).
import { ValidationError } from '../../platform/errors/app-error.js';

function checkLengths(y: ArrayLike<number>, p: ArrayLike<number>, what = 'scores'): void {
  if (y.length !== p.length) throw new ValidationError(`labels (${y.length}) and ${what} (${p.length}) differ in length`, [{ path: what, message: `must have ${y.length} values` }]);
}

/**
 * ROC AUC as the Mann–Whitney statistic: the probability that a random positive outranks a random
 * negative, ties counting one half (average ranks). NaN when a class is absent.
 */
export function auc(y: ArrayLike<number>, score: ArrayLike<number>): number {
  checkLengths(y, score);
  const n = y.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let rankSumPos = 0, pos = 0;
  for (let k = 0; k < n;) {
    let e = k;
    while (e + 1 < n && score[order[e + 1]!] === score[order[k]!]) e++;
    const avgRank = (k + e) / 2 + 1;   // ranks are 1-based
    for (let m = k; m <= e; m++) if (y[order[m]!] === 1) { rankSumPos += avgRank; pos++; }
    k = e + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - pos * (pos + 1) / 2) / (pos * neg);
}

/** Mean binary cross-entropy, probabilities clipped to [eps, 1 − eps] so one confident miss stays finite. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>, eps = 1e-15): number {
  checkLengths(y, p, 'probabilities');
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]!));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return y.length ? s / y.length : NaN;
}

/** Share of rows whose thresholded prediction (p ≥ threshold) equals the label. */
export function accuracy(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): number {
  checkLengths(y, p, 'probabilities');
  let ok = 0;
  for (let i = 0; i < y.length; i++) if ((p[i]! >= threshold ? 1 : 0) === y[i]) ok++;
  return y.length ? ok / y.length : NaN;
}

export interface ReliabilityBin { lo: number; hi: number; count: number; meanPredicted: number | null; observedRate: number | null }

/**
 * Expected calibration error over equal-width bins of the predicted probability: Σ (nᵦ/n)·|observedᵦ −
 * mean predictedᵦ|. Bin b holds [b/B, (b+1)/B), the last one includes 1.
 */
export function calibration(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): { ece: number; bins: ReliabilityBin[] } {
  checkLengths(y, p, 'probabilities');
  const count = new Float64Array(bins), sumP = new Float64Array(bins), sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i]! * bins)));
    count[b]!++; sumP[b]! += p[i]!; sumY[b]! += y[i]!;
  }
  let ece = 0;
  const table: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b]!;
    const meanPredicted = c ? sumP[b]! / c : null;
    const observedRate = c ? sumY[b]! / c : null;
    if (c) ece += (c / y.length) * Math.abs(observedRate! - meanPredicted!);
    table.push({ lo: b / bins, hi: (b + 1) / bins, count: c, meanPredicted, observedRate });
  }
  return { ece, bins: table };
}

export interface RankingMetric { value: number; groups: number }

/** Rows of each group ordered by score, highest first (ties: earlier row first, deterministic). */
function rankedGroups(y: ArrayLike<number>, score: ArrayLike<number>, groups: ArrayLike<string | number>): number[][] {
  checkLengths(y, score);
  if (groups.length !== y.length) throw new ValidationError(`labels (${y.length}) and groups (${groups.length}) differ in length`, [{ path: 'groups', message: `must have ${y.length} values` }]);
  const by = new Map<string | number, number[]>();
  for (let i = 0; i < y.length; i++) { const g = groups[i]!; let rows = by.get(g); if (!rows) by.set(g, rows = []); rows.push(i); }
  return [...by.values()].map((rows) => rows.sort((a, b) => score[b]! - score[a]! || a - b));
}

/**
 * Precision@k averaged over groups (per job): positives among a group's top min(k, size) rows over
 * min(k, size). Groups without a positive are left out (nothing there to find); `groups` counts the rest.
 */
export function precisionAtK(y: ArrayLike<number>, score: ArrayLike<number>, groups: ArrayLike<string | number>, k: number): RankingMetric {
  let sum = 0, counted = 0;
  for (const rows of rankedGroups(y, score, groups)) {
    if (!rows.some((i) => y[i] === 1)) continue;
    const top = rows.slice(0, Math.min(k, rows.length));
    sum += top.filter((i) => y[i] === 1).length / top.length;
    counted++;
  }
  return { value: counted ? sum / counted : NaN, groups: counted };
}

/**
 * NDCG@k with binary gains (DCG = Σ rel/log2(rank + 1) over the top k, over the ideal order's DCG),
 * averaged over groups with at least one positive.
 */
export function ndcgAtK(y: ArrayLike<number>, score: ArrayLike<number>, groups: ArrayLike<string | number>, k: number): RankingMetric {
  let sum = 0, counted = 0;
  for (const rows of rankedGroups(y, score, groups)) {
    const positives = rows.filter((i) => y[i] === 1).length;
    if (positives === 0) continue;
    let dcg = 0, ideal = 0;
    rows.slice(0, k).forEach((i, r) => { if (y[i] === 1) dcg += 1 / Math.log2(r + 2); });
    for (let r = 0; r < Math.min(k, positives); r++) ideal += 1 / Math.log2(r + 2);
    sum += dcg / ideal;
    counted++;
  }
  return { value: counted ? sum / counted : NaN, groups: counted };
}

export interface BinaryMetrics { n: number; positives: number; auc: number; logLoss: number; ece: number; accuracy: number; reliability: ReliabilityBin[] }

/** The usual summary of a binary scorer's probabilities on a holdout. */
export function binaryMetrics(y: ArrayLike<number>, p: ArrayLike<number>): BinaryMetrics {
  const cal = calibration(y, p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) positives++;
  return { n: y.length, positives, auc: auc(y, p), logLoss: logLoss(y, p), ece: cal.ece, accuracy: accuracy(y, p), reliability: cal.bins };
}
