// GrowthBook's cross-SDK test vectors (tests/fixtures/growthbook, MIT, see LICENCE-NOTE.md): the
// hashing and bucketing sections in full, and the `run` cases that need only hashing, weights,
// coverage, namespaces, seeds, hash versions, hash attributes, explicit ranges, forced variants
// and active flags. Cases needing conditions, filters, prerequisites, URLs, QA mode or context
// overrides are outside assignment and are counted, not run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assign, compileExperiment, variantIndexOf, type AssignableExperiment, type AssignmentUnit,
} from '../../../experiments/assignment/assign.js';
import {
  chooseVariation, getBucketRanges, getEqualWeights, inNamespace, type NamespaceRange, type VariationRange,
} from '../../../experiments/assignment/bucket-ranges.js';
import { hash } from '../../../experiments/assignment/fnv.js';

interface GbExperiment {
  key: string;
  variations: unknown[];
  weights?: number[];
  coverage?: number;
  namespace?: [string, number, number];
  seed?: string;
  hashVersion?: number;
  hashAttribute?: string;
  active?: boolean;
  ranges?: [number, number][];
  force?: number;
  [other: string]: unknown;
}
type GbContext = { attributes?: Record<string, unknown>; [other: string]: unknown };

interface Cases {
  specVersion: string;
  hash: [string, string, number, number | null][];
  getBucketRange: [string, [number, number, number[] | null], [number, number][]][];
  chooseVariation: [string, number, [number, number][], number][];
  inNamespace: [string, string, NamespaceRange, boolean][];
  getEqualWeights: [number, number[]][];
  run: [string, GbContext, GbExperiment, unknown, boolean, boolean][];
}

const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/growthbook/growthbook-cases.json', import.meta.url), 'utf8'),
) as Cases;

// GrowthBook's own suite compares ranges and weights after flooring to 8 decimals.
const round = (n: number) => Math.floor(n * 1e8) / 1e8;
const roundRanges = (rs: readonly VariationRange[]) => rs.map(([a, b]) => [round(a), round(b)]);

const CONTEXT_KEYS = new Set(['attributes']);
const EXPERIMENT_KEYS = new Set([
  'key', 'variations', 'weights', 'coverage', 'namespace', 'seed', 'hashVersion', 'hashAttribute',
  'active', 'ranges', 'force',
]);
const runnable = (ctx: GbContext, exp: GbExperiment) =>
  Object.keys(ctx).every((k) => CONTEXT_KEYS.has(k)) && Object.keys(exp).every((k) => EXPERIMENT_KEYS.has(k));
const runCases = cases.run.filter(([, ctx, exp]) => runnable(ctx, exp));
const skippedRunCases = cases.run.filter(([, ctx, exp]) => !runnable(ctx, exp));

/** A GrowthBook experiment and context in this project's shapes, nothing decided here. */
function toProject(ctx: GbContext, exp: GbExperiment): { def: AssignableExperiment; unit: AssignmentUnit } {
  const n = exp.variations.length;
  if (exp.weights && exp.weights.length !== n) throw new Error(`case ${exp.key}: weights/variations length differ`);
  const weights = exp.weights ?? getEqualWeights(n);
  return {
    def: {
      key: exp.key,
      seed: exp.seed,
      hashVersion: exp.hashVersion,
      variants: weights.map((weight) => ({ weight })),
      coverage: exp.coverage,
      namespace: exp.namespace ? { name: exp.namespace[0], start: exp.namespace[1], end: exp.namespace[2] } : null,
      // GrowthBook checks `status === 'draft' || active === false` in the same step.
      status: exp.active === false ? 'draft' : 'running',
      hashAttribute: exp.hashAttribute ?? 'id',
      ranges: exp.ranges,
      force: exp.force,
    },
    unit: { attributes: ctx.attributes },
  };
}

describe('GrowthBook conformance (cases.json)', () => {
  it('is the spec version the licence note names, with the sections we run', () => {
    expect(cases.specVersion).toBe('0.8.0');
    expect(cases.hash).toHaveLength(15);
    expect(cases.getBucketRange).toHaveLength(13);
    expect(cases.chooseVariation).toHaveLength(13);
    expect(cases.inNamespace).toHaveLength(16);
    expect(cases.getEqualWeights).toHaveLength(6);
    expect(cases.run).toHaveLength(73);
  });

  it.each(cases.hash)('hash(%j, %j, v%i) = %s', (seed, value, version, expected) => {
    expect(hash(seed, value, version)).toEqual(expected);
  });

  it.each(cases.getBucketRange)('getBucketRange: %s', (_name, [n, coverage, weights], expected) => {
    expect(roundRanges(getBucketRanges(n, coverage, weights))).toEqual(roundRanges(expected));
  });

  it.each(cases.chooseVariation)('chooseVariation: %s', (_name, n, ranges, expected) => {
    expect(chooseVariation(n, ranges)).toBe(expected);
  });

  it.each(cases.inNamespace)('inNamespace: %s', (_name, id, namespace, expected) => {
    expect(inNamespace(id, namespace)).toBe(expected);
  });

  it.each(cases.getEqualWeights)('getEqualWeights(%i)', (n, expected) => {
    expect(getEqualWeights(n).map(round)).toEqual(expected.map(round));
  });

  it('runs 58 of the 73 run cases; the other 15 need targeting or context machinery', () => {
    expect(runCases).toHaveLength(58);
    expect(skippedRunCases.map(([name]) => name)).toEqual([
      'evaluates conditions - pass', 'evaluates conditions - fail', 'globally disabled',
      'querystring force', 'querystring force with inactive', 'Force variation from context',
      'Skips experiments in QA mode', 'Works in QA mode if forced in context',
      'Works in QA mode if forced in experiment', 'Filtered, included', 'Filtered, excluded',
      'Filtered, ignore namespace', 'Prerequisite condition passes', 'Prerequisite condition fails',
      'SavedGroups correctly pulled from context for experiment',
    ]);
  });

  it.each(runCases)('run: %s', (_name, ctx, exp, value, inExperiment, hashUsed) => {
    const { def, unit } = toProject(ctx, exp);
    const res = assign(compileExperiment(def), unit);
    expect(exp.variations[res.variationIndex]).toEqual(value);
    expect(res.inExperiment).toBe(inExperiment);
    expect(res.hashUsed).toBe(hashUsed);
    expect(res.bucket === null).toBe(!hashUsed);
    // The uncompiled path and the lean serving path decide the same.
    expect(assign(def, unit)).toEqual(res);
    const id = unit.attributes?.[def.hashAttribute!];
    if (typeof id === 'string') {
      expect(variantIndexOf(compileExperiment(def), id)).toBe(res.inExperiment ? res.variationIndex : -1);
    }
  });
});
