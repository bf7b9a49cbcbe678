// Sufficient statistics of one variant for one metric. Every test in this folder works from these
// sums alone, so SQL can aggregate ten million exposures into a handful of numbers per variant
// (SUM(x), SUM(x*x), …) and nothing unit-level ever travels into Node.
import { ValidationError } from '../../platform/errors/app-error.js';

export interface VariantStats {
  /** Units (one row per unit). */
  n: number;
  /** Σx and Σx² of the metric value (for a ratio metric: the numerator, e.g. clicks or revenue). */
  sumX: number;
  sumX2: number;
  /** Ratio metrics: Σy, Σy², Σxy of the denominator (impressions, users' sessions, ad cost). */
  sumY?: number;
  sumY2?: number;
  sumXY?: number;
  /** CUPED: Σc, Σc², Σxc of the pre-exposure covariate. */
  sumC?: number;
  sumC2?: number;
  sumXC?: number;
}

/** A per-variant estimate: the point estimate and the variance of that estimate (not of one unit). */
export interface Estimate {
  n: number;
  mean: number;
  /** Var(mean), e.g. s²/n; a delta-method variance for ratios, the adjusted one under CUPED. */
  variance: number;
}

export function emptyStats(parts: { ratio?: boolean; covariate?: boolean } = {}): VariantStats {
  return {
    n: 0, sumX: 0, sumX2: 0,
    ...(parts.ratio ? { sumY: 0, sumY2: 0, sumXY: 0 } : {}),
    ...(parts.covariate ? { sumC: 0, sumC2: 0, sumXC: 0 } : {}),
  };
}

/** Adds one unit to the sums in place (the streaming CSV path; SQL fills the same shape with SUM()). */
export function addUnit(s: VariantStats, x: number, extra: { y?: number; c?: number } = {}): void {
  s.n += 1; s.sumX += x; s.sumX2 += x * x;
  if (extra.y !== undefined) {
    s.sumY = (s.sumY ?? 0) + extra.y; s.sumY2 = (s.sumY2 ?? 0) + extra.y * extra.y; s.sumXY = (s.sumXY ?? 0) + x * extra.y;
  }
  if (extra.c !== undefined) {
    s.sumC = (s.sumC ?? 0) + extra.c; s.sumC2 = (s.sumC2 ?? 0) + extra.c * extra.c; s.sumXC = (s.sumXC ?? 0) + x * extra.c;
  }
}

/** The sums of a list of unit values (tests, small in-memory data). */
export function statsOf(x: readonly number[], extra: { y?: readonly number[]; c?: readonly number[] } = {}): VariantStats {
  const s = emptyStats({ ratio: extra.y !== undefined, covariate: extra.c !== undefined });
  x.forEach((v, i) => addUnit(s, v, {
    ...(extra.y ? { y: extra.y[i]! } : {}),
    ...(extra.c ? { c: extra.c[i]! } : {}),
  }));
  return s;
}

/** Sample (n − 1) variance from Σx and Σx²; clamped at 0 against rounding. */
export function sampleVariance(n: number, sum: number, sum2: number): number {
  if (n < 2) return NaN;
  return Math.max(0, (sum2 - (sum * sum) / n) / (n - 1));
}

/** Sample (n − 1) covariance from Σx, Σy and Σxy. */
export function sampleCovariance(n: number, sumX: number, sumY: number, sumXY: number): number {
  if (n < 2) return NaN;
  return (sumXY - (sumX * sumY) / n) / (n - 1);
}

/** The mean of x and its variance s²/n. */
export function meanEstimate(s: VariantStats): Estimate {
  return { n: s.n, mean: s.n > 0 ? s.sumX / s.n : NaN, variance: sampleVariance(s.n, s.sumX, s.sumX2) / s.n };
}

/**
 * A ratio metric Σx / Σy (CTR = clicks / impressions, ROAS = value / cost): the ratio of the two
 * means, with the delta-method variance of a ratio of means,
 * Var(x̄/ȳ) ≈ (s²ₓ/ȳ² − 2x̄·sₓᵧ/ȳ³ + x̄²·s²ᵧ/ȳ⁴) / n — not the mean of per-unit ratios.
 */
export function ratioEstimate(s: VariantStats): Estimate {
  const { sumY, sumY2, sumXY } = s;
  if (sumY === undefined || sumY2 === undefined || sumXY === undefined) {
    throw new ValidationError('a ratio metric needs the denominator sums Σy, Σy² and Σxy', [{ path: 'sumY', message: 'missing' }]);
  }
  const n = s.n;
  const mx = s.sumX / n;
  const my = sumY / n;
  const vx = sampleVariance(n, s.sumX, s.sumX2);
  const vy = sampleVariance(n, sumY, sumY2);
  const cxy = sampleCovariance(n, s.sumX, sumY, sumXY);
  const variance = (vx / my ** 2 - (2 * mx * cxy) / my ** 3 + (mx ** 2 * vy) / my ** 4) / n;
  return { n, mean: my === 0 ? NaN : mx / my, variance: Math.max(0, variance) };
}

export function mergeStats(a: VariantStats, b: VariantStats): VariantStats {
  const add = (p?: number, q?: number) => (p === undefined && q === undefined ? undefined : (p ?? 0) + (q ?? 0));
  const out: VariantStats = { n: a.n + b.n, sumX: a.sumX + b.sumX, sumX2: a.sumX2 + b.sumX2 };
  for (const k of ['sumY', 'sumY2', 'sumXY', 'sumC', 'sumC2', 'sumXC'] as const) {
    const v = add(a[k], b[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}
