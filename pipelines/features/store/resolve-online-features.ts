// What both online stores share once they have fetched a row: per-feature TTL at read time (an
// expired value is reported, never served — Feast returns it as present), and which of a batch's
// rows actually get applied when several name the same entity.
import type { FeatureSetRef, FeatureValues } from '../feature-set.js';
import type { FeatureRow, OnlineFeatures } from './feature-store.types.js';

/** What an online store holds for one (set, version, entity); `values` may be handed to the caller as is. */
export interface OnlineRecord {
  eventAt: number;
  createdAt: number;
  values: FeatureValues;
}

/**
 * A value is fresh while `now - eventAt <= ttlMs` and expired after; ttlMs null never expires.
 * Features of the set the record does not hold are `missing`; values the set does not declare
 * (a feature dropped from a later definition) are not returned.
 */
export function resolveOnlineFeatures(set: FeatureSetRef, entityKey: string, record: OnlineRecord | null, now: number): OnlineFeatures {
  if (!record) {
    return { entityKey, found: false, eventAt: null, createdAt: null, values: {}, expired: [], missing: set.features.map((f) => f.name) };
  }
  const age = now - record.eventAt;
  const held = record.values;
  // The common case, every feature present and fresh and nothing else held: hand back the
  // record's own (freshly parsed) object instead of copying 20 values per entity.
  let whole = true;
  for (const f of set.features) {
    if (!Object.hasOwn(held, f.name) || (f.ttlMs !== null && age > f.ttlMs)) { whole = false; break; }
  }
  if (whole && Object.keys(held).length === set.features.length) {
    return { entityKey, found: true, eventAt: record.eventAt, createdAt: record.createdAt, values: held, expired: [], missing: [] };
  }
  const values: FeatureValues = {};
  const expired: string[] = [];
  const missing: string[] = [];
  for (const f of set.features) {
    if (!Object.hasOwn(record.values, f.name)) missing.push(f.name);
    else if (f.ttlMs !== null && age > f.ttlMs) expired.push(f.name);
    else values[f.name] = record.values[f.name]!;
  }
  return { entityKey, found: true, eventAt: record.eventAt, createdAt: record.createdAt, values, expired, missing };
}

/** Identity of a row's target in the online store. */
export function onlineKeyOf(r: Pick<FeatureRow, 'featureSet' | 'version' | 'entityKey'>): string {
  return `${r.featureSet}\u0000${r.version}\u0000${r.entityKey}`;
}

/**
 * Reduces a batch to one row per entity, in first-seen order: the latest event time, the last of
 * equals (the same rule the store applies, so the outcome does not depend on the order within a
 * call). The rows dropped here count as stale: they lost to a later row of the same call.
 */
export function latestPerEntity(rows: readonly FeatureRow[]): { rows: FeatureRow[]; superseded: number } {
  const byKey = new Map<string, FeatureRow>();
  for (const r of rows) {
    const k = onlineKeyOf(r);
    const held = byKey.get(k);
    if (!held || r.eventAt >= held.eventAt) byKey.set(k, r);
  }
  return { rows: [...byKey.values()], superseded: rows.length - byKey.size };
}
