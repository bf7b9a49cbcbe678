// The feature store's two halves. Offline: append-only history in the database, what training
// sets join against point in time. Online: the latest value per entity and set, for serving;
// Redis when configured, the database otherwise, behind OnlineStore.
import type { FeatureSetRef, FeatureValues } from '../feature-set.js';

export interface FeatureRow {
  featureSet: string;
  version: number;
  entityKey: string;
  /** When the values became true in the world (the as-of time of a batch run, the event time of a stream update). */
  eventAt: number;
  values: FeatureValues;
}

export interface StoredFeatureRow extends FeatureRow {
  /** When the store received it; a training row at time t only sees rows created at or before t. */
  createdAt: number;
}

export interface OnlineFeatures {
  entityKey: string;
  /** False when the store has no row for the entity at all. */
  found: boolean;
  eventAt: number | null;
  createdAt: number | null;
  /** Fresh values only: an expired feature is absent here and listed in `expired`. */
  values: FeatureValues;
  /** Features whose value is older than their TTL at read time. */
  expired: string[];
  /** Features of the set the row does not hold (or every feature when not found). */
  missing: string[];
}

export interface OnlineWriteResult {
  written: number;
  /** Rows ignored because the store already held a value with a later event time. */
  stale: number;
}

export interface OnlineStore {
  readonly kind: 'redis' | 'database';
  /**
   * Latest event time wins: a row whose eventAt is older than the stored row's is ignored (an equal
   * one replaces it, so a re-run of the same batch can correct values). Atomic per row.
   */
  write(rows: readonly FeatureRow[], now?: number): Promise<OnlineWriteResult>;
  /** One round trip for any number of entities, results in the order of `entityKeys`; TTL enforced per feature at `now`. */
  read(set: FeatureSetRef, entityKeys: readonly string[], now?: number): Promise<OnlineFeatures[]>;
  /** Several sets' entities in one round trip (one MGET on Redis): results per request, in order. */
  readMany(requests: readonly { set: FeatureSetRef; entityKeys: readonly string[] }[], now?: number): Promise<OnlineFeatures[][]>;
  /** Throws ServiceUnavailableError when the backing store does not answer. */
  ping(): Promise<void>;
}
