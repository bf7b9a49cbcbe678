// The offline store: append-only feature history. A row is never updated; writing the same
// (set, version, entity, event time) again is skipped, so a re-run batch chunk adds nothing.
import { sql } from 'kysely';
import { escapeId, format } from 'mysql2';
import { isMysql, type Db, type Tx } from '../../../platform/db/database.js';
import type { FeatureValues } from '../feature-set.js';
import type { StoredFeatureRow } from './feature-store.types.js';

const COLUMNS = ['feature_set', 'version', 'entity_key', 'event_at', 'created_at', 'run_id', 'feature_values'] as const;

/** Appends history rows (created_at as given); rows already present for the same point are skipped. Returns rows inserted. */
export async function appendHistory(db: Db | Tx, rows: readonly (StoredFeatureRow & { runId?: string | null })[]): Promise<number> {
  if (rows.length === 0) return 0;
  // In key order, so concurrent writers (stream jobs touching the same creatives) take the unique
  // index's locks in the same order instead of deadlocking.
  const key = (r: StoredFeatureRow) => `${r.featureSet}\u0000${r.version}\u0000${r.entityKey}\u0000${r.eventAt}`;
  const sorted = [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const values = sorted.map((r) => [r.featureSet, r.version, r.entityKey, r.eventAt, r.createdAt, r.runId ?? null, JSON.stringify(r.values)]);
  if (isMysql(db as never)) {
    // Raw multi-row insert formatted by mysql2: chunks of thousands are far cheaper than a query tree.
    const res = await sql.raw(`insert ignore into feature_history (${COLUMNS.map((c) => escapeId(c)).join(', ')}) values ${format('?', [values] as never)}`).execute(db);
    return Number(res.numAffectedRows ?? 0);
  }
  const res = await db.insertInto('feature_history')
    .values(values.map((v) => Object.fromEntries(COLUMNS.map((c, i) => [c, v[i]])) as never))
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0);
}

export interface HistoryQuery {
  featureSet: string;
  version: number;
  /** Only these entities (all when omitted). */
  entityKeys?: readonly string[];
  /** Only rows with event_at at or before this time. */
  eventAtOrBefore?: number;
  /** Only rows with created_at at or before this time. */
  createdAtOrBefore?: number;
}

/** History rows ordered by entity, then event time, then created time. */
export async function readHistory(db: Db | Tx, q: HistoryQuery): Promise<StoredFeatureRow[]> {
  let query = db.selectFrom('feature_history')
    .select(['entity_key', 'event_at', 'created_at', 'feature_values'])
    .where('feature_set', '=', q.featureSet).where('version', '=', q.version);
  if (q.entityKeys) {
    if (q.entityKeys.length === 0) return [];
    query = query.where('entity_key', 'in', [...q.entityKeys]);
  }
  if (q.eventAtOrBefore !== undefined) query = query.where('event_at', '<=', q.eventAtOrBefore);
  if (q.createdAtOrBefore !== undefined) query = query.where('created_at', '<=', q.createdAtOrBefore);
  const rows = await query.orderBy('entity_key').orderBy('event_at').orderBy('created_at').execute();
  return rows.map((r) => ({
    featureSet: q.featureSet, version: q.version, entityKey: r.entity_key,
    eventAt: Number(r.event_at), createdAt: Number(r.created_at), values: JSON.parse(r.feature_values) as FeatureValues,
  }));
}

/** A history row as stored: values still JSON text, parsed only by whoever needs them. */
export interface RawHistoryRow { entityKey: string; eventAt: number; createdAt: number; valuesJson: string }

export interface HistoryScan {
  featureSet: string;
  version: number;
  /** Only rows with event_at at or after this time. */
  eventAtOrAfter?: number;
  /** Only rows with event_at at or before this time. */
  eventAtOrBefore?: number;
  /** Only rows with created_at at or before this time. */
  createdAtOrBefore?: number;
}

/**
 * Every history row of a set version in one ordered pass (entity, then event time: the unique key,
 * so the server walks the index instead of sorting), streamed in chunks. For readers of many
 * entities (point-in-time joins), where an `in (...)` list or a query per entity would not scale.
 */
export async function* scanHistory(db: Db | Tx, q: HistoryScan, chunkSize = 10_000): AsyncGenerator<RawHistoryRow> {
  let query = db.selectFrom('feature_history')
    .select(['entity_key', 'event_at', 'created_at', 'feature_values'])
    .where('feature_set', '=', q.featureSet).where('version', '=', q.version);
  if (q.eventAtOrAfter !== undefined) query = query.where('event_at', '>=', q.eventAtOrAfter);
  if (q.eventAtOrBefore !== undefined) query = query.where('event_at', '<=', q.eventAtOrBefore);
  if (q.createdAtOrBefore !== undefined) query = query.where('created_at', '<=', q.createdAtOrBefore);
  for await (const r of query.orderBy('entity_key').orderBy('event_at').stream(chunkSize)) {
    yield { entityKey: r.entity_key, eventAt: Number(r.event_at), createdAt: Number(r.created_at), valuesJson: r.feature_values };
  }
}
