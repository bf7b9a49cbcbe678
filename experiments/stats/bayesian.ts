// Bayesian read-out with GrowthBook's normal approximation: the lift (absolute, or relative by the
// delta method) has a normal likelihood N(estimate, se²); with a flat prior (GrowthBook's default)
// the posterior is that same normal, or a precision-weighted blend with a normal prior on the lift.
// Chance to win and expected loss then have closed forms, so no Monte Carlo noise.
import { normalCdf, normalPdf, normalQuantile } from './distributions.js';
import { relativeVariance } from './welch-test.js';
import type { Estimate } from './variant-stats.js';

export interface NormalPrior {
  mean: number;
  variance: number;
}

export interface BayesianLift {
  /** Posterior mean and standard deviation of the lift. */
  mean: number;
  stdDev: number;
  /** P(lift > 0), or P(lift < 0) when lower is better. */
  chanceToWin: number;
  /** E[loss | ship treatment] = E[max(0, −lift)] (sign flipped when lower is better). */
  expectedLoss: number;
  /** E[loss | keep control] = E[max(0, lift)]. */
  expectedLossControl: number;
  credibleInterval: [number, number];
}

export interface BayesianResult {
  absolute: BayesianLift | null;
  relative: BayesianLift | null;
}

export interface BayesianOptions {
  alpha?: number;
  /** True for metrics where smaller is better (cost, latency). */
  lowerIsBetter?: boolean;
  /** A proper normal prior on the lift; absent: flat. */
  priorAbsolute?: NormalPrior;
  priorRelative?: NormalPrior;
}

/** E[max(0, X)] for X ~ N(m, s²). */
const positivePart = (m: number, s: number) => s * normalPdf(m / s) + m * normalCdf(m / s);

/** Chance to win and expected losses of a normal posterior on the lift. */
export function normalPosterior(estimate: number, variance: number, opts: BayesianOptions & { prior?: NormalPrior } = {}): BayesianLift | null {
  if (!Number.isFinite(estimate) || !(variance > 0) || !Number.isFinite(variance)) return null;
  let mean = estimate; let v = variance;
  if (opts.prior) {
    const precision = 1 / variance + 1 / opts.prior.variance;
    mean = (estimate / variance + opts.prior.mean / opts.prior.variance) / precision;
    v = 1 / precision;
  }
  const sd = Math.sqrt(v);
  const sign = opts.lowerIsBetter ? -1 : 1;
  const z = normalQuantile(1 - (opts.alpha ?? 0.05) / 2);
  return {
    mean, stdDev: sd,
    chanceToWin: normalCdf((sign * mean) / sd),
    expectedLoss: positivePart(-sign * mean, sd),
    expectedLossControl: positivePart(sign * mean, sd),
    credibleInterval: [mean - z * sd, mean + z * sd],
  };
}

export function bayesianTest(control: Estimate, treatment: Estimate, opts: BayesianOptions = {}): BayesianResult {
  const absolute = normalPosterior(treatment.mean - control.mean, control.variance + treatment.variance,
    { ...opts, ...(opts.priorAbsolute ? { prior: opts.priorAbsolute } : {}) });
  const relative = control.mean === 0 ? null
    : normalPosterior(treatment.mean / control.mean - 1, relativeVariance(control, treatment),
      { ...opts, ...(opts.priorRelative ? { prior: opts.priorRelative } : {}) });
  return { absolute, relative };
}
