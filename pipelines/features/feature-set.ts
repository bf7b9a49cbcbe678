// What a feature set is: a named, versioned group of features over one entity, each with a type,
// a TTL, a description and the transform that computes it. The schema hash names exactly what a
// model was trained on; the registry records it with every model version.
import { createHash } from 'node:crypto';

export type FeatureValue = number | string | boolean | null | readonly string[] | readonly number[];
export type FeatureValues = Record<string, FeatureValue>;
export type FeatureType = 'float' | 'int' | 'bool' | 'string' | 'string_list' | 'float_list';

/** The entities features describe; `pair` (job × provider) is computed at request time. */
export type EntityType =
  | 'provider' | 'job' | 'client' | 'skill' | 'pair'
  | 'campaign' | 'creative' | 'placement' | 'advertiser_placement' | 'user' | 'ip' | 'device' | 'impression';

/** Where a set's values come from: the batch pipeline, the stream processors, or computed per request. */
export type FeatureSource = 'batch' | 'stream' | 'request';

export interface FeatureDefinition<I = never> {
  name: string;
  type: FeatureType;
  description: string;
  /** How long a value stays valid after its event time; null: it does not expire. */
  ttlMs: number | null;
  /** The transform: computes this feature from the set's input. */
  compute: (input: I) => FeatureValue;
  /** For features shown in explanations: the readable parts ("5 of 6 required skills"). */
  explain?: (input: I) => string;
}

export interface FeatureSet<I = never> {
  name: string;
  version: number;
  entity: EntityType;
  source: FeatureSource;
  description: string;
  features: readonly FeatureDefinition<I>[];
}

/** What the store needs of a set to read it: its identity and the TTL of each feature. */
export interface FeatureSetRef {
  name: string;
  version: number;
  features: readonly { name: string; ttlMs: number | null }[];
}

/** `name@vN`, the printed identity of a set version. */
export function featureSetId(set: { name: string; version: number }): string {
  return `${set.name}@v${set.version}`;
}

/**
 * sha256 over the set's identity and every feature's name, type and TTL, in declared order.
 * Transforms are not hashed (their source text differs between tsx and the built dist); a change
 * to what a transform means must bump the set's version, which changes the hash.
 */
export function schemaHash(set: Pick<FeatureSet<never>, 'name' | 'version' | 'entity' | 'source'> & { features: readonly Pick<FeatureDefinition<never>, 'name' | 'type' | 'ttlMs'>[] }): string {
  const canonical = JSON.stringify({
    name: set.name, version: set.version, entity: set.entity, source: set.source,
    features: set.features.map((f) => [f.name, f.type, f.ttlMs]),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Schema hash of several sets together (what a training set joins), order-independent. */
export function combinedSchemaHash(hashes: readonly string[]): string {
  return createHash('sha256').update([...hashes].sort().join('\n')).digest('hex');
}

/** Runs every transform of a set on one input: the values a store row holds. */
export function computeValues<I>(set: FeatureSet<I>, input: I): FeatureValues {
  const out: FeatureValues = {};
  for (const f of set.features) out[f.name] = f.compute(input);
  return out;
}
