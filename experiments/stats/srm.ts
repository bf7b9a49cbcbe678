// Sample-ratio mismatch: if the observed split of units differs from the configured weights more
// than chance allows, assignment or logging is broken and no lift can be trusted. Chi-square
// goodness of fit, flagged at p < 0.001 (the threshold GrowthBook, Optimizely and Kohavi et al. use).
import { ValidationError } from '../../platform/errors/app-error.js';
import { chiSquareSurvival } from './distributions.js';

export const SRM_THRESHOLD = 0.001;

export interface SrmResult {
  observed: number[];
  expected: number[];
  chiSquare: number;
  df: number;
  pValue: number;
  /** True when p < threshold: results are untrustworthy until the cause is found. */
  mismatch: boolean;
}

/** Observed unit counts per variant against weights in the same order (weights need not sum to 1). */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[], threshold = SRM_THRESHOLD): SrmResult {
  if (observed.length !== weights.length || observed.length < 2) {
    throw new ValidationError(`SRM needs one weight per variant (${observed.length} counts, ${weights.length} weights)`, [{ path: 'weights', message: 'one per variant, at least two' }]);
  }
  if (weights.some((w) => !(w > 0))) throw new ValidationError('SRM weights must be positive', [{ path: 'weights', message: 'every weight > 0' }]);
  const total = observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (total * w) / wsum);
  const chiSquare = total === 0 ? 0 : observed.reduce((acc, o, i) => acc + (o - expected[i]!) ** 2 / expected[i]!, 0);
  const df = observed.length - 1;
  const pValue = total === 0 ? 1 : chiSquareSurvival(chiSquare, df);
  return { observed: [...observed], expected, chiSquare, df, pValue, mismatch: pValue < threshold };
}
