// Bucket ranges as GrowthBook computes them: each variant owns [start, start + coverage × weight)
// inside its full-weight slot, so raising coverage only extends each range upwards and nobody
// already inside one moves. Invalid inputs fall back the way GrowthBook's SDKs do (coverage
// clamped to [0, 1]; weights of the wrong length, or not summing to 1 ± 0.01, become equal
// weights) so an experiment lands users exactly where GrowthBook would; the definitions layer
// rejects such inputs up front (see `assignmentProblems`), so the fallbacks are a last resort.
import { hashV1Pair } from './fnv.js';

/** [start, end): a hash in this half-open interval gets the variant. */
export type VariationRange = readonly [number, number];

/** A namespace (layer): [name, start, end); units hashing outside it are not in the experiment. */
export type NamespaceRange = readonly [string, number, number];

export function getEqualWeights(n: number): number[] {
  if (n <= 0) return [];
  return new Array<number>(n).fill(1 / n);
}

export function getBucketRanges(
  numVariations: number, coverage: number | undefined, weights?: readonly number[] | null,
): [number, number][] {
  let cover = coverage === undefined ? 1 : coverage;
  if (cover < 0) cover = 0;
  else if (cover > 1) cover = 1;

  const equal = getEqualWeights(numVariations);
  let w: readonly number[] = weights ?? equal;
  if (w.length !== numVariations) w = equal;
  let total = 0;
  for (const x of w) total += x;
  // The same window as GrowthBook: weights that miss 1 by more than 1% are a mistake, not intent.
  if (total < 0.99 || total > 1.01) w = equal;

  const ranges: [number, number][] = [];
  let cumulative = 0;
  for (const x of w) {
    const start = cumulative;
    cumulative += x;
    ranges.push([start, start + cover * x]);
  }
  return ranges;
}

export function inRange(n: number, range: VariationRange): boolean {
  return n >= range[0] && n < range[1];
}

/** The index of the first range holding `n`, or -1 (outside coverage). */
export function chooseVariation(n: number, ranges: readonly VariationRange[]): number {
  for (let i = 0; i < ranges.length; i++) if (inRange(n, ranges[i]!)) return i;
  return -1;
}

/** Whether `hashValue` falls inside the namespace range; always hash version 1, as GrowthBook. */
export function inNamespace(hashValue: string, namespace: NamespaceRange): boolean {
  const n = hashV1Pair(hashValue, `__${namespace[0]}`);
  return n >= namespace[1] && n < namespace[2];
}
