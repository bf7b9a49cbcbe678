// Fixed-horizon frequentist comparison of a treatment with control: Welch's unequal-variance
// t-test on the absolute lift (difference of means) and on the relative lift (delta method), as
// GrowthBook's TwoSidedTTest does. Works on any per-variant Estimate: plain means, ratio metrics
// (delta-method variances) and CUPED-adjusted means alike.
import { tCdf, tQuantile } from './distributions.js';
import type { Estimate } from './variant-stats.js';

export interface Lift {
  /** Treatment − control (absolute) or treatment / control − 1 (relative). */
  estimate: number;
  stdError: number;
  /** Two-sided interval at 1 − alpha; null when the standard error is 0 or undefined. */
  ci: [number, number] | null;
  pValue: number | null;
}

export interface LiftTest {
  control: Estimate;
  treatment: Estimate;
  alpha: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  absolute: Lift;
  /** Null when the control mean is 0 (no relative lift exists). */
  relative: Lift | null;
}

/** Welch–Satterthwaite df from the variances of the two means. */
export function welchDf(control: Estimate, treatment: Estimate): number {
  const a = control.variance; const b = treatment.variance;
  return (a + b) ** 2 / (a ** 2 / (control.n - 1) + b ** 2 / (treatment.n - 1));
}

/** Delta-method variance of treatment / control − 1: Var(t)/c² + t²·Var(c)/c⁴ (the variants are independent). */
export function relativeVariance(control: Estimate, treatment: Estimate): number {
  const c = control.mean; const t = treatment.mean;
  return treatment.variance / c ** 2 + (t ** 2 * control.variance) / c ** 4;
}

/** Builds one lift from its estimate and variance, given how wide an interval is and how a z becomes a p. */
export function makeLift(
  estimate: number, variance: number,
  halfWidth: (stdError: number) => number, pValue: (z: number, stdError: number) => number,
): Lift {
  const stdError = Math.sqrt(variance);
  if (!Number.isFinite(estimate) || !(stdError > 0) || !Number.isFinite(stdError)) {
    return { estimate, stdError, ci: null, pValue: null };
  }
  const w = halfWidth(stdError);
  return { estimate, stdError, ci: [estimate - w, estimate + w], pValue: pValue(estimate / stdError, stdError) };
}

export function welchTest(control: Estimate, treatment: Estimate, opts: { alpha?: number } = {}): LiftTest {
  const alpha = opts.alpha ?? 0.05;
  const df = welchDf(control, treatment);
  const crit = tQuantile(1 - alpha / 2, df);
  const half = (se: number) => crit * se;
  const p = (z: number) => 2 * tCdf(-Math.abs(z), df);
  const absolute = makeLift(treatment.mean - control.mean, control.variance + treatment.variance, half, p);
  const relative = control.mean === 0 || !Number.isFinite(control.mean) ? null
    : makeLift(treatment.mean / control.mean - 1, relativeVariance(control, treatment), half, p);
  return { control, treatment, alpha, df, absolute, relative };
}
