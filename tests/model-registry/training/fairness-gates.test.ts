// The champion gate's fairness checks on a version's audited groups: groups too small to judge
// are reported, not used; a disparity beyond its threshold fails only when its confidence
// interval is beyond the threshold too; fairnessConfidence 0 judges point estimates alone.
import { describe, expect, it } from 'vitest';
import { DEFAULT_GATE_THRESHOLDS, evaluateGates, normalQuantile, type GateThresholds } from '../../../model-registry/gates.js';
import type { FairnessByAttributeValue, ModelVersion } from '../../../model-registry/registry.service.js';

type Group = { count: number; positives: number; selected: number; truePositives: number };

/** An audit of one attribute from per-group counts, as training records it. */
function audit(groups: Record<string, Group>): FairnessByAttributeValue {
  const rates = Object.values(groups).map((g) => g.selected / g.count), tprs = Object.values(groups).map((g) => g.truePositives / g.positives);
  return {
    demographicParityDifference: Math.max(...rates) - Math.min(...rates),
    disparateImpactRatio: Math.min(...rates) / Math.max(...rates),
    equalOpportunityDifference: Math.max(...tprs) - Math.min(...tprs),
    equalizedOddsDifference: Math.max(...tprs) - Math.min(...tprs),
    groups: Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, {
      count: g.count, positives: g.positives, selectionRate: g.selected / g.count, truePositiveRate: g.truePositives / g.positives,
      falsePositiveRate: (g.selected - g.truePositives) / (g.count - g.positives),
    }])),
  };
}

function verdict(fairness: Record<string, FairnessByAttributeValue>, t: Partial<GateThresholds> = {}) {
  const version = {
    model: 'm', version: 1, status: 'ready', statusReason: null, metrics: { auc: 0.8 }, fairness,
    featureSets: [{ name: 'fs', version: 1, schemaHash: 'h'.repeat(64) }],
  } as unknown as ModelVersion;
  const v = evaluateGates({ version, current: null, served: [{ name: 'fs', version: 1, schemaHash: 'h'.repeat(64) }], thresholds: { ...DEFAULT_GATE_THRESHOLDS, ...t }, gated: true });
  const check = (name: string) => v.checks.find((c) => c.name === name)!;
  return { v, di: check('fairness.gender.disparate_impact_ratio'), eo: check('fairness.gender.equal_opportunity_difference') };
}

describe('fairness gates', () => {
  it('reports a group below the minimum support as too small to judge instead of failing on it', () => {
    // x: 12 rows, 4 selected (rate 0.33 against 0.10): DI 0.3 with x, 0.95 without.
    const { v, di, eo } = verdict({ gender: audit({
      f: { count: 400, positives: 60, selected: 40, truePositives: 30 },
      m: { count: 500, positives: 80, selected: 52, truePositives: 41 },
      x: { count: 12, positives: 3, selected: 4, truePositives: 3 },
    }) }, { fairnessConfidence: 0 });
    expect(v.passed).toBe(true);
    expect(di).toMatchObject({ passed: true, actual: expect.closeTo(0.1 / 0.104, 9) });
    expect(di.detail!.tooSmall).toEqual([{ group: 'x', n: 12, needed: 20 }]);
    expect(di.detail!.compared.map((g) => g.group)).toEqual(['f', 'm']);
    expect(di.message).toContain('too small to judge (< 20 rows): x (12)');
    // TPR support is positives: x has 3.
    expect(eo).toMatchObject({ passed: true, actual: expect.closeTo(41 / 80 - 30 / 60, 9) });
    expect(eo.message).toContain('too small to judge (< 20 positives): x (3)');
    // The same audit with every group judged fails, as before.
    expect(verdict({ gender: audit({
      f: { count: 400, positives: 60, selected: 40, truePositives: 30 },
      x: { count: 12, positives: 3, selected: 4, truePositives: 3 },
    }) }, { fairnessConfidence: 0, minGroupSize: 1 }).di).toMatchObject({ passed: false, by: expect.closeTo(0.8 - 0.3, 9) });
  });

  it('passes nothing-to-compare when fewer than two groups are large enough', () => {
    const { di, eo } = verdict({ gender: audit({
      f: { count: 400, positives: 15, selected: 40, truePositives: 2 },
      m: { count: 500, positives: 80, selected: 52, truePositives: 41 },
    }) });
    expect(di.passed).toBe(true);
    expect(eo).toMatchObject({ passed: true, actual: null });
    expect(eo.message).toContain('fewer than two groups with ≥ 20 positives');
  });

  it('fails a disparity that sampling noise cannot explain, with its interval', () => {
    // 2% vs 10% of 1,000 rows each: DI 0.2, a Katz 95% interval far below 0.8.
    const { v, di } = verdict({ gender: audit({
      f: { count: 1000, positives: 100, selected: 20, truePositives: 10 },
      m: { count: 1000, positives: 100, selected: 100, truePositives: 60 },
    }) });
    expect(v.passed).toBe(false);
    expect(di).toMatchObject({ passed: false, actual: expect.closeTo(0.2, 9), by: expect.closeTo(0.6, 9) });
    expect(di.detail!.interval!.upper).toBeLessThan(0.8);
  });

  it('passes as inconclusive a disparity within sampling noise, and fails it on point estimates', () => {
    // 5 of 100 vs 8 of 100 selected: DI 0.625. Katz: log(0.625) ± z·√(1/5 − 1/100 + 1/8 − 1/100).
    const groups = {
      f: { count: 100, positives: 40, selected: 5, truePositives: 4 },
      m: { count: 100, positives: 40, selected: 8, truePositives: 6 },
    };
    const { di } = verdict({ gender: audit(groups) });
    const z = normalQuantile(0.975), se = Math.sqrt(1 / 5 - 1 / 100 + 1 / 8 - 1 / 100);
    expect(di.passed).toBe(true);
    expect(di.detail!.interval!.lower).toBeCloseTo(Math.exp(Math.log(0.625) - z * se), 8);
    expect(di.detail!.interval!.upper).toBeCloseTo(Math.exp(Math.log(0.625) + z * se), 8);
    expect(di.message).toMatch(/not beyond sampling noise \(95% CI 0\.21\d–1\.84\d\): passed as inconclusive/);
    expect(verdict({ gender: audit(groups) }, { fairnessConfidence: 0 }).di).toMatchObject({ passed: false, by: expect.closeTo(0.175, 9) });
  });

  it('judges the equal-opportunity difference on groups with enough positives, with an Agresti–Caffo interval', () => {
    // TPR 0.3 (60 of 200) vs 0.6 (120 of 200): difference 0.3, clearly above 0.1.
    const { eo } = verdict({ gender: audit({
      f: { count: 2000, positives: 200, selected: 200, truePositives: 60 },
      m: { count: 2000, positives: 200, selected: 200, truePositives: 120 },
    }) });
    const p1 = 121 / 202, p2 = 61 / 202, se = Math.sqrt(p1 * (1 - p1) / 202 + p2 * (1 - p2) / 202);
    expect(eo).toMatchObject({ passed: false, actual: expect.closeTo(0.3, 9), by: expect.closeTo(0.2, 9) });
    expect(eo.detail!.interval!.lower).toBeCloseTo(p1 - p2 - normalQuantile(0.975) * se, 8);
  });

  it('has the normal quantiles a gate uses', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 6);
  });
});
