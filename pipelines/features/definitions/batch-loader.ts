// How the batch pipeline computes a set's inputs from the source tables as of a time. A set with
// a loader is batch-computable: page through its entity keys, load a chunk's inputs in one query
// per table, run the set's transforms (computeValues) on each.
import type { Db, Tx } from '../../../platform/db/database.js';
import type { FeatureSet } from '../feature-set.js';

export interface EntityPageQuery {
  /** Only data with event time ≤ asOf feeds the values; entities that did not exist yet are left out. */
  asOf: number;
  /** Only entities whose inputs were written (updated_at / ingested_at) after this time. */
  changedSince?: number;
  /** Keys strictly after this one (the last key of the previous page). */
  afterKey?: string;
  limit: number;
}

export interface BatchLoader<I> {
  /**
   * One page of entity keys in ascending key order, as the database orders the key column (the
   * same order its `>` uses), so a run can chunk and resume from the last key it finished.
   */
  listEntities(db: Db | Tx, q: EntityPageQuery): Promise<string[]>;
  /** The inputs of `keys` as of `asOf`: one query per source table for the whole chunk. Absent keys are left out. */
  load(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, I>>;
}

/** A feature set as the catalog holds it: batch-computable when it has a loader. */
export interface CatalogSet<I = never> extends FeatureSet<I> {
  batch?: BatchLoader<I>;
}
