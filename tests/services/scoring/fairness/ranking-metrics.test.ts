import { describe, expect, it } from 'vitest';
import {
  exposureByGroup, klDivergence, ndkl, poolShares, positionWeight, rankingFairness, skewAtK, type Ranking,
} from '../../../../services/scoring/fairness/ranking-metrics.js';

const rank = (groups: string): Ranking => [...groups].map((g, i) => ({ id: `p${i + 1}`, group: g }));
// Six candidates, three of each group: A A B A B B.
const r = rank('AABABB');
const w = [1, 1 / Math.log2(3), 1 / Math.log2(4), 1 / Math.log2(5), 1 / Math.log2(6), 1 / Math.log2(7)];

describe('ranking metrics on a hand-computed ranking', () => {
  it('position weights and pool shares', () => {
    expect(positionWeight(1)).toBe(1);
    expect(positionWeight(3)).toBe(0.5);
    expect(poolShares(r)).toEqual({ A: 0.5, B: 0.5 });
  });

  it('skew@3: A holds 2/3 of the top 3 against a desired 1/2, B 1/3', () => {
    const s = skewAtK(r, 3);
    expect(s.A).toBeCloseTo(Math.log(4 / 3), 12); // 0.2877
    expect(s.B).toBeCloseTo(Math.log(2 / 3), 12); // −0.4055
    expect(skewAtK(r, 6)).toEqual({ A: 0, B: 0 });
    expect(skewAtK(rank('AAB'), 2).B).toBe(-Infinity);
    // An explicit desired distribution replaces the pool's.
    expect(skewAtK(r, 2, { A: 0.25, B: 0.75 }).A).toBeCloseTo(Math.log(1 / 0.25), 12);
  });

  it('NDKL: the discounted KL divergence of each prefix from 50/50', () => {
    const kl = (a: number) => klDivergence({ A: a, B: 1 - a }, { A: 0.5, B: 0.5 });
    // Prefix shares of A: 1, 1, 2/3, 3/4, 3/5, 1/2.
    expect(kl(1)).toBeCloseTo(Math.log(2), 12);
    expect(kl(2 / 3)).toBeCloseTo((2 / 3) * Math.log(4 / 3) + (1 / 3) * Math.log(2 / 3), 12);
    // KL of the prefixes: ln 2, ln 2, 0.05663, 0.13081, 0.02014, 0.
    expect(kl(3 / 4)).toBeCloseTo(0.75 * Math.log(1.5) + 0.25 * Math.log(0.5), 12);
    const expected = [1, 1, 2 / 3, 3 / 4, 3 / 5, 1 / 2].reduce((s, a, i) => s + w[i]! * kl(a), 0) / w.reduce((a, b) => a + b, 0);
    expect(expected).toBeCloseTo(0.370058, 6);
    expect(ndkl(r)).toBeCloseTo(expected, 12);
    expect(ndkl(rank('ABABAB'))).toBeLessThan(ndkl(r));
    expect(ndkl(rank('AAAA'))).toBe(0); // a pool of one group is representative of itself
  });

  it('exposure by group and the exposure ratio', () => {
    const e = exposureByGroup(r);
    expect(e.A!.members).toBe(3);
    expect(e.A!.exposure).toBeCloseTo(w[0]! + w[1]! + w[3]!, 12); // 2.0616
    expect(e.B!.exposure).toBeCloseTo(w[2]! + w[4]! + w[5]!, 12); // 1.2431
    const f = rankingFairness([r], { k: 3 });
    expect(f.exposureRatio).toBeCloseTo((w[2]! + w[4]! + w[5]!) / (w[0]! + w[1]! + w[3]!), 12); // 0.6030
    const a = f.groups[0]!;
    expect(a.exposureShare).toBeCloseTo((w[0]! + w[1]! + w[3]!) / w.reduce((x, y) => x + y, 0), 12);
    expect(a.skewAtK).toBeCloseTo(Math.log(4 / 3), 12);
    expect(f.minSkewAtK).toBeCloseTo(Math.log(2 / 3), 12);
    expect(f.maxSkewAtK).toBeCloseTo(Math.log(4 / 3), 12);
  });

  it('pools several rankings: shares of all top-k slots against the pooled pool shares', () => {
    // Ranking 1: AABABB (top 2: A A). Ranking 2: BBA (top 2: B B). Pools: A 3+1 of 9, top slots: A 2 of 4.
    const f = rankingFairness([rank('AABABB'), rank('BBA'), []], { k: 2 });
    expect(f.rankings).toBe(2);
    const [a, b] = f.groups;
    expect(a!.desiredShare).toBeCloseTo(4 / 9, 12);
    expect(a!.shareTopK).toBe(0.5);
    expect(a!.skewAtK).toBeCloseTo(Math.log(0.5 / (4 / 9)), 12);
    expect(b!.skewAtK).toBeCloseTo(Math.log(0.5 / (5 / 9)), 12);
    // Per ranking A's skew@2 is ln(1/0.5) then ln(0/(1/3)) = −∞: the mean is undefined.
    expect(a!.meanSkewAtK).toBeNull();
    expect(b!.meanSkewAtK).toBeNull();
    expect(f.ndkl).toBeCloseTo((ndkl(rank('AABABB')) + ndkl(rank('BBA'))) / 2, 12);
    // A group shut out of every top k has no finite skew: the minimum is −∞, reported as null.
    const shut = rankingFairness([rank('AAB'), rank('AB')], { k: 1 });
    expect(shut.groups[1]!.skewAtK).toBeNull();
    expect(shut.minSkewAtK).toBeNull();
  });
});
