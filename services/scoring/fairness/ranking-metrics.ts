// Fairness of rankings by group, for logged matching results (Geyik, Ambler and Kenthapadi,
// "Fairness-Aware Ranking in Search & Recommendation Systems", KDD 2019, LinkedIn):
// - skew@k of a group: ln(its share of the top k / its desired share), 0 is fair, < 0 under-represented;
// - NDKL: the KL divergence of every top-i prefix from the desired distribution, discounted by
//   1/log2(i+1) and normalised by Σ 1/log2(i+1), so 0 means every prefix is representative;
// - exposure: the attention a position gets, 1/log2(1 + rank) (Singh and Joachims 2018), summed per
//   group; the exposure ratio is min/max of the mean exposure per group member.
// Logarithms are natural. The desired distribution defaults to each ranking's own candidate pool.
import { ValidationError } from '../../../platform/errors/app-error.js';

/** A ranking, best first: each candidate's id and its group (for one sensitive attribute). */
export interface RankedCandidate { id: string; group: string }
export type Ranking = readonly RankedCandidate[];
/** Group → desired share, summing to 1. */
export type Distribution = Readonly<Record<string, number>>;

export interface GroupRankingMetrics {
  group: string;
  /** Appearances over all rankings. */
  candidates: number;
  /** Pooled desired share: Σ desired share × ranking size / Σ ranking sizes (the pool share by default). */
  desiredShare: number;
  /** Pooled share of the top-k slots. */
  shareTopK: number;
  /** ln(shareTopK / desiredShare); null when the group never reached the top k (−∞). */
  skewAtK: number | null;
  /** Mean of the per-ranking skew@k over the rankings the group appears in; null if it is −∞ in any. */
  meanSkewAtK: number | null;
  /** Σ 1/log2(1 + rank) over the group's appearances. */
  exposure: number;
  /** The group's exposure over everyone's. */
  exposureShare: number;
  /** Exposure per appearance. */
  meanExposure: number;
}

export interface RankingFairness {
  rankings: number;
  k: number;
  groups: GroupRankingMetrics[];
  /** Smallest and largest pooled skew@k; min is null when some group never reached the top k. */
  minSkewAtK: number | null;
  maxSkewAtK: number | null;
  /** Mean NDKL over the rankings. */
  ndkl: number;
  /** min / max mean exposure per group member; null when nobody got exposure. */
  exposureRatio: number | null;
}

/** Attention at a 1-based rank: 1/log2(1 + rank). */
export function positionWeight(rank: number): number {
  return 1 / Math.log2(1 + rank);
}

/** The groups' shares among the candidates of a ranking. */
export function poolShares(ranking: Ranking): Record<string, number> {
  const counts = countGroups(ranking);
  const shares: Record<string, number> = {};
  for (const [g, c] of counts) shares[g] = c / ranking.length;
  return shares;
}

function countGroups(candidates: Ranking): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of candidates) counts.set(c.group, (counts.get(c.group) ?? 0) + 1);
  return counts;
}

function desiredFor(ranking: Ranking, desired: Distribution | undefined): Distribution {
  if (!desired) return poolShares(ranking);
  for (const c of ranking) {
    if (!(desired[c.group]! > 0)) throw new ValidationError(`group "${c.group}" has no desired share`, [{ path: 'desired', message: `give "${c.group}" a share above 0` }]);
  }
  return desired;
}

/** skew@k of every group of the desired distribution; −Infinity for a group absent from the top k. */
export function skewAtK(ranking: Ranking, k: number, desired?: Distribution): Record<string, number> {
  checkK(k);
  const want = desiredFor(ranking, desired);
  const top = ranking.slice(0, k);
  const counts = countGroups(top);
  const skew: Record<string, number> = {};
  for (const [g, share] of Object.entries(want)) {
    if (share > 0) skew[g] = Math.log((counts.get(g) ?? 0) / top.length / share);
  }
  return skew;
}

/** Kullback–Leibler divergence Σ p·ln(p/q) of p from q (terms with p = 0 are 0). */
export function klDivergence(p: Distribution, q: Distribution): number {
  let d = 0;
  for (const [g, pg] of Object.entries(p)) if (pg > 0) d += pg * Math.log(pg / (q[g] ?? 0));
  return d;
}

/** Normalised discounted KL divergence of a ranking from the desired distribution (0 for an empty ranking). */
export function ndkl(ranking: Ranking, desired?: Distribution): number {
  const want = desiredFor(ranking, desired);
  const counts = new Map<string, number>();
  let sum = 0, z = 0;
  for (let i = 1; i <= ranking.length; i++) {
    const g = ranking[i - 1]!.group;
    counts.set(g, (counts.get(g) ?? 0) + 1);
    const prefix: Record<string, number> = {};
    for (const [group, c] of counts) prefix[group] = c / i;
    const w = positionWeight(i);
    sum += w * klDivergence(prefix, want);
    z += w;
  }
  return z ? sum / z : 0;
}

/** Exposure of each group in one ranking: members and Σ 1/log2(1 + rank). */
export function exposureByGroup(ranking: Ranking): Record<string, { members: number; exposure: number }> {
  const out: Record<string, { members: number; exposure: number }> = {};
  ranking.forEach((c, i) => {
    const e = (out[c.group] ??= { members: 0, exposure: 0 });
    e.members++;
    e.exposure += positionWeight(i + 1);
  });
  return out;
}

/** All the ranking metrics over a set of logged rankings (empty rankings are ignored). */
export function rankingFairness(all: readonly Ranking[], opts: { k: number; desired?: Distribution }): RankingFairness {
  checkK(opts.k);
  const rankings = all.filter((r) => r.length > 0);
  const acc = new Map<string, { candidates: number; desired: number; top: number; exposure: number; skewSum: number; skewN: number; skewInf: boolean }>();
  const get = (g: string) => {
    let a = acc.get(g);
    if (!a) acc.set(g, a = { candidates: 0, desired: 0, top: 0, exposure: 0, skewSum: 0, skewN: 0, skewInf: false });
    return a;
  };
  let slots = 0, topSlots = 0, ndklSum = 0;
  for (const r of rankings) {
    const want = desiredFor(r, opts.desired);
    const top = Math.min(opts.k, r.length);
    slots += r.length; topSlots += top;
    for (const [g, share] of Object.entries(want)) get(g).desired += share * r.length;
    r.forEach((c, i) => {
      const a = get(c.group);
      a.candidates++;
      a.exposure += positionWeight(i + 1);
      if (i < top) a.top++;
    });
    const inPool = countGroups(r);
    for (const [g, s] of Object.entries(skewAtK(r, opts.k, opts.desired))) {
      if (!inPool.has(g)) continue; // the per-ranking mean is over the rankings a group takes part in
      const a = get(g);
      if (s === -Infinity) a.skewInf = true; else { a.skewSum += s; a.skewN++; }
    }
    ndklSum += ndkl(r, opts.desired);
  }
  const totalExposure = [...acc.values()].reduce((s, a) => s + a.exposure, 0);
  const groups: GroupRankingMetrics[] = [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, a]) => {
    const desiredShare = slots ? a.desired / slots : 0;
    const shareTopK = topSlots ? a.top / topSlots : 0;
    return {
      group, candidates: a.candidates, desiredShare, shareTopK,
      skewAtK: shareTopK > 0 && desiredShare > 0 ? Math.log(shareTopK / desiredShare) : null,
      meanSkewAtK: a.skewInf || a.skewN === 0 ? null : a.skewSum / a.skewN,
      exposure: a.exposure,
      exposureShare: totalExposure ? a.exposure / totalExposure : 0,
      meanExposure: a.candidates ? a.exposure / a.candidates : 0,
    };
  });
  const present = groups.filter((g) => g.candidates > 0);
  const skews = present.map((g) => g.skewAtK);
  const finite = skews.filter((s): s is number => s !== null);
  const means = present.map((g) => g.meanExposure);
  const maxMean = means.length ? Math.max(...means) : 0;
  return {
    rankings: rankings.length, k: opts.k, groups,
    minSkewAtK: skews.includes(null) || !finite.length ? null : Math.min(...finite),
    maxSkewAtK: finite.length ? Math.max(...finite) : null,
    ndkl: rankings.length ? ndklSum / rankings.length : 0,
    exposureRatio: maxMean > 0 ? Math.min(...means) / maxMean : null,
  };
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new ValidationError('k must be a whole number ≥ 1', [{ path: 'k', message: `must be ≥ 1 (got ${k})` }]);
}
