// One metric of one experiment, every variant against control: SRM first (a mismatch marks the
// whole result untrustworthy), then the fixed-horizon Welch test, optionally the always-valid
// sequence and the Bayesian read-out, and p-values adjusted across the treatment variants.
// Pure: it takes per-variant sufficient statistics, from SQL or from a streamed CSV.
import { ValidationError } from '../../platform/errors/app-error.js';
import { bayesianTest, type BayesianOptions, type BayesianResult } from './bayesian.js';
import { cuped } from './cuped.js';
import { adjustPValues, type Correction } from './multiple-testing.js';
import { sequentialTest, DEFAULT_TUNING } from './sequential.js';
import { sampleRatioMismatch, type SrmResult } from './srm.js';
import { meanEstimate, ratioEstimate, type Estimate, type VariantStats } from './variant-stats.js';
import { welchTest, type LiftTest } from './welch-test.js';

export interface AnalysisOptions {
  control: string;
  /** 'mean' (default): Σx/n per unit; 'ratio': Σx/Σy with the delta method. */
  metric?: 'mean' | 'ratio';
  /** Adjust with the covariate sums (sumC, sumC2, sumXC); mean metrics only. */
  cuped?: boolean;
  alpha?: number;
  /** Configured traffic weights per variant (default equal); only their proportions matter. */
  weights?: Record<string, number>;
  sequential?: boolean | { tuning?: number };
  bayesian?: boolean | Omit<BayesianOptions, 'alpha' | 'lowerIsBetter'>;
  lowerIsBetter?: boolean;
  /** Across the treatment variants (default Holm–Bonferroni). */
  correction?: Correction;
}

export interface VariantSummary {
  name: string;
  n: number;
  /** Observed share of units and the configured one. */
  share: number;
  expectedShare: number;
  /** The (ratio, or CUPED-adjusted) mean and its standard error. */
  mean: number;
  stdError: number;
  /** CUPED only: the unadjusted mean and the variance reduction. */
  unadjustedMean?: number;
  varianceReduction?: number;
}

export interface Comparison {
  variant: string;
  fixed: LiftTest;
  /** Fixed-horizon p-values after the correction across treatment variants. */
  adjustedPValue: { absolute: number | null; relative: number | null };
  /** The adjusted absolute p-value is below alpha. */
  significant: boolean;
  sequential?: LiftTest & { tuning: number };
  bayesian?: BayesianResult;
}

export interface ExperimentAnalysis {
  control: string;
  metric: 'mean' | 'ratio';
  alpha: number;
  correction: Correction;
  srm: SrmResult;
  /** False while SRM holds: the numbers below are not to be acted on. */
  trustworthy: boolean;
  cuped?: { theta: number; covariateMean: number };
  variants: VariantSummary[];
  comparisons: Comparison[];
}

export function analyzeExperiment(stats: Record<string, VariantStats>, o: AnalysisOptions): ExperimentAnalysis {
  const names = Object.keys(stats);
  if (!names.includes(o.control)) {
    throw new ValidationError(`control variant "${o.control}" has no data (variants: ${names.join(', ') || 'none'})`, [{ path: 'control', message: 'must be one of the variants' }]);
  }
  if (names.length < 2) throw new ValidationError('an analysis needs at least two variants', [{ path: 'variants', message: `only ${names.join(', ')}` }]);
  const ordered = [o.control, ...names.filter((n) => n !== o.control)];
  const tooSmall = ordered.filter((n) => stats[n]!.n < 2);
  if (tooSmall.length) throw new ValidationError(`every variant needs at least 2 units (${tooSmall.join(', ')})`, tooSmall.map((n) => ({ path: n, message: `${stats[n]!.n} unit(s)` })));
  const metric = o.metric ?? 'mean';
  if (o.cuped && metric === 'ratio') throw new ValidationError('CUPED applies to mean metrics here, not ratio metrics', [{ path: 'cuped', message: 'drop it for a ratio metric' }]);
  const alpha = o.alpha ?? 0.05;
  const correction = o.correction ?? 'holm';

  for (const name of Object.keys(o.weights ?? {})) {
    if (!names.includes(name)) throw new ValidationError(`weight given for unknown variant "${name}"`, [{ path: `weights.${name}`, message: `variants: ${names.join(', ')}` }]);
  }
  const weights = ordered.map((n) => (o.weights ? o.weights[n] ?? NaN : 1));
  if (weights.some((w) => !(w > 0))) throw new ValidationError('a weight is needed for every variant, all positive', ordered.filter((_, i) => !(weights[i]! > 0)).map((n) => ({ path: `weights.${n}`, message: 'missing or not > 0' })));
  const srm = sampleRatioMismatch(ordered.map((n) => stats[n]!.n), weights);
  const total = srm.observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);

  const adj = o.cuped ? cuped(stats) : null;
  const estimates: Record<string, Estimate> = {};
  for (const n of ordered) estimates[n] = adj ? adj.variants[n]!.estimate : metric === 'ratio' ? ratioEstimate(stats[n]!) : meanEstimate(stats[n]!);

  const variants: VariantSummary[] = ordered.map((name, i) => ({
    name, n: stats[name]!.n, share: stats[name]!.n / total, expectedShare: weights[i]! / wsum,
    mean: estimates[name]!.mean, stdError: Math.sqrt(estimates[name]!.variance),
    ...(adj ? { unadjustedMean: adj.variants[name]!.unadjusted.mean, varianceReduction: adj.variants[name]!.varianceReduction } : {}),
  }));

  const control = estimates[o.control]!;
  const treatments = ordered.slice(1);
  const fixed = treatments.map((n) => welchTest(control, estimates[n]!, { alpha }));
  const adjust = (ps: (number | null)[]) => {
    const known = ps.filter((p): p is number => p !== null);
    const out = adjustPValues(known, correction);
    let k = 0;
    return ps.map((p) => (p === null ? null : out[k++]!));
  };
  const adjAbs = adjust(fixed.map((t) => t.absolute.pValue));
  const adjRel = adjust(fixed.map((t) => t.relative?.pValue ?? null));
  const seq = o.sequential ? { alpha, tuning: (typeof o.sequential === 'object' ? o.sequential.tuning : undefined) ?? DEFAULT_TUNING } : null;
  const bayes = o.bayesian ? { ...(typeof o.bayesian === 'object' ? o.bayesian : {}), alpha, lowerIsBetter: o.lowerIsBetter ?? false } : null;

  const comparisons: Comparison[] = treatments.map((name, i) => ({
    variant: name,
    fixed: fixed[i]!,
    adjustedPValue: { absolute: adjAbs[i]!, relative: adjRel[i]! },
    significant: adjAbs[i] !== null && adjAbs[i]! < alpha,
    ...(seq ? { sequential: sequentialTest(control, estimates[name]!, seq) } : {}),
    ...(bayes ? { bayesian: bayesianTest(control, estimates[name]!, bayes) } : {}),
  }));

  return {
    control: o.control, metric, alpha, correction, srm, trustworthy: !srm.mismatch,
    ...(adj ? { cuped: { theta: adj.theta, covariateMean: adj.covariateMean } } : {}),
    variants, comparisons,
  };
}
