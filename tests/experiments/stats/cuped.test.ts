// CUPED: θ and the adjusted treatment effect equal the OLS regression x ~ variant + c (statsmodels),
// and on seeded data with a correlated covariate the variance drops and the test gets sharper.
import { describe, expect, it } from 'vitest';
import { uniform } from '../../../pipelines/synthetic/random.js';
import { analyzeExperiment } from '../../../experiments/stats/analyze-experiment.js';
import { cuped, cupedTheta } from '../../../experiments/stats/cuped.js';
import { meanEstimate, statsOf } from '../../../experiments/stats/variant-stats.js';
import { welchTest } from '../../../experiments/stats/welch-test.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

describe('CUPED', () => {
  it('θ and the adjusted lift equal the OLS fit x ~ C(g) + c in statsmodels', () => {
    const x = [5.1, 6.3, 4.8, 7.2, 5.9, 6.6, 5.0, 7.9, 6.1, 5.5, 6.8, 7.4, 5.7, 6.9, 7.7, 6.2];
    const c = [4.0, 5.2, 3.9, 6.1, 4.6, 5.5, 4.2, 6.6, 4.9, 4.4, 5.3, 6.0, 4.5, 5.6, 6.3, 4.8];
    const variants = {
      control: statsOf(x.slice(0, 8), { c: c.slice(0, 8) }),
      treatment: statsOf(x.slice(8), { c: c.slice(8) }),
    };
    // statsmodels 0.13.5: smf.ols('x ~ C(g) + c', df).fit().params → c 1.1078724166766212, C(g)[T.t] 0.20207711145621587
    expect(cupedTheta(variants)).toBeCloseTo(1.1078724166766212, 12);
    const r = cuped(variants);
    const lift = r.variants.treatment!.estimate.mean - r.variants.control!.estimate.mean;
    expect(lift).toBeCloseTo(0.20207711145621587, 12);
    // Unadjusted, the difference of means is confounded by the covariate's chance imbalance.
    expect(r.variants.treatment!.unadjusted.mean - r.variants.control!.unadjusted.mean).not.toBeCloseTo(lift, 2);
  });

  it('reduces variance on seeded data with a correlated covariate, keeping the effect unbiased', () => {
    const rand = uniform('cuped-test');
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const make = (n: number, effect: number) => {
      const c = Array.from({ length: n }, () => 10 + 3 * normal());
      const x = c.map((ci) => 2 + 0.9 * ci + normal() + effect);   // corr(x, c) ≈ 0.94
      return statsOf(x, { c });
    };
    const variants = { control: make(4000, 0), treatment: make(4000, 0.1) };
    const r = cuped(variants);
    expect(r.theta).toBeGreaterThan(0.85);
    expect(r.theta).toBeLessThan(0.95);
    for (const v of Object.values(r.variants)) {
      expect(v.varianceReduction).toBeGreaterThan(0.8);   // ≈ corr² ≈ 0.88
      expect(v.estimate.variance).toBeLessThan(v.unadjusted.variance * 0.2);
    }
    const plain = welchTest(meanEstimate(variants.control), meanEstimate(variants.treatment));
    const adjusted = welchTest(r.variants.control!.estimate, r.variants.treatment!.estimate);
    expect(adjusted.absolute.stdError).toBeLessThan(plain.absolute.stdError * 0.5);
    expect(Math.abs(adjusted.absolute.estimate - 0.1)).toBeLessThan(3 * adjusted.absolute.stdError);
    expect(adjusted.absolute.ci![0]).toBeLessThan(0.1);   // the true lift is inside the narrower interval
    expect(adjusted.absolute.ci![1]).toBeGreaterThan(0.1);
    expect(adjusted.absolute.pValue!).toBeLessThan(plain.absolute.pValue!);
    expect(adjusted.absolute.pValue!).toBeLessThan(0.01);

    const analysis = analyzeExperiment(variants, { control: 'control', cuped: true });
    expect(analysis.cuped!.theta).toBe(r.theta);
    expect(analysis.variants[1]!.varianceReduction).toBe(r.variants.treatment!.varianceReduction);
  });

  it('needs the covariate sums', () => {
    expect(() => cuped({ a: statsOf([1, 2, 3]), b: statsOf([2, 3, 4]) })).toThrow(ValidationError);
  });
});
