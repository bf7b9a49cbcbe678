// Promotion gates: what a version must satisfy to become champion. Pure: the service hands in
// the version, the current champion and the online store's feature sets; every check reports
// what it found, what was required and, when it failed, by how much.
import type { FairnessByAttributeValue, ModelVersion } from './registry.service.js';

export interface GateThresholds {
  /** The candidate's holdout AUC may be at most this much below the current champion's. */
  aucMargin: number;
  minDisparateImpact: number;
  maxEqualOpportunityDifference: number;
}

export const DEFAULT_GATE_THRESHOLDS: GateThresholds = { aucMargin: 0.005, minDisparateImpact: 0.8, maxEqualOpportunityDifference: 0.1 };

export interface GateCheck {
  name: string;
  passed: boolean;
  actual: unknown;
  required: unknown;
  /** How far short of the requirement, for numeric checks that failed; else null. */
  by: number | null;
  message: string;
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
    const di = f.disparateImpactRatio;
    const diOk = di !== null && di >= t.minDisparateImpact - 1e-12;
    checks.push({
      name: `fairness.${attr}.disparate_impact_ratio`, passed: diOk, actual: di, required: { min: t.minDisparateImpact },
      by: diOk ? null : round(t.minDisparateImpact - (di ?? 0)),
      message: di === null ? `${attr}: disparate-impact ratio undefined (no group selected)`
        : diOk ? `${attr}: disparate-impact ratio ${di} ≥ ${t.minDisparateImpact}`
          : `${attr}: disparate-impact ratio ${di} is ${round(t.minDisparateImpact - di)} below ${t.minDisparateImpact}`,
    });
    const eo = f.equalOpportunityDifference;
    const eoOk = eo <= t.maxEqualOpportunityDifference + 1e-12;
    checks.push({
      name: `fairness.${attr}.equal_opportunity_difference`, passed: eoOk, actual: eo, required: { max: t.maxEqualOpportunityDifference },
      by: eoOk ? null : round(eo - t.maxEqualOpportunityDifference),
      message: eoOk ? `${attr}: equal-opportunity difference ${eo} ≤ ${t.maxEqualOpportunityDifference}`
        : `${attr}: equal-opportunity difference ${eo} is ${round(eo - t.maxEqualOpportunityDifference)} above ${t.maxEqualOpportunityDifference}`,
    });
  }
  return checks;
}
