// Always-valid inference: the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha,
// Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic confidence sequences"
// (Annals of Statistics, 2024; arXiv:2103.06476), Gaussian-mixture boundary — the one GrowthBook's
// SequentialTwoSidedTTest uses (Eppo's sequential mode is the same family). The interval holds
// simultaneously at every sample size, so analysts may look after every exposure and stop whenever
// the interval excludes zero without inflating the false-positive rate beyond alpha.
import { makeLift, relativeVariance, type LiftTest } from './welch-test.js';
import type { Estimate } from './variant-stats.js';

/** GrowthBook's default: the total sample size at which the sequence is tightest. */
export const DEFAULT_TUNING = 5000;

export interface SequentialOptions {
  alpha?: number;
  /** Total units (both variants) at which the boundary is tightest; a guess of the final size. */
  tuning?: number;
}

/** ρ that minimises the boundary's width at n = tuning (the paper's closed form). */
export function mixtureRho(alpha: number, tuning: number): number {
  const l = -2 * Math.log(alpha);
  return Math.sqrt((l + Math.log(l + 1)) / tuning);
}

/**
 * Half-width of the two-sided (1 − alpha) confidence sequence for an estimate with variance
 * `variance` after `n` units in total: σ·sqrt(2(nρ²+1)/(n²ρ²) · ln(sqrt(nρ²+1)/alpha)), σ² = n·variance.
 */
export function confidenceSequenceHalfWidth(variance: number, n: number, alpha: number, rho: number): number {
  const nr2 = n * rho * rho;
  return Math.sqrt(n * variance) * Math.sqrt(((2 * (nr2 + 1)) / (n * nr2)) * Math.log(Math.sqrt(nr2 + 1) / alpha));
}

/**
 * Always-valid p-value: the smallest alpha whose sequence (same ρ) excludes 0, which is
 * min(1, 1/E) for the mixture martingale E = exp(z²·nρ²/(2(nρ²+1))) / sqrt(nρ²+1).
 */
export function alwaysValidPValue(z: number, n: number, rho: number): number {
  const nr2 = n * rho * rho;
  return Math.min(1, Math.sqrt(nr2 + 1) * Math.exp((-z * z * nr2) / (2 * (nr2 + 1))));
}

/** The sequential counterpart of welchTest: same estimates, always-valid intervals and p-values (normal, no df). */
export function sequentialTest(control: Estimate, treatment: Estimate, opts: SequentialOptions = {}): LiftTest & { tuning: number } {
  const alpha = opts.alpha ?? 0.05;
  const tuning = opts.tuning ?? DEFAULT_TUNING;
  const n = control.n + treatment.n;
  const rho = mixtureRho(alpha, tuning);
  const half = (se: number) => confidenceSequenceHalfWidth(se * se, n, alpha, rho);
  const p = (z: number) => alwaysValidPValue(z, n, rho);
  const absolute = makeLift(treatment.mean - control.mean, control.variance + treatment.variance, half, p);
  const relative = control.mean === 0 || !Number.isFinite(control.mean) ? null
    : makeLift(treatment.mean / control.mean - 1, relativeVariance(control, treatment), half, p);
  return { control, treatment, alpha, df: Infinity, absolute, relative, tuning };
}
