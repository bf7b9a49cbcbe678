// Always-valid confidence sequences (against GrowthBook's gbstats test cases, and by simulation:
// peeking after every batch keeps the false-positive rate under alpha, where the fixed-horizon
// test does not) and the Bayesian normal approximation (against scipy).
import { describe, expect, it } from 'vitest';
import { normalPosterior, bayesianTest } from '../../../experiments/stats/bayesian.js';
import { alwaysValidPValue, mixtureRho, sequentialTest } from '../../../experiments/stats/sequential.js';
import { addUnit, emptyStats, meanEstimate, type VariantStats } from '../../../experiments/stats/variant-stats.js';
import { welchTest } from '../../../experiments/stats/welch-test.js';
import { uniform } from '../../../pipelines/synthetic/random.js';

// gbstats tests/frequentist/test_tests.py, TestSequentialTTest (values rounded to 5 decimals there).
const A: VariantStats = { n: 3000, sumX: 1396.87, sumX2: 52377.9767 };
const B: VariantStats = { n: 3461, sumX: 2422.7, sumX2: 134698.29 };

describe('sequential testing (asymptotic confidence sequences)', () => {
  it('matches GrowthBook test_sequential_test_runs (tuning 1000): 0.50336 ± 0.33341, CS [-0.55844, 1.56516], p 1', () => {
    const t = sequentialTest(meanEstimate(A), meanEstimate(B), { tuning: 1000 });
    const rel = t.relative!;
    expect(rel.estimate).toBeCloseTo(0.50336, 5);
    expect(rel.stdError).toBeCloseTo(0.33341, 5);
    expect(rel.ci![0]).toBeCloseTo(-0.55844, 5);
    expect(rel.ci![1]).toBeCloseTo(1.56516, 5);
    expect(rel.pValue).toBe(1);
  });

  it('matches GrowthBook test_sequential_test_runs_prop (default tuning 5000) within the n vs n − 1 variance', () => {
    // gbstats: ProportionStatistic(1396, 3000) vs (2422, 3461) → 0.50386, CS (0.40098, 0.60675), sd 0.03386, p 0.0
    const rel = sequentialTest(meanEstimate({ n: 3000, sumX: 1396, sumX2: 1396 }), meanEstimate({ n: 3461, sumX: 2422, sumX2: 2422 })).relative!;
    expect(rel.estimate).toBeCloseTo(0.50386, 5);
    expect(rel.stdError).toBeCloseTo(0.03386, 4);
    expect(rel.ci![0]).toBeCloseTo(0.40098, 3);
    expect(rel.ci![1]).toBeCloseTo(0.60675, 3);
    expect(rel.pValue!).toBeLessThan(1e-10);
  });

  it('is wider than the fixed-horizon interval and tightest when tuned near the sample size (GrowthBook test_sequential_test_tuning_as_expected)', () => {
    const width = (tuning: number) => { const ci = sequentialTest(meanEstimate(A), meanEstimate(B), { tuning }).relative!.ci!; return ci[1] - ci[0]; };
    const fixed = welchTest(meanEstimate(A), meanEstimate(B)).relative!.ci!;
    expect(width(6461)).toBeGreaterThan(fixed[1] - fixed[0]);
    expect(width(10)).toBeGreaterThan(width(10000));
    expect(width(10000)).toBeGreaterThan(width(6461));
  });

  it('its p-value is below alpha exactly when the sequence excludes 0', () => {
    const rho = mixtureRho(0.05, 5000);
    for (const z of [0.5, 2, 3, 3.5, 4, 6]) {
      const p = alwaysValidPValue(z, 8000, rho);
      const t = sequentialTest({ n: 4000, mean: 1, variance: 0.0005 }, { n: 4000, mean: 1 + z * Math.sqrt(0.001), variance: 0.0005 }, { tuning: 5000 });
      expect(t.absolute.pValue).toBeCloseTo(p, 12);
      expect(p < 0.05).toBe(t.absolute.ci![0] > 0);
    }
  });

  it('keeps the false-positive rate under alpha when peeking after every batch (seeded A/A simulation)', () => {
    const rand = uniform('sequential-peeking');
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const experiments = 300; const looks = 40; const batch = 50;
    let fixedHits = 0; let sequentialHits = 0;
    for (let e = 0; e < experiments; e++) {
      const a = emptyStats(); const b = emptyStats();
      let fixedRejected = false; let sequentialRejected = false;
      for (let look = 0; look < looks; look++) {
        for (let i = 0; i < batch; i++) { addUnit(a, normal()); addUnit(b, normal()); }
        if (welchTest(meanEstimate(a), meanEstimate(b)).absolute.pValue! < 0.05) fixedRejected = true;
        if (sequentialTest(meanEstimate(a), meanEstimate(b), { tuning: 2 * batch * looks }).absolute.pValue! < 0.05) sequentialRejected = true;
      }
      if (fixedRejected) fixedHits++;
      if (sequentialRejected) sequentialHits++;
    }
    // No true difference: every rejection is a false positive. Peeking at a fixed-horizon test
    // inflates 5 % to roughly 20–25 % over 40 looks; the confidence sequence stays under 5 %.
    expect(fixedHits / experiments).toBeGreaterThan(0.12);
    expect(sequentialHits / experiments).toBeLessThanOrEqual(0.05);
  });
});

describe('Bayesian normal approximation', () => {
  it('chance to win and expected loss match scipy for a N(-0.0131, 0.0099²) posterior', () => {
    // scipy: norm.cdf(m/s); integrate.quad of max(0, −x)·φ and max(0, x)·φ
    const b = normalPosterior(-0.0131, 0.0099 ** 2)!;
    expect(b.chanceToWin).toBeCloseTo(0.0928790649511802, 12);
    expect(b.expectedLoss).toBeCloseTo(0.01352891596666696, 10);
    expect(b.expectedLossControl).toBeCloseTo(0.00042891596666695637, 10);
    expect(b.credibleInterval[0]).toBeCloseTo(-0.0131 - 1.959963984540054 * 0.0099, 10);
    const lower = normalPosterior(-0.0131, 0.0099 ** 2, { lowerIsBetter: true })!;
    expect(lower.chanceToWin).toBeCloseTo(1 - 0.0928790649511802, 12);
    expect(lower.expectedLoss).toBeCloseTo(0.00042891596666695637, 10);
  });

  it('a proper prior shrinks the lift toward the prior mean by precision weighting', () => {
    const b = normalPosterior(0.1, 0.01, { prior: { mean: 0, variance: 0.01 } })!;
    expect(b.mean).toBeCloseTo(0.05, 12);
    expect(b.stdDev).toBeCloseTo(Math.sqrt(0.005), 12);
  });

  it('reads the same estimates as the t-test', () => {
    const r = bayesianTest(meanEstimate(A), meanEstimate(B));
    const t = welchTest(meanEstimate(A), meanEstimate(B));
    expect(r.relative!.mean).toBe(t.relative!.estimate);
    expect(r.relative!.stdDev).toBeCloseTo(t.relative!.stdError, 12);
    expect(r.absolute!.chanceToWin).toBeGreaterThan(0.95);
  });
});
