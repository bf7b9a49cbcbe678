// The distribution functions the statistics need, from @stdlib (one small package per function):
// well-tested special functions instead of hand-written approximations.
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdfFn from '@stdlib/stats-base-dists-normal-cdf';
import normalPdfFn from '@stdlib/stats-base-dists-normal-pdf';
import normalQuantileFn from '@stdlib/stats-base-dists-normal-quantile';
import tCdfFn from '@stdlib/stats-base-dists-t-cdf';
import tQuantileFn from '@stdlib/stats-base-dists-t-quantile';

/** Standard normal CDF Φ(x). */
export const normalCdf = (x: number): number => normalCdfFn(x, 0, 1);
/** Standard normal density φ(x). */
export const normalPdf = (x: number): number => normalPdfFn(x, 0, 1);
/** Standard normal quantile Φ⁻¹(p). */
export const normalQuantile = (p: number): number => normalQuantileFn(p, 0, 1);
/** Student t CDF with `df` degrees of freedom (df may be fractional, as Welch–Satterthwaite gives). */
export const tCdf = (x: number, df: number): number => tCdfFn(x, df);
export const tQuantile = (p: number, df: number): number => tQuantileFn(p, df);
/** Upper tail of the chi-square distribution: the p-value of a statistic x with `df` degrees of freedom. */
export const chiSquareSurvival = (x: number, df: number): number => 1 - chisquareCdf(x, df);
