import { describe, expect, it } from 'vitest';
import { Random } from '../../../pipelines/synthetic/random.js';
import { randomSplit, timeSplit } from '../../../model-registry/training/time-split.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

function check(times: ArrayLike<number>, parts: Int32Array[]) {
  const seen = new Set<number>();
  for (const part of parts) for (const i of part) { expect(seen.has(i)).toBe(false); seen.add(i); }
  expect(seen.size).toBe(times.length);
  for (let k = 1; k < parts.length; k++) {
    const before = parts.slice(0, k).flatMap((p) => Array.from(p, (i) => times[i]!));
    const after = Array.from(parts[k]!, (i) => times[i]!);
    if (before.length && after.length) expect(Math.max(...before)).toBeLessThan(Math.min(...after));
  }
}

describe('timeSplit', () => {
  it('keeps tied times on one side of the cut', () => {
    const times = [5, 1, 3, 3, 3, 2, 4, 4, 6, 6];
    // Sorted: 1 2 3 3 3 | 4 4 5 6 6. 40 % would cut between the two 4s, so both go to the holdout.
    const s = timeSplit(times, { holdoutFraction: 0.4 });
    expect(Array.from(s.holdout).map((i) => times[i])).toEqual([4, 4, 5, 6, 6]);
    expect(s.holdoutFrom).toBe(4);
    check(times, [s.train, s.holdout]);
    // 30 % falls between 4 and 5: no tie, exactly 3 rows.
    expect(timeSplit(times, { holdoutFraction: 0.3 }).holdout).toHaveLength(3);
  });

  it('splits train / validation / holdout in time order, no overlap, on many ties', () => {
    const rng = new Random(7, 'times');
    const times = Float64Array.from({ length: 2_000 }, () => rng.int(0, 99));
    const s = timeSplit(times, { holdoutFraction: 0.2, validationFraction: 0.1 });
    check(times, [s.train, s.validation, s.holdout]);
    expect(s.holdout.length).toBeGreaterThan(300);
    expect(s.validation.length).toBeGreaterThan(100);
  });

  it('rejects fractions that leave nothing to train on and non-finite times', () => {
    expect(() => timeSplit([1, 2], { holdoutFraction: 0.6, validationFraction: 0.5 })).toThrow(ValidationError);
    expect(() => timeSplit([1, NaN], { holdoutFraction: 0.5 })).toThrow(/times\/1/);
  });
});

describe('randomSplit', () => {
  it('is a seeded partition', () => {
    const a = randomSplit(1_000, 0.25, 'adult');
    const b = randomSplit(1_000, 0.25, 'adult');
    expect(Array.from(a.holdout)).toEqual(Array.from(b.holdout));
    expect(a.holdout).toHaveLength(250);
    expect(new Set([...a.train, ...a.holdout]).size).toBe(1_000);
    expect(Array.from(randomSplit(1_000, 0.25, 'other').holdout)).not.toEqual(Array.from(a.holdout));
  });
});
