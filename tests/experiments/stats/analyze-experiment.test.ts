// analyzeExperiment: every treatment against control, corrections across treatments, SRM gate.
import { describe, expect, it } from 'vitest';
import { analyzeExperiment } from '../../../experiments/stats/analyze-experiment.js';
import { benjaminiHochberg, holmBonferroni } from '../../../experiments/stats/multiple-testing.js';
import { statsOf, type VariantStats } from '../../../experiments/stats/variant-stats.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

const variants: Record<string, VariantStats> = {
  b: { n: 5000, sumX: 620, sumX2: 620 },
  control: { n: 5000, sumX: 600, sumX2: 600 },
  c: { n: 5000, sumX: 690, sumX2: 690 },
};

describe('analyzeExperiment', () => {
  it('puts control first and adjusts p-values across the treatments (Holm by default, BH on request)', () => {
    const a = analyzeExperiment(variants, { control: 'control', sequential: { tuning: 10_000 }, bayesian: true });
    expect(a.variants.map((v) => v.name)).toEqual(['control', 'b', 'c']);
    const raw = a.comparisons.map((c) => c.fixed.absolute.pValue!);
    expect(a.comparisons.map((c) => c.adjustedPValue.absolute)).toEqual(holmBonferroni(raw));
    expect(a.comparisons[1]!.significant).toBe(true);    // 13.8 % vs 12 %
    expect(a.comparisons[0]!.significant).toBe(false);   // 12.4 % vs 12 %
    expect(a.comparisons[0]!.sequential!.tuning).toBe(10_000);
    expect(a.comparisons[1]!.bayesian!.relative!.chanceToWin).toBeGreaterThan(0.99);
    const bh = analyzeExperiment(variants, { control: 'control', correction: 'bh' });
    expect(bh.comparisons.map((c) => c.adjustedPValue.absolute)).toEqual(benjaminiHochberg(raw));
    expect(a.srm.mismatch).toBe(false);
    expect(a.trustworthy).toBe(true);
  });

  it('marks the analysis untrustworthy when the split does not match the weights', () => {
    const a = analyzeExperiment(variants, { control: 'control', weights: { control: 0.5, b: 0.25, c: 0.25 } });
    expect(a.srm.mismatch).toBe(true);
    expect(a.trustworthy).toBe(false);
    expect(a.variants[0]!.expectedShare).toBe(0.5);
  });

  it('rejects what it cannot analyse', () => {
    expect(() => analyzeExperiment(variants, { control: 'nope' })).toThrow(ValidationError);
    expect(() => analyzeExperiment(variants, { control: 'control', weights: { control: 1, b: 1, x: 1 } })).toThrow(/unknown variant "x"/);
    expect(() => analyzeExperiment(variants, { control: 'control', weights: { control: 1, b: 1 } })).toThrow(ValidationError);
    expect(() => analyzeExperiment(variants, { control: 'control', metric: 'ratio', cuped: true })).toThrow(ValidationError);
    expect(() => analyzeExperiment({ control: statsOf([1]), b: statsOf([1, 2]) }, { control: 'control' })).toThrow(/at least 2 units/);
  });
});
