// Kamiran & Calders' reweighing on a table small enough to check by hand.
import { describe, expect, it } from 'vitest';
import { reweighingWeights } from '../../../model-registry/training/reweigh.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

describe('reweighingWeights', () => {
  // 10 rows: group a has 6 (4 positive), group b has 4 (1 positive); 5 positives overall.
  const groups = ['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'];
  const y = [1, 1, 1, 1, 0, 0, 1, 0, 0, 0];

  it('weights each (group, label) cell by P(g)·P(y) / P(g, y)', () => {
    const { weights, table } = reweighingWeights(y, groups);
    // a/1: (6/10)(5/10)/(4/10) = 0.75; a/0: (6/10)(5/10)/(2/10) = 1.5;
    // b/1: (4/10)(5/10)/(1/10) = 2;    b/0: (4/10)(5/10)/(3/10) = 2/3.
    expect(table).toEqual([
      { group: 'a', label: 0, count: 2, weight: 1.5 },
      { group: 'a', label: 1, count: 4, weight: 0.75 },
      { group: 'b', label: 0, count: 3, weight: expect.closeTo(2 / 3, 12) },
      { group: 'b', label: 1, count: 1, weight: 2 },
    ]);
    expect(Array.from(weights)).toEqual([0.75, 0.75, 0.75, 0.75, 1.5, 1.5, 2, expect.closeTo(2 / 3, 12), expect.closeTo(2 / 3, 12), expect.closeTo(2 / 3, 12)]);
  });

  it('makes the weighted label rate equal in every group while keeping group and label totals', () => {
    const { weights } = reweighingWeights(y, groups);
    const total = (pred: (i: number) => boolean) => weights.reduce((s, w, i) => s + (pred(i) ? w : 0), 0);
    for (const g of ['a', 'b']) {
      const inGroup = total((i) => groups[i] === g);
      expect(inGroup).toBeCloseTo(groups.filter((x) => x === g).length, 12);
      expect(total((i) => groups[i] === g && y[i] === 1) / inGroup).toBeCloseTo(0.5, 12);
    }
    expect(total((i) => y[i] === 1)).toBeCloseTo(5, 12);
  });

  it('rejects labels other than 0/1 and mismatched lengths', () => {
    expect(() => reweighingWeights([0, 2], ['a', 'b'])).toThrow(ValidationError);
    expect(() => reweighingWeights([0, 1], ['a'])).toThrow(/same length/);
  });
});
