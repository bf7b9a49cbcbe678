// Models for the scoring tests: real encodings (fitted by encode-table on a small table with the
// columns a trained matching or ads model reads) and seeded weights, registered through the
// registry like a trained version. What the tests check is the serving path, not model quality.
import { serialiseArtifact } from '../../../model-registry/artifact.js';
import type { LogisticModelShape, MlpNetwork, ServableModel } from '../../../model-registry/inference/model-types.js';
import type { RegistryService } from '../../../model-registry/registry.service.js';
import { fitEncoding, type TableEncoding } from '../../../model-registry/training/encode-table.js';
import type { ColumnType } from '../../../pipelines/datasets/point-in-time-join.js';
import { uniform } from '../../../pipelines/synthetic/random.js';
import { specOf } from '../../model-registry/registry-fixtures.js';

const ACTOR = { type: 'system', id: 'test' } as const;

const MATCHING_COLUMNS: [string, ColumnType, unknown[]][] = [
  ['match_pair__required_skill_coverage', 'float', [0, 0.5, 1, null]],
  ['match_pair__skill_overlap_idf', 'float', [0.1, 0.4, 0.9, 0.2]],
  ['match_pair__price_fit', 'float', [1, 0.2, null, 0.7]],
  ['match_pair__shared_connections', 'float', [0, 1, 3, null]],
  ['match_pair__category_match', 'float', [0, 0.5, 1, 1]],
  ['match_pair__past_client_work', 'bool', [false, true, false, false]],
  ['provider_profile__smoothed_rating', 'float', [4.2, 4.8, null, 4.5]],
  ['provider_profile__country', 'string', ['US', 'IN', 'GB', 'US']],
  ['provider_profile__skill_ids', 'json', ['["a"]', '["a","b"]', null, '[]']],
  ['provider_activity__hires_30d', 'float', [0, 2, null, 1]],
  ['job_profile__budget_percentile', 'float', [0.2, 0.5, 0.9, null]],
];

const ADS_COLUMNS: [string, ColumnType, unknown[]][] = [
  ['creative_ctr__ctr_24h', 'float', [0.01, 0.03, null, 0.02]],
  ['placement_ctr__ctr_24h', 'float', [0.02, 0.01, 0.03, null]],
  ['campaign_profile__bid_minor', 'float', [50, 120, 80, null]],
  ['ad_request__hour_of_day', 'float', [1, 12, 18, 23]],
  ['ad_request__device', 'string', ['mobile', 'desktop', 'tablet', 'mobile']],
  ['ad_request__user_category_affinity', 'float', [0, 0.5, null, 0.2]],
];

function encodingOf(cols: [string, ColumnType, unknown[]][], hashed?: Record<string, number>): TableEncoding {
  const source = Object.fromEntries(cols.map(([n, , v]) => [n, v]));
  return fitEncoding(source, { columns: cols.map(([name, type]) => ({ name, type, role: 'feature' as const })), ...(hashed ? { hashed } : {}) });
}

export function matchingEncoding(): TableEncoding { return encodingOf(MATCHING_COLUMNS); }
export function adsEncoding(): TableEncoding {
  return encodingOf([...ADS_COLUMNS, ['ad_request__advertiser_x_placement', 'float', [1, 2, 3, 4]]], { ad_request__advertiser_x_placement: 16 });
}

/** A logistic model over an encoding, weights from `seed`. */
export function logisticOver(encoding: TableEncoding, seed: string): LogisticModelShape & { encoding: TableEncoding } {
  const r = uniform(seed);
  const d = encoding.featureNames.length;
  return {
    kind: 'logistic', featureNames: [...encoding.featureNames], encoding,
    means: Array.from({ length: d }, () => r() * 0.5), stds: Array.from({ length: d }, () => 0.5 + r()),
    coef: Array.from({ length: d }, () => (r() - 0.5) * 2), intercept: -1 + r() * 0.1,
  };
}

/** A one-hidden-layer MLP over an encoding. */
export function mlpOver(encoding: TableEncoding, seed: string, hidden = 8): MlpNetwork & { encoding: TableEncoding } {
  const r = uniform(seed);
  const d = encoding.featureNames.length;
  const w = (n: number) => Array.from({ length: n }, () => (r() - 0.5));
  return {
    kind: 'mlp', featureNames: [...encoding.featureNames], encoding,
    means: Array.from({ length: d }, () => r() * 0.5), stds: Array.from({ length: d }, () => 0.5 + r()),
    layers: [{ weights: w(d * hidden), bias: w(hidden), activation: 'relu' }, { weights: w(hidden), bias: w(1), activation: 'sigmoid' }],
  };
}

/** Registers `model` as a ready version of `name`; returns its number. */
export async function registerModel(registry: RegistryService, name: string, model: ServableModel): Promise<number> {
  await registry.createModel({ name }, ACTOR, { ifMissing: true });
  const { bytes, sha256 } = serialiseArtifact(model);
  const spec = await specOf({ auc: 0.8 });
  const v = await registry.registerVersion(name, { ...spec, algorithm: model.kind }, { bytes, sha256, format: 'gigintel-model/1' }, ACTOR);
  return v.version;
}

export async function point(registry: RegistryService, name: string, alias: string, version: number): Promise<void> {
  await registry.promote({ model: name, alias, version, reason: 'test', force: true }, { type: 'system', id: 'test' }, { canForce: true });
}
