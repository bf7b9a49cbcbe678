// Which variant a unit is in: GrowthBook's `run` for the parts that involve hashing, weights,
// coverage and namespaces, step for step in the same order, so a unit lands where GrowthBook's
// SDKs put it for the same key, seed, hash version, weights, coverage and namespace. Not here:
// targeting conditions, filters, prerequisites, URL and query-string overrides, forced variations
// from a context, QA mode and sticky bucketing (callers evaluate targeting before asking).
//
// Compile an experiment once (`compileExperiment`): bucket ranges and the namespace suffix are
// precomputed, and `assign` then allocates nothing but its result for a string unit id.
import { ValidationError, type FieldProblem } from '../../platform/errors/app-error.js';
import { getBucketRanges, type VariationRange } from './bucket-ranges.js';
import { hashV1Pair, hashV2Pair } from './fnv.js';

export type ExperimentStatus = 'draft' | 'running' | 'stopped' | 'rolled_back';

export interface AssignableExperiment {
  key: string;
  /** Hash seed; missing or empty means the key (GrowthBook: `seed || key`). */
  seed?: string | null;
  /** 1 or 2; missing or 0 means 1 (GrowthBook's default); any other value puts nobody in. */
  hashVersion?: number | null;
  /** Control first. Weights should sum to 1 (see getBucketRanges for GrowthBook's fallback). */
  variants: readonly { readonly weight: number }[];
  /** Share of units in the experiment, 0..1; missing means 1. */
  coverage?: number | null;
  /** A layer for mutually exclusive experiments: units hashing into [start, end) of `name`. */
  namespace?: { readonly name: string; readonly start: number; readonly end: number } | null;
  /** draft: nobody in. stopped, rolled_back: nobody in, everyone served control. Default running. */
  status?: ExperimentStatus | null;
  /** Hash this attribute of the unit instead of its id (GrowthBook's hashAttribute). */
  hashAttribute?: string | null;
  /** Explicit bucket ranges, one per variant; when set, coverage and weights are ignored. */
  ranges?: readonly VariationRange[] | null;
  /** Serve this variant to every unit inside coverage (hashUsed false); out of range: nobody in. */
  force?: number | null;
}

export interface AssignmentUnit {
  /** The unit's id for the experiment's unit type; hashed unless the experiment names a hashAttribute. */
  id?: string | number | null;
  attributes?: Readonly<Record<string, unknown>> | null;
}

export type AssignmentReason =
  | 'assigned' | 'forced' | 'invalid_experiment' | 'inactive' | 'missing_unit_id' | 'namespace'
  | 'unknown_hash_version' | 'coverage' | 'stopped';

export interface Assignment {
  inExperiment: boolean;
  /** The variant to serve: 0 (control) whenever the unit is not in the experiment. */
  variationIndex: number;
  /** True when the hash decided the variant (GrowthBook's hashUsed). */
  hashUsed: boolean;
  /** The value that was hashed, as a string; '' when the unit had none. */
  hashValue: string;
  /** The unit's hash in [0, 1) when the hash decided the variant, else null. */
  bucket: number | null;
  reason: AssignmentReason;
}

/** An experiment with everything that does not depend on the unit computed once. */
export class CompiledExperiment {
  readonly key: string;
  readonly seed: string;
  readonly hashVersion: number;
  readonly variantCount: number;
  /** Bucket ranges flattened: [start0, end0, start1, end1, …]. */
  readonly ranges: Float64Array;
  readonly hashAttribute: string | null;
  /** `__<namespace>`, the suffix GrowthBook appends to the hashed value, or null. */
  readonly namespaceSuffix: string | null;
  readonly namespaceStart: number;
  readonly namespaceEnd: number;
  /** Excluded before hashing (draft), as GrowthBook's inactive experiments. */
  readonly inactive: boolean;
  /** Excluded after hashing (stopped, rolled back), as GrowthBook's stopped experiments. */
  readonly stopped: boolean;
  readonly force: number | null;

  constructor(def: AssignableExperiment) {
    this.key = def.key;
    this.seed = def.seed || def.key;
    this.hashVersion = def.hashVersion || 1;
    this.variantCount = def.variants.length;
    const ranges = def.ranges ?? getBucketRanges(this.variantCount, def.coverage ?? undefined, def.variants.map((v) => v.weight));
    // A range past the last variant could only assign a variant that does not exist.
    this.ranges = Float64Array.from(ranges.slice(0, this.variantCount).flat());
    this.hashAttribute = def.hashAttribute || null;
    this.namespaceSuffix = def.namespace ? `__${def.namespace.name}` : null;
    this.namespaceStart = def.namespace?.start ?? 0;
    this.namespaceEnd = def.namespace?.end ?? 1;
    this.inactive = def.status === 'draft';
    this.stopped = def.status === 'stopped' || def.status === 'rolled_back';
    this.force = def.force ?? null;
    Object.freeze(this);
  }
}

export function compileExperiment(def: AssignableExperiment): CompiledExperiment {
  return new CompiledExperiment(def);
}

/** Problems that would make GrowthBook fall back or exclude everyone silently: reject these at definition time. */
export function assignmentProblems(def: AssignableExperiment): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const bad = (path: string, message: string) => problems.push({ path, message });
  if (typeof def.key !== 'string' || def.key === '') bad('/key', 'must be a non-empty string');
  if (def.seed != null && typeof def.seed !== 'string') bad('/seed', 'must be a string');
  if (def.hashVersion != null && def.hashVersion !== 1 && def.hashVersion !== 2) bad('/hashVersion', 'must be 1 or 2');
  if (!Array.isArray(def.variants) || def.variants.length < 2) {
    bad('/variants', 'needs at least two variants (control first)');
  } else {
    let total = 0;
    def.variants.forEach((v, i) => {
      if (!Number.isFinite(v.weight) || v.weight < 0) bad(`/variants/${i}/weight`, 'must be a finite number ≥ 0');
      else total += v.weight;
    });
    // Stricter than GrowthBook's 1 ± 0.01 window: inside it, GrowthBook keeps the weights as they
    // are and leaves the gap unassigned.
    if (Math.abs(total - 1) > 1e-6) bad('/variants', `weights must sum to 1 (they sum to ${total})`);
  }
  if (def.coverage != null && !(def.coverage >= 0 && def.coverage <= 1)) bad('/coverage', 'must be between 0 and 1');
  if (def.namespace) {
    const { name, start, end } = def.namespace;
    if (typeof name !== 'string' || name === '') bad('/namespace/name', 'must be a non-empty string');
    if (!(start >= 0 && end <= 1 && start < end)) bad('/namespace', 'needs 0 ≤ start < end ≤ 1');
  }
  if (def.ranges != null) {
    if (def.ranges.length !== def.variants?.length) bad('/ranges', 'needs one range per variant');
    def.ranges.forEach((r, i) => {
      if (!(r[0] >= 0 && r[1] <= 1 && r[0] <= r[1])) bad(`/ranges/${i}`, 'needs 0 ≤ start ≤ end ≤ 1');
    });
  }
  if (def.force != null && !(Number.isInteger(def.force) && def.force >= 0 && def.force < (def.variants?.length ?? 0))) {
    bad('/force', 'must be the index of a variant');
  }
  return problems;
}

export function assertAssignable(def: AssignableExperiment): void {
  const problems = assignmentProblems(def);
  if (problems.length > 0) throw new ValidationError(`experiment ${def.key} cannot assign units`, problems);
}

/**
 * GrowthBook's attribute lookup: the literal key first (a key may contain a dot), then a
 * dot-separated path into nested objects; '' when absent.
 */
export function hashAttributeValue(attributes: Readonly<Record<string, unknown>> | null | undefined, attribute: string): unknown {
  if (attributes == null) return '';
  if (Object.prototype.hasOwnProperty.call(attributes, attribute)) return attributes[attribute];
  if (!attribute.includes('.')) return '';
  let current: unknown = attributes;
  for (const part of attribute.split('.')) {
    if (current === null || typeof current !== 'object' || !(part in current)) return '';
    current = (current as Record<string, unknown>)[part];
  }
  return current ?? '';
}

function result(
  inExperiment: boolean, variationIndex: number, hashUsed: boolean, hashValue: string,
  bucket: number | null, reason: AssignmentReason,
): Assignment {
  return { inExperiment, variationIndex, hashUsed, hashValue, bucket, reason };
}

/** The variant for `unit`. Pass a CompiledExperiment on hot paths; a plain definition is compiled per call. */
export function assign(experiment: CompiledExperiment | AssignableExperiment, unit: AssignmentUnit): Assignment {
  const c = experiment instanceof CompiledExperiment ? experiment : new CompiledExperiment(experiment);
  const raw = c.hashAttribute === null ? unit.id : hashAttributeValue(unit.attributes, c.hashAttribute);
  // GrowthBook hashes `seed + value`, i.e. String(value); falsy values (0 included) mean "no id".
  const value = !raw ? '' : typeof raw === 'string' ? raw : String(raw);

  if (c.variantCount < 2) return result(false, 0, false, value, null, 'invalid_experiment');
  if (c.inactive) return result(false, 0, false, value, null, 'inactive');
  if (value === '') return result(false, 0, false, value, null, 'missing_unit_id');
  if (c.namespaceSuffix !== null) {
    const h = hashV1Pair(value, c.namespaceSuffix);
    if (!(h >= c.namespaceStart && h < c.namespaceEnd)) return result(false, 0, false, value, null, 'namespace');
  }

  let n: number;
  if (c.hashVersion === 2) n = hashV2Pair(c.seed, value);
  else if (c.hashVersion === 1) n = hashV1Pair(value, c.seed);
  else return result(false, 0, false, value, null, 'unknown_hash_version');

  const index = chooseFlat(c.ranges, n);
  if (index < 0) return result(false, 0, false, value, null, 'coverage');
  if (c.force !== null) {
    // A forced variant still respects coverage and namespaces; an invalid one serves control.
    const valid = c.force >= 0 && c.force < c.variantCount;
    return result(valid, valid ? c.force : 0, false, value, null, valid ? 'forced' : 'invalid_experiment');
  }
  if (c.stopped) return result(false, 0, false, value, null, 'stopped');
  return result(true, index, true, value, n, 'assigned');
}

/**
 * The lean path for serving: the variant index for a string unit id, or -1 when the unit is not
 * in the experiment (serve control). Allocates nothing. Same decisions as `assign` without a
 * hashAttribute.
 */
export function variantIndexOf(c: CompiledExperiment, id: string): number {
  if (c.variantCount < 2 || c.inactive || id === '') return -1;
  if (c.namespaceSuffix !== null) {
    const h = hashV1Pair(id, c.namespaceSuffix);
    if (!(h >= c.namespaceStart && h < c.namespaceEnd)) return -1;
  }
  let n: number;
  if (c.hashVersion === 2) n = hashV2Pair(c.seed, id);
  else if (c.hashVersion === 1) n = hashV1Pair(id, c.seed);
  else return -1;
  const index = chooseFlat(c.ranges, n);
  if (index < 0) return -1;
  if (c.force !== null) return c.force >= 0 && c.force < c.variantCount ? c.force : -1;
  return c.stopped ? -1 : index;
}

function chooseFlat(ranges: Float64Array, n: number): number {
  for (let i = 0; i < ranges.length; i += 2) if (n >= ranges[i]! && n < ranges[i + 1]!) return i >> 1;
  return -1;
}
