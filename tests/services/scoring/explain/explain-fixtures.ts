// Random raw feature rows of every kind the encoder handles (numbers with nulls, bools, top-K
// categories, hashed crosses, lists) and random models over their design, for the explain tests.
import type { Activation, LogisticModelShape, MlpNetwork } from '../../../../model-registry/inference/model-types.js';
import { encodeTable, type TableEncoding } from '../../../../model-registry/training/encode-table.js';
import type { FeatureValues } from '../../../../pipelines/features/feature-set.js';
import { Random } from '../../../../pipelines/synthetic/random.js';

export interface RawBatch {
  encoding: TableEncoding;
  /** Design rows, row-major n × encoding.featureNames.length. */
  rows: Float64Array;
  n: number;
  raw: FeatureValues[];
}

/** n raw rows encoded as training would (nulls → mean + `__missing`, strings one-hot, a hashed cross, a list length). */
export function randomBatch(seed: number, n: number): RawBatch {
  const r = new Random(seed, 'raw');
  const countries = ['DE', 'FR', 'US', 'BR', 'IN', 'NG', 'JP'];
  const raw: FeatureValues[] = Array.from({ length: n }, () => ({
    provider_profile__smoothed_rating: r.chance(0.2) ? null : 3 + 2 * r.next(),
    provider_profile__hourly_rate_minor: r.int(1500, 15000),
    provider_profile__country: r.chance(0.1) ? null : r.pick(countries),
    provider_profile__skill_ids: r.chance(0.1) ? null : Array.from({ length: r.int(0, 6) }, (_, i) => `s${i}`),
    match_pair__required_skill_coverage: r.chance(0.15) ? null : r.int(0, 6) / 6,
    match_pair__past_client_work: r.chance(0.3),
    match_pair__shared_connections: r.int(0, 4),
    ads__advertiser_x_placement: r.int(0, 1 << 20),
  }));
  const columns: Record<string, unknown[]> = {};
  for (const name of Object.keys(raw[0]!)) columns[name] = raw.map((v) => v[name]);
  const { encoding, design } = encodeTable(columns, { topK: 4, hashed: { ads__advertiser_x_placement: 8 } });
  return { encoding, rows: design.data, n, raw };
}

/** A logistic model over `names` with random weights, means and stds (a few stds 0: constant columns). */
export function randomLogistic(seed: number, names: readonly string[]): LogisticModelShape {
  const r = new Random(seed, 'logistic');
  return {
    kind: 'logistic', featureNames: [...names],
    means: names.map(() => r.normal(0, 2)),
    stds: names.map(() => (r.chance(0.1) ? 0 : 0.2 + 3 * r.next())),
    coef: names.map(() => r.normal(0, 1.5)),
    intercept: r.normal(0, 1),
  };
}

/** An MLP over `names` with Glorot-scaled random weights; the last layer has one unit. */
export function randomMlp(seed: number, names: readonly string[], hidden: readonly number[], activations: readonly Activation[]): MlpNetwork {
  const r = new Random(seed, 'mlp');
  const sizes = [names.length, ...hidden, 1];
  return {
    kind: 'mlp', featureNames: [...names],
    means: names.map(() => r.normal(0, 2)),
    stds: names.map(() => 0.3 + 2 * r.next()),
    layers: sizes.slice(1).map((units, l) => {
      const inputs = sizes[l]!;
      const scale = Math.sqrt(6 / (inputs + units));
      return {
        weights: Array.from({ length: inputs * units }, () => (2 * r.next() - 1) * scale),
        bias: Array.from({ length: units }, () => r.normal(0, 0.3)),
        activation: activations[l]!,
      };
    }),
  };
}

/** n rows around the model's means (± 3 std), row-major. */
export function rowsAround(seed: number, model: { means: number[]; stds: number[] }, n: number): Float64Array {
  const r = new Random(seed, 'rows');
  const d = model.means.length;
  return Float64Array.from({ length: n * d }, (_, i) => model.means[i % d]! + r.normal(0, 1.5) * (model.stds[i % d]! || 1));
}

/** The model with means and stds of the design rows it explains, as training would have set them. */
export function fittedTo<M extends { means: number[]; stds: number[]; featureNames: string[] }>(model: M, rows: Float64Array, n: number): M {
  const d = model.featureNames.length;
  const means = Array.from({ length: d }, (_, k) => { let s = 0; for (let r = 0; r < n; r++) s += rows[r * d + k]!; return s / n; });
  const stds = means.map((m, k) => { let s = 0; for (let r = 0; r < n; r++) s += (rows[r * d + k]! - m) ** 2; return Math.sqrt(s / n); });
  return { ...model, means, stds };
}
