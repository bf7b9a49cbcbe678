// Welch's t-test, the delta-method relative lift and ratio metrics against values from standard
// statistics software (scipy) and GrowthBook's own gbstats test cases.
import { describe, expect, it } from 'vitest';
import { meanEstimate, ratioEstimate, statsOf, type VariantStats } from '../../../experiments/stats/variant-stats.js';
import { welchTest } from '../../../experiments/stats/welch-test.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

const A = [12.1, 9.8, 11.4, 10.2, 13.5, 8.9, 10.7, 12.8, 11.1, 9.4, 10.9, 12.2];
const B = [13.2, 11.9, 14.8, 10.1, 15.3, 12.7, 11.6, 16.0, 13.9, 12.4, 14.1, 10.8, 15.7, 13.0, 12.2];

describe('Welch t-test', () => {
  it('matches scipy.stats.ttest_ind(B, A, equal_var=False)', () => {
    // scipy 1.17: r = ttest_ind(B, A, equal_var=False); r.statistic, r.pvalue, r.df, r.confidence_interval(0.95 / 0.90)
    const t = welchTest(meanEstimate(statsOf(A)), meanEstimate(statsOf(B)));
    expect(t.df).toBeCloseTo(24.998753513939807, 9);
    expect(t.absolute.estimate / t.absolute.stdError).toBeCloseTo(3.4421986715134674, 10);
    expect(t.absolute.pValue).toBeCloseTo(0.002040433745239381, 12);
    expect(t.absolute.ci![0]).toBeCloseTo(0.8421845283830718, 10);
    expect(t.absolute.ci![1]).toBeCloseTo(3.3511488049502596, 10);
    const t90 = welchTest(meanEstimate(statsOf(A)), meanEstimate(statsOf(B)), { alpha: 0.1 });
    expect(t90.absolute.ci![0]).toBeCloseTo(1.056224494315586, 10);
    expect(t90.absolute.ci![1]).toBeCloseTo(3.137108839017745, 10);
    expect(t90.absolute.pValue).toBe(t.absolute.pValue);
  });

  // GrowthBook gbstats tests/frequentist/test_tests.py (TestTwoSidedTTest): control Σx = 1396.87,
  // Σx² = 52377.9767, n = 3407; treatment Σx = 2422.7, Σx² = 134698.29, n = 3461; rounded to 5 decimals.
  const control: VariantStats = { n: 3407, sumX: 1396.87, sumX2: 52377.9767 };
  const treatment: VariantStats = { n: 3461, sumX: 2422.7, sumX2: 134698.29 };

  it('absolute lift matches GrowthBook (difference 0.29, CI [0.04538, 0.53462], p 0.02016)', () => {
    const t = welchTest(meanEstimate(control), meanEstimate(treatment));
    expect(t.absolute.estimate).toBeCloseTo(0.29, 10);
    expect(t.absolute.stdError).toBeCloseTo(0.12478, 5);
    expect(t.absolute.ci![0]).toBeCloseTo(0.04538, 5);
    expect(t.absolute.ci![1]).toBeCloseTo(0.53462, 5);
    expect(t.absolute.pValue).toBeCloseTo(0.02016, 5);
  });

  it('relative lift by the delta method matches GrowthBook (0.70732 ± 0.37879, CI [-0.03526, 1.44989], p 0.06191)', () => {
    const rel = welchTest(meanEstimate(control), meanEstimate(treatment)).relative!;
    expect(rel.estimate).toBeCloseTo(0.70732, 5);
    expect(rel.stdError).toBeCloseTo(0.37879, 5);
    expect(rel.ci![0]).toBeCloseTo(-0.03526, 5);
    expect(rel.ci![1]).toBeCloseTo(1.44989, 5);
    expect(rel.pValue).toBeCloseTo(0.06191, 5);
  });

  it('a conversion metric (Σx² = Σx) matches GrowthBook\'s binomial case within the n vs n − 1 variance difference', () => {
    // gbstats test_two_sided_ttest_binom: 14/28 vs 16/30, relative 0.06667, sd 0.2717, p 0.80707 (gbstats uses p(1 − p), we use n − 1).
    const rel = welchTest(meanEstimate({ n: 28, sumX: 14, sumX2: 14 }), meanEstimate({ n: 30, sumX: 16, sumX2: 16 })).relative!;
    expect(rel.estimate).toBeCloseTo(0.06667, 5);
    expect(rel.stdError).toBeCloseTo(0.2717, 2);
    expect(rel.pValue).toBeCloseTo(0.80707, 2);
  });

  it('reports no interval or p-value when there is no variance, and no relative lift over a zero control', () => {
    const t = welchTest(meanEstimate(statsOf([0, 0, 0])), meanEstimate(statsOf([0, 0, 0, 0])));
    expect(t.absolute).toMatchObject({ estimate: 0, ci: null, pValue: null });
    expect(t.relative).toBeNull();
  });
});

describe('ratio metrics (delta method)', () => {
  // clicks / impressions per user; Σclicks / Σimpressions per variant, not a mean of per-user CTRs.
  const xc = [3, 0, 1, 5, 2, 0, 4, 1, 2, 3, 0, 6];
  const yc = [40, 12, 20, 55, 31, 9, 47, 18, 25, 39, 11, 60];
  const xt = [4, 1, 2, 6, 3, 0, 5, 2, 3, 4, 1, 7, 2, 3];
  const yt = [42, 15, 22, 50, 33, 10, 45, 21, 27, 38, 14, 58, 19, 30];

  it('matches the linearised estimator in numpy/scipy', () => {
    // numpy: R = Σx/Σy; z = (x − R·y)/ȳ; Var(R) = var(z, ddof=1)/n; Welch df from the two Var(R); scipy.stats.t for p and CI.
    const c = ratioEstimate(statsOf(xc, { y: yc }));
    const t = ratioEstimate(statsOf(xt, { y: yt }));
    expect(c.mean).toBeCloseTo(0.07356948228882834, 12);
    expect(t.mean).toBeCloseTo(0.10141509433962265, 12);
    expect(Math.sqrt(c.variance)).toBeCloseTo(0.006996326780978919, 12);
    expect(Math.sqrt(t.variance)).toBeCloseTo(0.0049768815126744964, 12);
    const test = welchTest(c, t);
    expect(test.absolute.estimate).toBeCloseTo(0.027845612050794305, 12);
    expect(test.absolute.stdError).toBeCloseTo(0.008585915094935661, 12);
    expect(test.df).toBeCloseTo(20.50623849504596, 8);
    expect(test.absolute.pValue).toBeCloseTo(0.003979406941677601, 10);
    expect(test.absolute.ci![0]).toBeCloseTo(0.009964009349653219, 10);
    expect(test.absolute.ci![1]).toBeCloseTo(0.04572721475193539, 10);
    // The mean of per-user CTRs is a different (and wrong) number.
    const meanOfRatios = xc.reduce((a, x, i) => a + x / yc[i]!, 0) / xc.length;
    expect(Math.abs(meanOfRatios - c.mean)).toBeGreaterThan(0.001);
  });

  it('needs the denominator sums', () => {
    expect(() => ratioEstimate({ n: 3, sumX: 1, sumX2: 1 })).toThrow(ValidationError);
  });
});
