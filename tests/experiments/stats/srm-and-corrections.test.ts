// Sample-ratio mismatch (scipy.stats.chisquare), Holm and BH (statsmodels multipletests) and
// percentile capping (numpy.percentile).
import { describe, expect, it } from 'vitest';
import { benjaminiHochberg, holmBonferroni } from '../../../experiments/stats/multiple-testing.js';
import { sampleRatioMismatch } from '../../../experiments/stats/srm.js';
import { capValue, percentile, winsorize, winsorizeWithCaps } from '../../../experiments/stats/winsorize.js';
import { uniform } from '../../../pipelines/synthetic/random.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

describe('sample-ratio mismatch', () => {
  it('matches scipy.stats.chisquare and flags a skewed split only', () => {
    // scipy.stats.chisquare([10050, 9950]) → 0.5, p 0.47950012218695337
    const fair = sampleRatioMismatch([10050, 9950], [0.5, 0.5]);
    expect(fair.chiSquare).toBeCloseTo(0.5, 12);
    expect(fair.pValue).toBeCloseTo(0.47950012218695337, 10);
    expect(fair.mismatch).toBe(false);
    // scipy.stats.chisquare([10000, 10500]) → 12.195121951219512, p 0.00047914643458730067
    const skewed = sampleRatioMismatch([10000, 10500], [1, 1]);
    expect(skewed.chiSquare).toBeCloseTo(12.195121951219512, 10);
    expect(skewed.pValue).toBeCloseTo(0.00047914643458730067, 12);
    expect(skewed.mismatch).toBe(true);
    // scipy.stats.chisquare([2010, 2950, 5040], f_exp=[2000, 3000, 5000]) → 1.2033333333333334, p 0.5478977118489639
    const three = sampleRatioMismatch([2010, 2950, 5040], [0.2, 0.3, 0.5]);
    expect(three.chiSquare).toBeCloseTo(1.2033333333333334, 10);
    expect(three.pValue).toBeCloseTo(0.5478977118489639, 10);
    expect(three.expected).toEqual([2000, 3000, 5000]);
  });

  it('flags a seeded assignment that drops 5 % of treatment units, not a fair one', () => {
    const rand = uniform('srm-test');
    const counts = (lossInTreatment: number) => {
      const n = [0, 0];
      for (let i = 0; i < 50_000; i++) {
        const arm = rand() < 0.5 ? 0 : 1;
        if (arm === 1 && rand() < lossInTreatment) continue;   // e.g. a treatment page that crashes before logging
        n[arm]!++;
      }
      return n;
    };
    expect(sampleRatioMismatch(counts(0), [0.5, 0.5]).mismatch).toBe(false);
    expect(sampleRatioMismatch(counts(0.05), [0.5, 0.5]).mismatch).toBe(true);
  });

  it('rejects weights that do not fit', () => {
    expect(() => sampleRatioMismatch([1, 2], [1])).toThrow(ValidationError);
    expect(() => sampleRatioMismatch([1, 2], [1, 0])).toThrow(ValidationError);
  });
});

describe('multiple testing', () => {
  const p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.5];
  it('Holm–Bonferroni matches statsmodels multipletests(method="holm")', () => {
    const expected = [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.5];
    holmBonferroni(p).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });
  it('Benjamini–Hochberg matches statsmodels multipletests(method="fdr_bh")', () => {
    const expected = [0.035, 0.056, 0.056, 0.035, 0.23333333333333336, 0.056, 0.5];
    benjaminiHochberg(p).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });
  it('never exceeds 1 and handles an empty family', () => {
    expect(holmBonferroni([0.6, 0.7])).toEqual([1, 1]);
    expect(benjaminiHochberg([])).toEqual([]);
  });
});

describe('winsorisation', () => {
  const values = [1, 2, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 1000];
  it('percentiles interpolate like numpy.percentile', () => {
    // numpy.percentile(values, 90) → 133.0, 5 → 1.6, 50 → 13.0
    expect(percentile(values, 0.9)).toBeCloseTo(133, 10);
    expect(percentile(values, 0.05)).toBeCloseTo(1.6, 10);
    expect(percentile(values, 0.5)).toBe(13);
  });
  it('caps at computed or given caps', () => {
    const w = winsorize(values, { upper: 0.9, lower: 0.05 });
    expect(w.caps.upper).toBeCloseTo(133, 10);
    expect(Math.max(...w.values)).toBeCloseTo(133, 10);
    expect(Math.min(...w.values)).toBeCloseTo(1.6, 10);
    expect(w.values[6]).toBe(13);
    expect(winsorizeWithCaps([5, 500], { upper: 100 })).toEqual([5, 100]);
    expect(capValue(-3, { lower: 0 })).toBe(0);
    expect(() => percentile(values, 99)).toThrow(ValidationError);
  });
});
