// Population stability index between a reference sample (the training snapshot) and a current one
// (the online values): PSI = Σ (c − r) · ln(c / r) over bins. Numeric features are binned at the
// reference's deciles; categorical ones by value (the 20 most common, the rest as "other");
// missing values get a bin of their own, so a feature going missing counts as drift.

export type DriftStatus = 'stable' | 'warning' | 'drift' | 'insufficient';
export interface PsiBin { label: string; reference: number; current: number }
export interface PsiResult { psi: number | null; status: DriftStatus; kind: 'numeric' | 'categorical'; bins: PsiBin[] }

/** Industry rule of thumb: below 0.1 stable, 0.1–0.25 worth a look, above 0.25 drifted. */
export const PSI_WARNING = 0.1;
export const PSI_DRIFT = 0.25;
/** Fewer values than this on either side tell too little. */
export const MIN_SAMPLE = 30;
const EPSILON = 1e-4;
const MAX_CATEGORIES = 20;
const MISSING = '(missing)';

export function statusOf(psi: number | null): DriftStatus {
  if (psi === null) return 'insufficient';
  return psi >= PSI_DRIFT ? 'drift' : psi >= PSI_WARNING ? 'warning' : 'stable';
}

function psiOf(bins: PsiBin[]): number {
  let psi = 0;
  for (const b of bins) {
    const r = Math.max(b.reference, EPSILON);
    const c = Math.max(b.current, EPSILON);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

function shares(counts: number[], n: number): number[] {
  return counts.map((c) => (n === 0 ? 0 : c / n));
}

/** Numeric PSI with bin edges at the reference's deciles (deduplicated, so a skewed feature gets fewer bins). */
export function numericPsi(reference: readonly (number | null)[], current: readonly (number | null)[], bins = 10): PsiResult {
  const ref = reference.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (ref.length < MIN_SAMPLE || current.length < MIN_SAMPLE) return { psi: null, status: 'insufficient', kind: 'numeric', bins: [] };
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = ref[Math.min(ref.length - 1, Math.floor((i * ref.length) / bins))]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  // bin i holds values < edges[i] (and ≥ edges[i-1]); the last holds the rest; then the missing bin.
  const bucket = (v: number | null): number => {
    if (v === null || !Number.isFinite(v)) return edges.length + 1;
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v < edges[mid]!) hi = mid; else lo = mid + 1;
    }
    return lo;
  };
  const count = (xs: readonly (number | null)[]) => {
    const c = new Array<number>(edges.length + 2).fill(0);
    for (const v of xs) c[bucket(v)]!++;
    return c;
  };
  const r = shares(count(reference), reference.length);
  const c = shares(count(current), current.length);
  const labels = [...edges.map((e, i) => (i === 0 ? `< ${fmt(e)}` : `[${fmt(edges[i - 1]!)}, ${fmt(e)})`)), `≥ ${fmt(edges[edges.length - 1] ?? ref[0]!)}`, MISSING];
  const out = labels.map((label, i) => ({ label, reference: r[i]!, current: c[i]! })).filter((b) => b.reference > 0 || b.current > 0);
  const psi = psiOf(out);
  return { psi, status: statusOf(psi), kind: 'numeric', bins: out };
}

/** Categorical PSI over the reference's most common values, the rest pooled as "(other)". */
export function categoricalPsi(reference: readonly (string | null)[], current: readonly (string | null)[]): PsiResult {
  if (reference.length < MIN_SAMPLE || current.length < MIN_SAMPLE) return { psi: null, status: 'insufficient', kind: 'categorical', bins: [] };
  const freq = new Map<string, number>();
  for (const v of reference) if (v !== null) freq.set(v, (freq.get(v) ?? 0) + 1);
  const kept = [...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_CATEGORIES).map(([k]) => k);
  const index = new Map(kept.map((k, i) => [k, i]));
  const count = (xs: readonly (string | null)[]) => {
    const c = new Array<number>(kept.length + 2).fill(0);
    for (const v of xs) c[v === null ? kept.length + 1 : index.get(v) ?? kept.length]!++;
    return c;
  };
  const r = shares(count(reference), reference.length);
  const c = shares(count(current), current.length);
  const labels = [...kept, '(other)', MISSING];
  const out = labels.map((label, i) => ({ label, reference: r[i]!, current: c[i]! })).filter((b) => b.reference > 0 || b.current > 0);
  const psi = psiOf(out);
  return { psi, status: statusOf(psi), kind: 'categorical', bins: out };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
