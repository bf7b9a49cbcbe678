// Percentile capping (winsorisation): a handful of whales can swamp a revenue metric's variance.
// In memory the cap is computed over the data; for SQL the caller computes the cap first (one
// percentile query) and applies it in the SUM()s, so the "cap value given" helpers exist too.
import { ValidationError } from '../../platform/errors/app-error.js';

export interface Caps {
  lower?: number;
  upper?: number;
}

/** The p-th quantile (0 ≤ p ≤ 1) with linear interpolation between order statistics (numpy's default, type 7). */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 1)) throw new ValidationError(`percentile must be between 0 and 1, got ${p}`, [{ path: 'percentile', message: 'between 0 and 1' }]);
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** One value capped at given cap values. */
export function capValue(x: number, caps: Caps): number {
  if (caps.upper !== undefined && x > caps.upper) return caps.upper;
  if (caps.lower !== undefined && x < caps.lower) return caps.lower;
  return x;
}

/** Values capped at given cap values (e.g. computed by SQL or over a previous period). */
export function winsorizeWithCaps(values: readonly number[], caps: Caps): number[] {
  return values.map((x) => capValue(x, caps));
}

/** Caps the values at their own percentiles, e.g. { upper: 0.99 } caps at the 99th percentile. */
export function winsorize(values: readonly number[], percentiles: Caps): { values: number[]; caps: Caps } {
  const caps: Caps = {
    ...(percentiles.lower !== undefined ? { lower: percentile(values, percentiles.lower) } : {}),
    ...(percentiles.upper !== undefined ? { upper: percentile(values, percentiles.upper) } : {}),
  };
  return { values: winsorizeWithCaps(values, caps), caps };
}
