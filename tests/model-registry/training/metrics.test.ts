import { describe, expect, it } from 'vitest';
import { accuracy, auc, binaryMetrics, calibration, logLoss, ndcgAtK, precisionAtK } from '../../../model-registry/training/metrics.js';

// Six rows: three positives (0.9, 0.4, 0.6) and three negatives (0.4, 0.2, 0.05); one tie across classes.
const y = [1, 0, 1, 1, 0, 0];
const p = [0.9, 0.4, 0.4, 0.6, 0.2, 0.05];

describe('binary metrics', () => {
  it('AUC counts a tie as half a win (Mann–Whitney)', () => {
    // Pairs (pos, neg), 3 × 3 = 9: 0.9 beats all 3, 0.6 beats all 3, 0.4 ties 0.4 (½) and beats 0.2, 0.05 (2).
    expect(auc(y, p)).toBeCloseTo((3 + 3 + 2.5) / 9, 15);
    expect(auc([1, 1, 0], [0.1, 0.2, 0.3])).toBe(0);
    expect(auc([1, 1], [0.1, 0.2])).toBeNaN();
  });

  it('log loss is the mean negative log-likelihood, clipped', () => {
    const expected = -(Math.log(0.9) + Math.log(1 - 0.4) + Math.log(0.4) + Math.log(0.6) + Math.log(1 - 0.2) + Math.log(1 - 0.05)) / 6;
    expect(logLoss(y, p)).toBeCloseTo(expected, 15);
    // A confident miss is clipped at eps = 1e-15: −ln(1e-15) = 34.538…
    expect(logLoss([1], [0])).toBeCloseTo(-Math.log(1e-15), 10);
  });

  it('accuracy thresholds at 0.5', () => {
    // Predictions [1, 0, 0, 1, 0, 0] against [1, 0, 1, 1, 0, 0]: 5 of 6 right.
    expect(accuracy(y, p)).toBeCloseTo(5 / 6, 15);
  });

  it('ECE and the reliability table over 10 equal-width bins', () => {
    const { ece, bins } = calibration(y, p);
    // Bins: [0,.1): 0.05 (y 0) gap .05 · [.2,.3): 0.2 (y 0) gap .2 · [.4,.5): 0.4, 0.4 (y 0, 1) mean .4, rate .5, gap .1 ·
    // [.6,.7): 0.6 (y 1) gap .4 · [.9,1]: 0.9 (y 1) gap .1. ECE = (.05 + .2 + 2 · .1 + .4 + .1) / 6 = .95 / 6.
    expect(ece).toBeCloseTo(0.95 / 6, 12);
    expect(bins).toHaveLength(10);
    expect(bins[4]).toEqual({ lo: 0.4, hi: 0.5, count: 2, meanPredicted: 0.4, observedRate: 0.5 });
    expect(bins[1]).toEqual({ lo: 0.1, hi: 0.2, count: 0, meanPredicted: null, observedRate: null });
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(6);
    expect(calibration([1], [1]).bins[9]!.count).toBe(1);   // p = 1 falls in the last bin
  });

  it('binaryMetrics gathers them', () => {
    const m = binaryMetrics(y, p);
    expect(m).toMatchObject({ n: 6, positives: 3, auc: 8.5 / 9, accuracy: 5 / 6 });
  });
});

describe('ranking metrics per group', () => {
  // Job A: scores 0.9, 0.5, 0.3, 0.1 with labels 0, 1, 0, 1. Job B: 0.8, 0.2 with 1, 0. Job C: no positive (left out).
  const labels = [0, 1, 0, 1, 1, 0, 0, 0];
  const scores = [0.9, 0.5, 0.3, 0.1, 0.8, 0.2, 0.7, 0.6];
  const groups = ['A', 'A', 'A', 'A', 'B', 'B', 'C', 'C'];

  it('precision@k averages over groups with a positive', () => {
    // k = 1: A's top is a negative (0), B's a positive (1) → 0.5. k = 2: A 1/2, B 1/2 (2 rows) → 0.5.
    expect(precisionAtK(labels, scores, groups, 1)).toEqual({ value: 0.5, groups: 2 });
    expect(precisionAtK(labels, scores, groups, 2)).toEqual({ value: 0.5, groups: 2 });
    // k = 4: A 2/4, B 1/2 → 0.5.
    expect(precisionAtK(labels, scores, groups, 4).value).toBeCloseTo(0.5, 15);
  });

  it('NDCG@k with binary gains', () => {
    // k = 3, A: positives at ranks 2 (and 4, beyond k): DCG = 1/log2(3); ideal = 1 + 1/log2(3). B: DCG = ideal = 1.
    const a = (1 / Math.log2(3)) / (1 + 1 / Math.log2(3));
    expect(ndcgAtK(labels, scores, groups, 3).value).toBeCloseTo((a + 1) / 2, 15);
    // k = 4, A: DCG = 1/log2(3) + 1/log2(5).
    const a4 = (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3));
    expect(ndcgAtK(labels, scores, groups, 4).value).toBeCloseTo((a4 + 1) / 2, 15);
  });
});
