// Power and sample size for a two-variant test of means (or proportions) with equal allocation,
// normal approximation, two-sided — the same model as statsmodels' NormalIndPower, including the
// (tiny) contribution of the wrong-sign tail, so numbers agree with it to rounding.
import { ValidationError } from '../../platform/errors/app-error.js';
import { normalCdf, normalQuantile } from './distributions.js';

export interface PowerOptions {
  /** Two-sided significance level (default 0.05). */
  alpha?: number;
  /** Target power 1 − β (default 0.8). */
  power?: number;
}

export interface SampleSize {
  /** Units needed in each variant (rounded up). */
  perVariant: number;
  /** The unrounded solution. */
  exact: number;
}

export interface Mde {
  absolute: number;
  /** Absolute MDE / baseline mean (null when the baseline is 0). */
  relative: number | null;
}

function check(name: string, v: number, ok: boolean, rule: string): void {
  if (!ok || !Number.isFinite(v)) throw new ValidationError(`${name} ${rule}, got ${v}`, [{ path: name, message: rule }]);
}
function checkLevels(o: PowerOptions): { alpha: number; power: number } {
  const alpha = o.alpha ?? 0.05; const power = o.power ?? 0.8;
  check('alpha', alpha, alpha > 0 && alpha < 1, 'must be between 0 and 1');
  check('power', power, power > alpha && power < 1, 'must be between alpha and 1');
  return { alpha, power };
}

/** Power of a two-sided z-test to detect a true difference `delta` with n units per variant. */
export function powerAt(delta: number, varianceControl: number, varianceTreatment: number, n: number, alpha = 0.05): number {
  const se = Math.sqrt((varianceControl + varianceTreatment) / n);
  const crit = normalQuantile(1 - alpha / 2);
  const d = Math.abs(delta) / se;
  return normalCdf(d - crit) + normalCdf(-d - crit);
}

/** Root of an increasing function on [lo, hi] by bisection (power is monotone in n and in delta). */
function solveIncreasing(f: (x: number) => number, target: number, lo: number, hi: number): number {
  while (f(hi) < target) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) lo = mid; else hi = mid;
  }
  return (lo + hi) / 2;
}

function sizeFor(delta: number, vc: number, vt: number, o: PowerOptions): SampleSize {
  const { alpha, power } = checkLevels(o);
  check('mde', delta, delta !== 0, 'must not be 0');
  const exact = solveIncreasing((n) => powerAt(delta, vc, vt, n, alpha), power, 1e-9, 1);
  return { perVariant: Math.ceil(exact - 1e-9), exact };
}

/**
 * Units per variant to detect `mde` on a metric with the given per-unit mean and variance;
 * `relative` reads mde as a fraction of the mean (0.05 = +5 %). Both variants share the variance.
 */
export function sampleSizePerVariant(d: PowerOptions & { mean: number; variance: number; mde: number; relative?: boolean }): SampleSize {
  check('variance', d.variance, d.variance > 0, 'must be > 0');
  const delta = d.relative ? d.mde * d.mean : d.mde;
  return sizeFor(delta, d.variance, d.variance, d);
}

/** Units per variant for a conversion rate: variances p(1 − p) of control and of the treated rate. */
export function sampleSizeForProportion(d: PowerOptions & { baseline: number; mde: number; relative?: boolean }): SampleSize {
  check('baseline', d.baseline, d.baseline > 0 && d.baseline < 1, 'must be a proportion between 0 and 1');
  const delta = d.relative ? d.mde * d.baseline : d.mde;
  const p2 = d.baseline + delta;
  check('baseline + mde', p2, p2 > 0 && p2 < 1, 'must stay between 0 and 1');
  return sizeFor(delta, d.baseline * (1 - d.baseline), p2 * (1 - p2), d);
}

/** The smallest true difference detectable with n units per variant at the given alpha and power. */
export function minimumDetectableEffect(d: PowerOptions & { mean: number; variance: number; n: number }): Mde {
  const { alpha, power } = checkLevels(d);
  check('n', d.n, d.n > 0, 'must be > 0');
  check('variance', d.variance, d.variance > 0, 'must be > 0');
  const absolute = solveIncreasing((delta) => powerAt(delta, d.variance, d.variance, d.n, alpha), power, 0, Math.sqrt(d.variance));
  return { absolute, relative: d.mean === 0 ? null : absolute / Math.abs(d.mean) };
}

/** The smallest detectable increase of a conversion rate with n units per variant. */
export function minimumDetectableEffectForProportion(d: PowerOptions & { baseline: number; n: number }): Mde {
  const { alpha, power } = checkLevels(d);
  check('baseline', d.baseline, d.baseline > 0 && d.baseline < 1, 'must be a proportion between 0 and 1');
  const p = d.baseline;
  const f = (delta: number) => {
    const p2 = Math.min(p + delta, 1 - 1e-12);
    return powerAt(delta, p * (1 - p), p2 * (1 - p2), d.n, alpha);
  };
  const top = 1 - p - 1e-12;
  if (f(top) < power) throw new ValidationError(`no increase of a ${p} rate is detectable with ${d.n} units per variant at power ${power}`, [{ path: 'n', message: 'too few units' }]);
  const absolute = solveIncreasing(f, power, 0, top);
  return { absolute, relative: absolute / p };
}
