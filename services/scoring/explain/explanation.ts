// Why a model scored a row what it scored: attributions over the design columns (exact SHAP for a
// logistic model, Integrated Gradients for an MLP) summed back to the raw features that produced
// them, the top K by |φ| with a readable reason each. Pair features (`match_pair__*`) take their
// reason from computePairFeatures' texts ("5 of 6 required skills"); the others get a generic one.
// An explainer is compiled once per model and reused: a request allocates its result objects only.
import { ValidationError } from '../../../platform/errors/app-error.js';
import type { LogisticModelShape, ServableModel } from '../../../model-registry/inference/model-types.js';
import type { TableEncoding } from '../../../model-registry/training/encode-table.js';
import type { FeatureValue, FeatureValues } from '../../../pipelines/features/feature-set.js';
import { groupDesignColumns, type FeatureGroups } from './feature-groups.js';
import { createIntegratedGradients, type IntegratedGradientsOptions } from './integrated-gradients.js';
import { createLogisticShap } from './shap-logistic.js';

export type ExplanationMethod = 'shap-linear' | 'integrated-gradients';

export interface Contribution {
  /** The raw feature, e.g. `match_pair__required_skill_coverage`. */
  feature: string;
  /** Readable name: "required skill coverage". */
  label: string;
  /** The raw value (from `rawValues`, else read back from the design when it is a plain number; null when unknown). */
  value: FeatureValue;
  /** Contribution to the logit (log-odds): the sum over the feature's design columns. */
  phi: number;
  direction: 'up' | 'down';
  reason: string;
}

export interface Explanation {
  method: ExplanationMethod;
  /** The logit at the training means; base + Σ φ over all features = logit (to completenessError for IG). */
  base: number;
  logit: number;
  score: number;
  /** Integrated Gradients only: |Σφ − (logit − base)|, the quadrature's gap. */
  completenessError?: number;
  /** The top K raw features by |φ| (features with φ = 0 left out), largest first. */
  contributions: Contribution[];
}

/** A model as the scoring service holds it; `encoding` defaults to the model's own when it carries one. */
export interface ExplainableModel {
  model: ServableModel;
  encoding?: TableEncoding;
}

export interface ExplainOptions {
  /** Contributions listed per row (default 5). */
  topK?: number;
  /** Per row, the raw feature values (as served: { feature: value }), for the `value` and generic reasons. */
  rawValues?: readonly (FeatureValues | undefined)[];
  /** Per row, readable texts by feature: computePairFeatures' `explanations` (short or `match_pair__` names). */
  reasons?: readonly (Readonly<Record<string, string>> | undefined)[];
}

/** Every raw feature's φ for a batch (n × features.length, in `groups.features` order). */
export interface Attributions {
  method: ExplanationMethod;
  base: number;
  logits: Float64Array;
  scores: Float64Array;
  phi: Float64Array;
  completenessErrors: Float64Array | null;
}

export interface Explainer {
  readonly method: ExplanationMethod;
  readonly featureNames: readonly string[];
  readonly groups: FeatureGroups;
  readonly base: number;
  /** Raw-feature attributions of n rows, in new arrays (for global importance or storage). */
  attributions(rows: ArrayLike<number>, n: number): Attributions;
  /** Explanations of n design rows (row-major n × featureNames.length). */
  explain(rows: ArrayLike<number>, n: number, opts?: ExplainOptions): Explanation[];
}

export const DEFAULT_TOP_K = 5;
export const PAIR_PREFIX = 'match_pair__';

function encodingOf(loaded: ExplainableModel): TableEncoding | undefined {
  return loaded.encoding ?? (loaded.model as { encoding?: TableEncoding }).encoding;
}

/** Compiles an explainer for a model: SHAP-linear for logistic, Integrated Gradients for MLP. */
export function createExplainer(loaded: ExplainableModel, opts: IntegratedGradientsOptions = {}): Explainer {
  const { model } = loaded;
  const method: ExplanationMethod = model.kind === 'logistic' ? 'shap-linear' : 'integrated-gradients';
  const shap = model.kind === 'logistic' ? createLogisticShap(model as LogisticModelShape) : null;
  const ig = shap ? null : createIntegratedGradients(model, opts);
  const engine = (shap ?? ig)!;
  const d = engine.inputSize;
  const groups = groupDesignColumns(engine.featureNames, encodingOf(loaded));
  const g = groups.features.length;

  // Design-level buffers, reused across calls (explain is synchronous, so calls never interleave).
  let capacity = 0;
  let phi = new Float64Array(0);
  let logits = new Float64Array(0);
  let scores = new Float64Array(0);
  let gaps = new Float64Array(0);
  let grouped = new Float64Array(0);
  const ensure = (n: number) => {
    if (n <= capacity) return;
    capacity = Math.max(n, capacity * 2, 16);
    phi = new Float64Array(capacity * d);
    logits = new Float64Array(capacity);
    scores = new Float64Array(capacity);
    gaps = new Float64Array(capacity);
    grouped = new Float64Array(capacity * g);
  };

  /** Fills the buffers for n rows; φ summed per raw feature into `grouped`. */
  function run(rows: ArrayLike<number>, n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError('n must be a non-negative integer', [{ path: 'n', message: 'must be a non-negative integer' }]);
    ensure(n);
    if (shap) shap.explain(rows, n, { phi, logits, scores });
    else ig!.explain(rows, n, { phi, logits, scores, completenessErrors: gaps });
    grouped.fill(0, 0, n * g);
    const { groupOf } = groups;
    for (let r = 0; r < n; r++) {
      const src = r * d, dst = r * g;
      for (let j = 0; j < d; j++) { const o = dst + groupOf[j]!; grouped[o] = grouped[o]! + phi[src + j]!; }
    }
  }

  return {
    method,
    featureNames: engine.featureNames,
    groups,
    base: engine.base,
    attributions(rows, n) {
      run(rows, n);
      return {
        method, base: engine.base,
        logits: logits.slice(0, n), scores: scores.slice(0, n), phi: grouped.slice(0, n * g),
        completenessErrors: ig ? gaps.slice(0, n) : null,
      };
    },
    explain(rows, n, o = {}) {
      const topK = o.topK ?? DEFAULT_TOP_K;
      if (!Number.isInteger(topK) || topK < 0) throw new ValidationError('topK must be a non-negative integer', [{ path: 'topK', message: 'must be a non-negative integer' }]);
      for (const [name, list] of [['rawValues', o.rawValues], ['reasons', o.reasons]] as const) {
        if (list && list.length < n) throw new ValidationError(`${name} has ${list.length} rows, needs ${n}`, [{ path: name, message: `must have one entry per row (${n})` }]);
      }
      run(rows, n);
      const k = Math.min(topK, g);
      const top = new Int32Array(k);
      const out: Explanation[] = new Array(n);
      for (let r = 0; r < n; r++) {
        const at = r * g;
        // Top K by |φ| by insertion into a K-slot list: O(G·K), no sort of all G features.
        let filled = 0;
        for (let f = 0; f < g && k > 0; f++) {
          const a = Math.abs(grouped[at + f]!);
          if (a === 0 || (filled === k && a <= Math.abs(grouped[at + top[k - 1]!]!))) continue;
          let p = filled < k ? filled++ : k - 1;
          while (p > 0 && Math.abs(grouped[at + top[p - 1]!]!) < a) { top[p] = top[p - 1]!; p--; }
          top[p] = f;
        }
        const contributions: Contribution[] = new Array(filled);
        for (let c = 0; c < filled; c++) {
          const f = top[c]!;
          contributions[c] = contribution(groups, f, grouped[at + f]!, rows, r * d, o.rawValues?.[r], o.reasons?.[r]);
        }
        out[r] = {
          method, base: engine.base, logit: logits[r]!, score: scores[r]!,
          ...(ig ? { completenessError: gaps[r]! } : {}),
          contributions,
        };
      }
      return out;
    },
  };
}

function lookup<V>(record: Readonly<Record<string, V>> | undefined, feature: string): V | undefined {
  if (!record) return undefined;
  if (Object.hasOwn(record, feature)) return record[feature];
  // computePairFeatures keys its values and texts by the pair feature's own name.
  if (feature.startsWith(PAIR_PREFIX)) {
    const short = feature.slice(PAIR_PREFIX.length);
    if (Object.hasOwn(record, short)) return record[short];
  }
  return undefined;
}

/** The raw value read back from the design: a numeric feature's own column, null when its indicator says missing. */
function designValue(groups: FeatureGroups, f: number, rows: ArrayLike<number>, at: number): FeatureValue | undefined {
  const miss = groups.missingColumn[f]!;
  if (miss >= 0 && rows[at + miss] === 1) return null;
  const col = groups.valueColumn[f]!;
  return col >= 0 ? rows[at + col]! : undefined;
}

function contribution(
  groups: FeatureGroups, f: number, phi: number, rows: ArrayLike<number>, at: number,
  raw: FeatureValues | undefined, reasons: Readonly<Record<string, string>> | undefined,
): Contribution {
  const feature = groups.features[f]!;
  const label = groups.labels[f]!;
  const value = raw ? (lookup(raw, feature) ?? null) : designValue(groups, f, rows, at);
  const direction = phi > 0 ? 'up' : 'down';
  const text = lookup(reasons, feature);
  return { feature, label, value: value ?? null, phi, direction, reason: text ?? genericReason(label, value, direction) };
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return String(Math.abs(x) < 1 ? Number(x.toPrecision(2)) : Number(x.toFixed(2)));
}

/** "smoothed rating 4.71 raises the score"; without a known value, "smoothed rating raises the score". */
export function genericReason(label: string, value: FeatureValue | undefined, direction: 'up' | 'down'): string {
  let head: string;
  if (value === undefined) head = label;
  else if (value === null) head = `${label} missing`;
  else if (typeof value === 'number') head = `${label} ${formatNumber(value)}`;
  else if (typeof value === 'boolean') head = `${label}: ${value ? 'yes' : 'no'}`;
  else if (Array.isArray(value)) head = `${label}: ${value.length} listed`;
  else head = `${label} ${String(value)}`;
  return `${head} ${direction === 'up' ? 'raises' : 'lowers'} the score`;
}

// One compiled explainer per model object (a hot swap brings a new object, so the old one is collected).
const explainers = new WeakMap<object, { encoding: TableEncoding | undefined; explainer: Explainer }>();

/**
 * Explains n design rows of a loaded model (row-major n × the model's featureNames), compiling its
 * explainer on first use and reusing it after.
 */
export function explainRows(loaded: ExplainableModel, rows: ArrayLike<number>, n: number, opts: ExplainOptions = {}): Explanation[] {
  const encoding = encodingOf(loaded);
  let cached = explainers.get(loaded.model);
  if (!cached || cached.encoding !== encoding) {
    cached = { encoding, explainer: createExplainer(loaded) };
    explainers.set(loaded.model, cached);
  }
  return cached.explainer.explain(rows, n, opts);
}
