// Adjusted p-values across metrics and variants, as statsmodels' multipletests returns them:
// compare each adjusted p with alpha directly.

function order(p: readonly number[]): number[] {
  return p.map((_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b);
}

/** Holm–Bonferroni (step-down): controls the family-wise error rate under any dependence. */
export function holmBonferroni(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const out = new Array<number>(m);
  let running = 0;
  order(pValues).forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]!));
    out[idx] = running;
  });
  return out;
}

/** Benjamini–Hochberg (step-up): controls the false discovery rate for independent or positively dependent tests. */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const out = new Array<number>(m);
  const idx = order(pValues);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const i = idx[rank]!;
    running = Math.min(running, (m * pValues[i]!) / (rank + 1));
    out[i] = Math.min(1, running);
  }
  return out;
}

export type Correction = 'holm' | 'bh' | 'none';

export function adjustPValues(pValues: readonly number[], method: Correction): number[] {
  if (method === 'holm') return holmBonferroni(pValues);
  if (method === 'bh') return benjaminiHochberg(pValues);
  return [...pValues];
}
