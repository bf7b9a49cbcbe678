// Promotion gates: what a version must satisfy to become champion. Pure: the service hands in
// the version, the current champion and the online store's feature sets; every check reports
// what it found, what was required and, when it failed, by how much.
// Fairness is judged on groups with enough support: a group below `minGroupSize` rows (selection
// rates) or positives (true positive rates) is reported as too small to judge, not used. A
// disparity beyond its threshold fails only when sampling noise cannot explain it: the
// compliant end of its confidence interval must be beyond the threshold too (the four-fifths
// rule's own guidance: small-sample differences that are not statistically significant are not
// adverse impact). `fairnessConfidence` 0 judges point estimates alone.
import type { FairnessByAttributeValue, ModelVersion } from './registry.service.js';

export interface GateThresholds {
  /** The candidate's holdout AUC may be at most this much below the current champion's. */
  aucMargin: number;
  minDisparateImpact: number;
  maxEqualOpportunityDifference: number;
  /** Rows (selection rates) or positives (true positive rates) a group needs to be judged. */
  minGroupSize: number;
  /** Two-sided confidence of the disparity intervals (0: point estimates only). */
  fairnessConfidence: number;
}

export const DEFAULT_GATE_THRESHOLDS: GateThresholds = {
  aucMargin: 0.005, minDisparateImpact: 0.8, maxEqualOpportunityDifference: 0.1, minGroupSize: 20, fairnessConfidence: 0.95,
};

export interface GateCheck {
  name: string;
  passed: boolean;
  actual: unknown;
  required: unknown;
  /** How far short of the requirement, for numeric checks that failed; else null. */
  by: number | null;
  message: string;
  /** Fairness checks on group rates: the groups compared, those too small to judge, the interval. */
  detail?: FairnessDetail;
}

export interface FairnessDetail {
  /** n: rows (selection rates) or positives (TPR); null when the audit predates recording positives. */
  compared: { group: string; rate: number; n: number | null }[];
  tooSmall: { group: string; n: number; needed: number }[];
  /** The disparity's confidence interval, when one was computed. */
  interval: { confidence: number; lower: number; upper: number } | null;
}

export interface GateVerdict {
  passed: boolean;
  /** False for aliases without gates: only the status check ran. */
  gated: boolean;
  checks: GateCheck[];
}

/** A feature set as the online store serves it. */
export interface ServedFeatureSet { name: string; version: number; schemaHash: string }

const round = (x: number) => Math.round(x * 1e9) / 1e9;

export function evaluateGates(input: {
  version: ModelVersion;
  /** The alias's current version (the champion being replaced), if any. */
  current: ModelVersion | null;
  served: readonly ServedFeatureSet[];
  thresholds: GateThresholds;
  gated: boolean;
}): GateVerdict {
  const { version: v, thresholds: t } = input;
  const checks: GateCheck[] = [];
  checks.push({
    name: 'status', passed: v.status === 'ready', actual: v.status, required: 'ready', by: null,
    message: v.status === 'ready' ? 'version is ready' : `version is ${v.status}${v.statusReason ? ` (${v.statusReason})` : ''}, must be ready`,
  });
  if (!input.gated) return { passed: checks.every((c) => c.passed), gated: false, checks };

  checks.push(schemaCheck(v, input.served));
  checks.push(aucCheck(v, input.current, t.aucMargin));
  checks.push(...fairnessChecks(v.fairness, t));
  return { passed: checks.every((c) => c.passed), gated: true, checks };
}

function schemaCheck(v: ModelVersion, served: readonly ServedFeatureSet[]): GateCheck {
  const name = 'feature_schema';
  if (v.featureSets.length === 0) {
    return { name, passed: false, actual: [], required: 'feature sets served by the online store', by: null, message: 'the version records no feature sets, so the online store cannot serve its inputs' };
  }
  const problems: string[] = [];
  for (const fs of v.featureSets) {
    const live = served.find((s) => s.name === fs.name && s.version === fs.version);
    if (!live) problems.push(`${fs.name}@v${fs.version} is not in the online store`);
    else if (live.schemaHash !== fs.schemaHash) problems.push(`${fs.name}@v${fs.version} schema hash ${fs.schemaHash.slice(0, 12)}… ≠ online ${live.schemaHash.slice(0, 12)}…`);
  }
  return {
    name, passed: problems.length === 0, actual: v.featureSets,
    required: v.featureSets.map((fs) => served.find((s) => s.name === fs.name && s.version === fs.version) ?? { name: fs.name, version: fs.version, schemaHash: null }),
    by: null, message: problems.length === 0 ? 'feature schemas match the online store' : problems.join('; '),
  };
}

function aucCheck(v: ModelVersion, current: ModelVersion | null, margin: number): GateCheck {
  const name = 'holdout_auc';
  const auc = v.metrics.auc;
  if (auc === undefined) return { name, passed: false, actual: null, required: 'metrics.auc', by: null, message: 'the version has no holdout AUC (metrics.auc)' };
  const base = current && current.version !== v.version ? current.metrics.auc : undefined;
  if (base === undefined) {
    return { name, passed: true, actual: auc, required: null, by: null, message: current ? `no AUC recorded for current v${current.version}; nothing to compare` : 'no current version to compare with' };
  }
  const required = round(base - margin);
  const passed = auc >= required - 1e-12;
  return {
    name, passed, actual: auc, required: { min: required, current: base, currentVersion: current!.version, margin },
    by: passed ? null : round(required - auc),
    message: passed
      ? `AUC ${auc} ≥ ${required} (current v${current!.version} ${base} − margin ${margin})`
      : `AUC ${auc} is ${round(required - auc)} below the required ${required} (current v${current!.version} ${base} − margin ${margin})`,
  };
}

function fairnessChecks(fairness: Record<string, FairnessByAttributeValue> | null, t: GateThresholds): GateCheck[] {
  if (fairness === null) {
    return [{ name: 'fairness', passed: false, actual: null, required: 'a fairness audit of the holdout', by: null, message: 'the version has no fairness audit' }];
  }
  const attributes = Object.keys(fairness).sort();
  if (attributes.length === 0) {
    return [{ name: 'fairness', passed: true, actual: {}, required: null, by: null, message: 'no sensitive attributes declared for the training set' }];
  }
  const checks: GateCheck[] = [];
  for (const attr of attributes) {
    const f = fairness[attr]!;
    const groups = f.groups && Object.keys(f.groups).length ? f.groups : null;
    checks.push(groups ? disparateImpactFromGroups(attr, groups, t) : disparateImpactCheck(attr, f.disparateImpactRatio, t, null));
    checks.push(groups ? equalOpportunityFromGroups(attr, groups, t) : equalOpportunityCheck(attr, f.equalOpportunityDifference, t, null));
  }
  return checks;
}

type Groups = NonNullable<FairnessByAttributeValue['groups']>;

function disparateImpactCheck(attr: string, di: number | null, t: GateThresholds, detail: FairnessDetail | null, note = ''): GateCheck {
  const point = di !== null && di >= t.minDisparateImpact - 1e-12;
  // Not established: the interval's upper end reaches the threshold.
  const noise = !point && di !== null && detail?.interval != null && detail.interval.upper >= t.minDisparateImpact;
  const passed = point || noise;
  const ci = detail?.interval ? ` (${pct(detail.interval.confidence)} CI ${r3(detail.interval.lower)}–${r3(detail.interval.upper)})` : '';
  return {
    name: `fairness.${attr}.disparate_impact_ratio`, passed, actual: di, required: { min: t.minDisparateImpact },
    by: passed ? null : round(t.minDisparateImpact - (di ?? 0)),
    message: (di === null ? `${attr}: disparate-impact ratio undefined (no group selected)`
      : point ? `${attr}: disparate-impact ratio ${di} ≥ ${t.minDisparateImpact}${ci}`
        : noise ? `${attr}: disparate-impact ratio ${di} is below ${t.minDisparateImpact}, but not beyond sampling noise${ci}: passed as inconclusive`
          : `${attr}: disparate-impact ratio ${di} is ${round(t.minDisparateImpact - di)} below ${t.minDisparateImpact}${ci}`) + note,
    ...(detail ? { detail } : {}),
  };
}

function equalOpportunityCheck(attr: string, eo: number, t: GateThresholds, detail: FairnessDetail | null, note = ''): GateCheck {
  const point = eo <= t.maxEqualOpportunityDifference + 1e-12;
  const noise = !point && detail?.interval != null && detail.interval.lower <= t.maxEqualOpportunityDifference;
  const passed = point || noise;
  const ci = detail?.interval ? ` (${pct(detail.interval.confidence)} CI ${r3(detail.interval.lower)}–${r3(detail.interval.upper)})` : '';
  return {
    name: `fairness.${attr}.equal_opportunity_difference`, passed, actual: eo, required: { max: t.maxEqualOpportunityDifference },
    by: passed ? null : round(eo - t.maxEqualOpportunityDifference),
    message: (point ? `${attr}: equal-opportunity difference ${eo} ≤ ${t.maxEqualOpportunityDifference}${ci}`
      : noise ? `${attr}: equal-opportunity difference ${eo} is above ${t.maxEqualOpportunityDifference}, but not beyond sampling noise${ci}: passed as inconclusive`
        : `${attr}: equal-opportunity difference ${eo} is ${round(eo - t.maxEqualOpportunityDifference)} above ${t.maxEqualOpportunityDifference}${ci}`) + note,
    ...(detail ? { detail } : {}),
  };
}

/** Min / max selection rate over the groups with at least minGroupSize rows; a Katz log-ratio interval. */
function disparateImpactFromGroups(attr: string, groups: Groups, t: GateThresholds): GateCheck {
  const rated = Object.entries(groups).filter(([, g]) => g.selectionRate !== null).map(([group, g]) => ({ group, rate: g.selectionRate!, n: g.count }));
  const judged = rated.filter((g) => g.n >= t.minGroupSize);
  const tooSmall = rated.filter((g) => g.n < t.minGroupSize).map((g) => ({ group: g.group, n: g.n, needed: t.minGroupSize }));
  const note = tooSmall.length ? `; too small to judge (< ${t.minGroupSize} rows): ${tooSmall.map((g) => `${g.group} (${g.n})`).join(', ')}` : '';
  if (judged.length < 2) return unjudged(`fairness.${attr}.disparate_impact_ratio`, attr, 'rows', judged, tooSmall, t);
  const lo = judged.reduce((a, b) => (b.rate < a.rate ? b : a)), hi = judged.reduce((a, b) => (b.rate > a.rate ? b : a));
  if (hi.rate === 0) return disparateImpactCheck(attr, null, t, { compared: [lo, hi], tooSmall, interval: null }, note);
  const di = lo.rate / hi.rate;
  let interval: FairnessDetail['interval'] = null;
  if (t.fairnessConfidence > 0) {
    // Katz: log(p1/p2) ± z·√(1/a − 1/n1 + 1/b − 1/n2) on selected counts (0.5 added to a zero count).
    const a = Math.max(Math.round(lo.rate * lo.n), 0.5), b = Math.max(Math.round(hi.rate * hi.n), 0.5);
    const se = Math.sqrt(Math.max(0, 1 / a - 1 / lo.n + 1 / b - 1 / hi.n));
    const z = normalQuantile((1 + t.fairnessConfidence) / 2);
    const center = Math.log(Math.max(a / lo.n, 1e-12) / (b / hi.n));
    interval = { confidence: t.fairnessConfidence, lower: round(Math.exp(center - z * se)), upper: round(Math.exp(center + z * se)) };
  }
  return disparateImpactCheck(attr, di, t, { compared: [lo, hi], tooSmall, interval }, note);
}

/** Max − min true positive rate over the groups with at least minGroupSize positives; an Agresti–Caffo interval. */
function equalOpportunityFromGroups(attr: string, groups: Groups, t: GateThresholds): GateCheck {
  // Versions audited before positives were recorded: their groups count as large enough.
  const rated = Object.entries(groups).filter(([, g]) => g.truePositiveRate !== null)
    .map(([group, g]) => ({ group, rate: g.truePositiveRate!, n: g.positives ?? Number.POSITIVE_INFINITY }));
  const judged = rated.filter((g) => g.n >= t.minGroupSize);
  const tooSmall = rated.filter((g) => g.n < t.minGroupSize).map((g) => ({ group: g.group, n: g.n, needed: t.minGroupSize }));
  const note = tooSmall.length ? `; too small to judge (< ${t.minGroupSize} positives): ${tooSmall.map((g) => `${g.group} (${g.n})`).join(', ')}` : '';
  if (judged.length < 2) return unjudged(`fairness.${attr}.equal_opportunity_difference`, attr, 'positives', judged, tooSmall, t);
  const lo = judged.reduce((a, b) => (b.rate < a.rate ? b : a)), hi = judged.reduce((a, b) => (b.rate > a.rate ? b : a));
  const eo = hi.rate - lo.rate;
  let interval: FairnessDetail['interval'] = null;
  if (t.fairnessConfidence > 0 && Number.isFinite(lo.n) && Number.isFinite(hi.n)) {
    // Agresti–Caffo: one success and one failure added to each group, then a Wald interval.
    const adj = (g: { rate: number; n: number }) => (Math.round(g.rate * g.n) + 1) / (g.n + 2);
    const p1 = adj(hi), p2 = adj(lo);
    const se = Math.sqrt(p1 * (1 - p1) / (hi.n + 2) + p2 * (1 - p2) / (lo.n + 2));
    const z = normalQuantile((1 + t.fairnessConfidence) / 2);
    interval = { confidence: t.fairnessConfidence, lower: round(p1 - p2 - z * se), upper: round(p1 - p2 + z * se) };
  }
  const shown = [lo, hi].map((g) => ({ ...g, n: Number.isFinite(g.n) ? g.n : null }));
  return equalOpportunityCheck(attr, round(eo), t, { compared: shown, tooSmall, interval }, note);
}

function unjudged(name: string, attr: string, unit: string, judged: FairnessDetail['compared'], tooSmall: FairnessDetail['tooSmall'], t: GateThresholds): GateCheck {
  return {
    name, passed: true, actual: null, required: { minGroupSize: t.minGroupSize }, by: null,
    message: `${attr}: fewer than two groups with ≥ ${t.minGroupSize} ${unit}, nothing to compare; too small to judge: ${tooSmall.map((g) => `${g.group} (${g.n})`).join(', ') || 'none'}`,
    detail: { compared: judged.map((g) => ({ ...g, n: g.n !== null && Number.isFinite(g.n) ? g.n : null })), tooSmall, interval: null },
  };
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const pct = (c: number) => `${Math.round(c * 1000) / 10}%`;

/** Φ⁻¹(p) by bisection on Φ (erf to 1.5e-7, Abramowitz & Stegun 7.1.26): plenty for a gate's z. */
export function normalQuantile(p: number): number {
  const cdf = (x: number) => {
    const s = x < 0 ? -1 : 1, u = Math.abs(x) / Math.SQRT2, k = 1 / (1 + 0.3275911 * u);
    const erf = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-u * u);
    return 0.5 * (1 + s * erf);
  };
  let lo = -10, hi = 10;
  for (let i = 0; i < 80; i++) { const mid = (lo + hi) / 2; if (cdf(mid) < p) lo = mid; else hi = mid; }
  return (lo + hi) / 2;
}
