// Sample size, MDE and power against statsmodels' NormalIndPower (two-sided, equal allocation).
import { describe, expect, it } from 'vitest';
import {
  minimumDetectableEffect, minimumDetectableEffectForProportion, powerAt, sampleSizeForProportion, sampleSizePerVariant,
} from '../../../experiments/stats/power.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

describe('power and sample size', () => {
  it('per-variant n for a mean metric matches NormalIndPower().solve_power', () => {
    // solve_power(effect_size=0.5/5, alpha=0.05, power=0.8, ratio=1) → 1569.7721019023288
    const n = sampleSizePerVariant({ mean: 10, variance: 25, mde: 0.5 });
    expect(n.exact).toBeCloseTo(1569.7721019023288, 6);
    expect(n.perVariant).toBe(1570);
    // relative MDE 5 % of a mean of 10 is the same 0.5
    expect(sampleSizePerVariant({ mean: 10, variance: 25, mde: 0.05, relative: true }).perVariant).toBe(1570);
    // solve_power(effect_size=0.1, alpha=0.01, power=0.9) → 2975.8774332994276
    expect(sampleSizePerVariant({ mean: 10, variance: 25, mde: 0.5, alpha: 0.01, power: 0.9 }).exact).toBeCloseTo(2975.8774332994276, 6);
  });

  it('per-variant n for a conversion rate uses both arms\' p(1 − p)', () => {
    // 0.12 → 0.126 (+5 % relative): effect = 0.006 / sqrt((0.12·0.88 + 0.126·0.874)/2); solve_power → 47032.98845871893
    const n = sampleSizeForProportion({ baseline: 0.12, mde: 0.05, relative: true });
    expect(n.exact).toBeCloseTo(47032.98845871893, 4);
    expect(n.perVariant).toBe(47033);
  });

  it('MDE and power at a given n match NormalIndPower', () => {
    // solve_power(effect_size=None, nobs1=1000, alpha=0.05, power=0.8) · 5 → 0.6264517264858691
    const mde = minimumDetectableEffect({ mean: 10, variance: 25, n: 1000 });
    expect(mde.absolute).toBeCloseTo(0.6264517264858691, 5);   // statsmodels stops its root search at ~1e-6
    expect(mde.relative).toBeCloseTo(0.06264517264858691, 6);
    expect(powerAt(mde.absolute, 25, 25, 1000)).toBeCloseTo(0.8, 10);
    // power(effect_size=0.3/5, nobs1=2000, alpha=0.05) → 0.47510087057263783
    expect(powerAt(0.3, 25, 25, 2000)).toBeCloseTo(0.47510087057263783, 10);
  });

  it('the proportion MDE and sample size invert each other', () => {
    const n = sampleSizeForProportion({ baseline: 0.12, mde: 0.006 }).exact;
    const mde = minimumDetectableEffectForProportion({ baseline: 0.12, n });
    expect(mde.absolute).toBeCloseTo(0.006, 8);
    expect(mde.relative).toBeCloseTo(0.05, 6);
  });

  it('rejects impossible designs', () => {
    expect(() => sampleSizePerVariant({ mean: 1, variance: 1, mde: 0 })).toThrow(ValidationError);
    expect(() => sampleSizeForProportion({ baseline: 0.95, mde: 0.1 })).toThrow(ValidationError);
    expect(() => sampleSizePerVariant({ mean: 1, variance: 1, mde: 0.1, alpha: 1.5 })).toThrow(ValidationError);
  });
});
