import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { calibrationOf, classificationReport, disparity, groupFairness } from '../../../../services/scoring/fairness/classification-metrics.js';

// The example of Fairlearn's user guide, "Common fairness metrics"
// (fairlearn/fairlearn docs/user_guide/assessment/common_fairness_metrics.rst), whose doctests print
// demographic_parity_difference 0.25, demographic_parity_ratio 0.66666…, equalized_odds_difference 1.0
// and equalized_odds_ratio 0.0; training's holdout audit uses the same functions.
const yTrue = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const yPred = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0];
const sf = ['b', 'b', 'a', 'b', 'b', 'c', 'c', 'c', 'a', 'a', 'c', 'a', 'b', 'c', 'c', 'b', 'c', 'c'];

describe('classificationReport on Fairlearn’s documentation example', () => {
  const r = classificationReport({ yTrue, yPred, sensitive: { sf } });
  const f = r.byAttribute.sf!;

  it('matches Fairlearn’s published numbers', () => {
    expect(f.demographicParityDifference).toBeCloseTo(0.25, 12);
    expect(f.demographicParityRatio).toBeCloseTo(2 / 3, 12);
    expect(f.equalizedOddsDifference).toBeCloseTo(1.0, 12);
    expect(f.equalizedOddsRatio).toBeCloseTo(0.0, 12);
  });

  it('gives the per-group rates and the derived disparities', () => {
    // a: y [1,1,0,0], pred [1,0,1,1]; b: y [0,1,1,1,1,1], pred [0,0,0,1,1,1]; c: y [0,1,0,0,1,1,1,1], pred [1,1,0,1,0,0,1,0].
    expect(f.groups.map((g) => [g.group, g.count, g.selected, g.selectionRate, g.truePositiveRate, g.falsePositiveRate])).toEqual([
      ['a', 4, 3, 0.75, 0.5, 1], ['b', 6, 3, 0.5, 0.6, 0], ['c', 8, 4, 0.5, 0.4, 2 / 3],
    ]);
    expect(f.equalOpportunityDifference).toBeCloseTo(0.2, 12);
    expect(f.equalOpportunityRatio).toBeCloseTo(0.4 / 0.6, 12);
    expect(f.truePositiveRateDifference).toBeCloseTo(0.2, 12);
    expect(f.falsePositiveRateDifference).toBeCloseTo(1, 12);
    // Disparate impact = min/max selection rate = 0.5/0.75 ≥ 0.8? No: 0.667 fails the four-fifths rule.
    expect(f.disparateImpactRatio).toBeCloseTo(2 / 3, 12);
    expect(f.fourFifthsViolated).toBe(true);
    expect(f.calibrationEceDifference).toBeNull();
    expect(r.overall.selectionRate).toBeCloseTo(10 / 18, 12);
    expect(r.overall.truePositiveRate).toBeCloseTo(6 / 12, 12);
    expect(r.overall.falsePositiveRate).toBeCloseTo(4 / 6, 12);
  });
});

describe('classificationReport with scores and several attributes', () => {
  it('thresholds scores, groups nulls, reports the intersection and calibration by group', () => {
    const r = classificationReport({
      yTrue: [1, 0, 1, 0, 1, 0],
      yPred: [0.9, 0.6, 0.3, 0.1, 0.8, 0.2],
      sensitive: { sex: ['f', 'f', 'm', 'm', null, null], band: ['x', 'y', 'x', 'y', 'x', 'y'] },
      threshold: 0.5,
      calibrationBins: 2,
    });
    expect(r.threshold).toBe(0.5);
    expect(Object.keys(r.byAttribute)).toEqual(['sex', 'band', 'sex × band']);
    const sex = r.byAttribute.sex!;
    expect(sex.groups.map((g) => [g.group, g.selectionRate])).toEqual([['f', 1], ['m', 0], ['null', 0.5]]);
    expect(sex.demographicParityRatio).toBe(0);
    // f: scores 0.9 (y 1) in bin [0.5,1], 0.6 (y 0) in bin [0.5,1] → one bin, mean 0.75, fraction 0.5: ECE 0.25.
    const f = sex.groups[0]!.calibration!;
    expect(f.meanPredicted).toBeCloseTo(0.75, 12);
    expect(f.fractionPositive).toBe(0.5);
    expect(f.ece).toBeCloseTo(0.25, 12);
    expect(f.bins).toEqual([{ lower: 0, upper: 0.5, count: 0, meanPredicted: null, fractionPositive: null }, expect.objectContaining({ lower: 0.5, upper: 1, count: 2 })]);
    // m: 0.3 (y 1) and 0.1 (y 0) in bin [0,0.5): mean 0.2, fraction 0.5 → ECE 0.3.
    // null: 0.8 (y 1) in the upper bin: |1 − 0.8| = 0.2 for half; 0.2 (y 0) in the lower: |0 − 0.2| = 0.2 → ECE 0.2.
    expect(sex.groups[1]!.calibration!.ece).toBeCloseTo(0.3, 12);
    expect(sex.groups[2]!.calibration!.ece).toBeCloseTo(0.2, 12);
    expect(sex.calibrationEceDifference).toBeCloseTo(0.1, 12);
    expect(r.byAttribute['sex × band']!.groups.map((g) => g.group)).toEqual([
      'sex=f, band=x', 'sex=f, band=y', 'sex=m, band=x', 'sex=m, band=y', 'sex=null, band=x', 'sex=null, band=y',
    ]);
  });

  it('counts a group without positives as TPR 0 in the disparities, like Fairlearn (sklearn nan_to_num)', () => {
    // g1: y [1,0], pred [1,0] → TPR 1, FPR 0; g2: y [0,0], pred [1,0] → no positives (TPR 0 for Fairlearn), FPR 0.5.
    const f = groupFairness([1, 0, 0, 0], [1, 0, 1, 0], ['g1', 'g1', 'g2', 'g2']);
    expect(f.groups[1]!.truePositiveRate).toBeNull();
    expect(f.equalOpportunityDifference).toBe(1);
    expect(f.equalizedOddsDifference).toBe(1);
    expect(f.equalizedOddsRatio).toBe(0);
  });

  it('leaves undefined ratios null (0 / 0) and says so', () => {
    expect(disparity([0, 0])).toEqual({ difference: 0, ratio: null });
    const f = groupFairness([1, 0], [0, 0], ['a', 'b']);
    expect(f.demographicParityRatio).toBeNull();
    expect(f.fourFifthsViolated).toBeNull();
  });

  it('keeps calibration off for scores that are not probabilities', () => {
    const r = classificationReport({ yTrue: [1, 0], yPred: [2.5, -1], sensitive: { g: ['a', 'b'] }, threshold: 0 });
    expect(r.overall.calibration).toBeNull();
    expect(r.byAttribute.g!.groups[0]!.selectionRate).toBe(1);
  });

  it('computes the overall ECE of a reliability table by hand', () => {
    // Bins of 0.1: {0.05, 0.05} → mean 0.05, fraction 0.5; {0.95} → fraction 1. ECE = 2/3·0.45 + 1/3·0.05.
    const c = calibrationOf([1, 0, 1], [0.05, 0.05, 0.95]);
    expect(c.ece).toBeCloseTo((2 / 3) * 0.45 + (1 / 3) * 0.05, 12);
    expect(c.bins).toHaveLength(10);
  });

  it('refuses bad input naming the field', () => {
    const bad = () => classificationReport({ yTrue: [1, 2], yPred: [0, 0.5], sensitive: { g: ['a'] } });
    expect(bad).toThrow(ValidationError);
    try { bad(); } catch (e) {
      expect((e as ValidationError).problems.map((p) => p.path)).toEqual(['sensitive.g', 'yTrue[1]', 'yPred[1]']);
    }
  });
});
