import { describe, expect, it } from 'vitest';
import { fairnessReport } from '../../../model-registry/training/fairness.js';

// The example of Fairlearn's user guide, "Common fairness metrics"
// (fairlearn/fairlearn docs/user_guide/assessment/common_fairness_metrics.rst), whose doctests print
// demographic_parity_difference 0.25, demographic_parity_ratio 0.66666…, equalized_odds_difference 1.0
// and equalized_odds_ratio 0.0.
const yTrue = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const yPred = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0];
const sf = ['b', 'b', 'a', 'b', 'b', 'c', 'c', 'c', 'a', 'a', 'c', 'a', 'b', 'c', 'c', 'b', 'c', 'c'];

describe('fairnessReport', () => {
  const r = fairnessReport(yTrue, yPred, sf);

  it('matches Fairlearn’s published numbers', () => {
    expect(r.demographicParityDifference).toBeCloseTo(0.25, 12);
    expect(r.demographicParityRatio).toBeCloseTo(2 / 3, 12);
    expect(r.equalizedOddsDifference).toBeCloseTo(1.0, 12);
    expect(r.equalizedOddsRatio).toBeCloseTo(0.0, 12);
  });

  it('gives the per-group rates behind them', () => {
    // a: rows 2, 8, 9, 11 → y [1,1,0,0], pred [1,0,1,1]: selection 3/4, TPR 1/2, FPR 2/2.
    // b: rows 0, 1, 3, 4, 12, 15 → y [0,1,1,1,1,1], pred [0,0,0,1,1,1]: selection 3/6, TPR 3/5, FPR 0/1.
    // c: rows 5, 6, 7, 10, 13, 14, 16, 17 → y [0,1,0,0,1,1,1,1], pred [1,1,0,1,0,0,1,0]: selection 4/8, TPR 2/5, FPR 2/3.
    expect(r.groups).toEqual([
      { group: 'a', count: 4, positives: 2, negatives: 2, selectionRate: 0.75, tpr: 0.5, fpr: 1 },
      { group: 'b', count: 6, positives: 5, negatives: 1, selectionRate: 0.5, tpr: 0.6, fpr: 0 },
      { group: 'c', count: 8, positives: 5, negatives: 3, selectionRate: 0.5, tpr: 0.4, fpr: 2 / 3 },
    ]);
    // Equal opportunity difference: max − min TPR = 0.6 − 0.4.
    expect(r.equalOpportunityDifference).toBeCloseTo(0.2, 12);
  });

  it('thresholds probabilities at 0.5 and groups nulls together', () => {
    const q = fairnessReport([1, 0, 1, 0], [0.7, 0.2, 0.4, 0.9], ['x', 'x', null, null]);
    expect(q.groups.map((g) => [g.group, g.selectionRate])).toEqual([['null', 0.5], ['x', 0.5]]);
    expect(q.demographicParityRatio).toBe(1);
  });
});
