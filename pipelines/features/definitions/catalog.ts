// Every feature set, by name and version. The batch pipeline iterates the sets with a loader,
// the stream processors and the online store look sets up here, the CLI prints them.
import type { Db, Tx } from '../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import { computeValues, featureSetId, type FeatureSet, type FeatureValues } from '../feature-set.js';
import { adRequest, campaignProfile, creativeCtr, deviceVelocity, ipVelocity, placementCtr, providerActivity, userAffinity } from './ads-features.js';
import type { BatchLoader, CatalogSet } from './batch-loader.js';
import { jobProfile, matchPair, providerProfile, skillIdf } from './matching-features.js';

/** A set of any input type (its transforms only ever see the input its own loader produced). */
export type AnyFeatureSet = CatalogSet<never> & { batch?: BatchLoader<unknown> };

export const FEATURE_SETS: readonly AnyFeatureSet[] = [
  providerProfile, jobProfile, skillIdf, matchPair,
  creativeCtr, placementCtr, ipVelocity, deviceVelocity, providerActivity, campaignProfile, userAffinity, adRequest,
] as unknown as readonly AnyFeatureSet[];

/** The set `name` at `version` (the latest when omitted). */
export function featureSet(name: string, version?: number): AnyFeatureSet {
  const versions = FEATURE_SETS.filter((s) => s.name === name);
  if (versions.length === 0) {
    throw new NotFoundError(`unknown feature set "${name}"; known sets: ${featureSetNames().join(', ')}`, { featureSet: name });
  }
  if (version === undefined) return versions.reduce((a, b) => (b.version > a.version ? b : a));
  if (!Number.isInteger(version) || version < 1) throw new ValidationError(`version must be a whole number ≥ 1 (got ${version})`, [{ path: 'version', message: 'must be a whole number ≥ 1' }]);
  const found = versions.find((s) => s.version === version);
  if (!found) {
    throw new NotFoundError(`feature set ${name} has no version ${version}; versions: ${versions.map((s) => s.version).join(', ')}`, { featureSet: name, version });
  }
  return found;
}

export function featureSetNames(): string[] {
  return [...new Set(FEATURE_SETS.map((s) => s.name))];
}

/** The latest version of every set that the batch pipeline can compute. */
export function batchFeatureSets(): (AnyFeatureSet & { batch: BatchLoader<unknown> })[] {
  return featureSetNames().map((n) => featureSet(n)).filter((s): s is AnyFeatureSet & { batch: BatchLoader<unknown> } => s.batch !== undefined);
}

/** Loads a chunk's inputs and runs the set's transforms on each: the values of each entity as of `asOf`. */
export async function computeBatch(set: AnyFeatureSet, db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, FeatureValues>> {
  if (!set.batch) throw new ValidationError(`feature set ${featureSetId(set)} is not batch-computable (source ${set.source})`, [{ path: 'featureSet', message: 'has no batch loader' }]);
  if (keys.length === 0) return new Map(); // `in ()` is a syntax error on MySQL
  const inputs = await set.batch.load(db, keys, asOf);
  const out = new Map<string, FeatureValues>();
  for (const [k, input] of inputs) out.set(k, computeValues(set as unknown as FeatureSet<unknown>, input));
  return out;
}
