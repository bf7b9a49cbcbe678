// The database flavour of the online store: feature_online, one row per (set, version, entity).
// Writes are event-time guarded upserts, one statement per chunk; reads are one SELECT … IN (…).
import { sql } from 'kysely';
import { escapeId, format } from 'mysql2';
import { isMysql, type Db, type Tx } from '../../../platform/db/database.js';
import type { FeatureValues } from '../feature-set.js';
import type { FeatureRow, OnlineWriteResult } from './feature-store.types.js';
import type { OnlineRecord } from './resolve-online-features.js';

const COLUMNS = ['feature_set', 'version', 'entity_key', 'event_at', 'created_at', 'feature_values'] as const;
// MySQL evaluates the SET list left to right, each assignment seeing the ones before it: event_at
// goes last, so every guard compares against the stored event time, not the one just written
// (with `>=` the outcome would survive another order; a stricter guard would not).
const GUARD = 'values(`event_at`) >= `event_at`';
const MYSQL_UPDATE = ['created_at', 'feature_values', 'event_at']
  .map((c) => `${escapeId(c)} = if(${GUARD}, values(${escapeId(c)}), ${escapeId(c)})`).join(', ');
const ER_LOCK_DEADLOCK = 1213;

/**
 * Upserts rows of ONE set version, at most one row per entity (see latestPerEntity): a row
 * replaces the stored one when its eventAt is the same or later. Returns rows written and rows
 * left alone because the stored row is newer.
 *
 * Counting on MySQL: affected-rows cannot tell an insert (1) from a guarded no-op (1 with
 * mysql2's default CLIENT_FOUND_ROWS, 0 without; an equal-time rewrite of identical values is a
 * no-op too), and Kysely drops the "Records/Duplicates" info string. So the upsert runs in a
 * transaction and reads back event_at of its keys: the upsert holds an exclusive lock on every row
 * it touched (updated or not) until commit, so what it reads is what the statement left. A row
 * lost iff the stored event time is later than its own. SQLite's changes() excludes rows the
 * DO UPDATE … WHERE skipped, so there the count is exact without a second statement.
 */
export async function upsertOnlineRows(db: Db | Tx, featureSet: string, version: number, rows: readonly FeatureRow[], createdAt: number): Promise<OnlineWriteResult> {
  if (rows.length === 0) return { written: 0, stale: 0 };
  const cells = rows.map((r) => [featureSet, version, r.entityKey, r.eventAt, createdAt, JSON.stringify(r.values)]);
  if (!isMysql(db as never)) {
    const res = await db.insertInto('feature_online')
      .values(cells.map((c) => Object.fromEntries(COLUMNS.map((col, i) => [col, c[i]])) as never))
      .onConflict((oc) => oc.columns(['feature_set', 'version', 'entity_key'])
        .doUpdateSet({ event_at: sql`excluded.event_at`, created_at: sql`excluded.created_at`, feature_values: sql`excluded.feature_values` })
        .where(sql<boolean>`excluded.event_at >= feature_online.event_at`))
      .executeTakeFirst();
    const written = Number(res.numInsertedOrUpdatedRows ?? 0);
    return { written, stale: rows.length - written };
  }

  // Rows in key order, so two concurrent writers lock shared keys in the same order.
  const sorted = [...cells].sort((a, b) => (a[2]! < b[2]! ? -1 : a[2]! > b[2]! ? 1 : 0));
  const statement = `insert into feature_online (${COLUMNS.map((c) => escapeId(c)).join(', ')}) values ${format('?', [sorted] as never)} `
    + `on duplicate key update ${MYSQL_UPDATE}`;
  const run = async (tx: Db | Tx): Promise<OnlineWriteResult> => {
    await sql.raw(statement).execute(tx);
    const held = await tx.selectFrom('feature_online').select(['entity_key', 'event_at'])
      .where('feature_set', '=', featureSet).where('version', '=', version)
      .where('entity_key', 'in', rows.map((r) => r.entityKey))
      .forUpdate()
      .execute();
    const heldAt = matchByKey(held.map((h) => [h.entity_key, Number(h.event_at)] as const), true);
    let stale = 0;
    for (const r of rows) if ((heldAt(r.entityKey) ?? r.eventAt) > r.eventAt) stale++;
    return { written: rows.length - stale, stale };
  };
  if (db.isTransaction) return run(db);
  for (let attempt = 1; ; attempt++) {
    try {
      return await (db as Db).transaction().execute(run);
    } catch (err) {
      // InnoDB may pick this writer as a deadlock victim against another multi-row upsert; the
      // transaction was rolled back whole, so running it again is safe.
      if ((err as { errno?: number }).errno !== ER_LOCK_DEADLOCK || attempt >= 5) throw err;
    }
  }
}

/** Stored rows of one set version for the given entities (absent entities have no entry). */
export async function readOnlineRows(db: Db | Tx, featureSet: string, version: number, entityKeys: readonly string[]): Promise<(key: string) => OnlineRecord | undefined> {
  const keys = [...new Set(entityKeys)];
  if (keys.length === 0) return () => undefined;
  // SQLite caps bound parameters at 32,766 per statement; MySQL (values formatted client-side) has no such cap.
  const step = isMysql(db as never) ? keys.length : 10_000;
  const found: (readonly [string, OnlineRecord])[] = [];
  for (let i = 0; i < keys.length; i += step) {
    const rows = await db.selectFrom('feature_online')
      .select(['entity_key', 'event_at', 'created_at', 'feature_values'])
      .where('feature_set', '=', featureSet).where('version', '=', version)
      .where('entity_key', 'in', keys.slice(i, i + step))
      .execute();
    for (const r of rows) {
      found.push([r.entity_key, { eventAt: Number(r.event_at), createdAt: Number(r.created_at), values: JSON.parse(r.feature_values) as FeatureValues }]);
    }
  }
  return matchByKey(found, isMysql(db as never));
}

/**
 * Looks up a requested key among returned rows. MySQL compares entity_key by the column's
 * collation (utf8mb4_unicode_ci: case- and trailing-space-insensitive), so a row may come back
 * under a differently cased key; exact matches win, then the folded form.
 */
function matchByKey<T>(entries: readonly (readonly [string, T])[], caseInsensitive: boolean): (key: string) => T | undefined {
  const exact = new Map(entries);
  if (!caseInsensitive) return (key) => exact.get(key);
  let folded: Map<string, T> | undefined;
  const fold = (k: string) => k.toLowerCase().replace(/ +$/, '');
  return (key) => {
    const hit = exact.get(key);
    if (hit !== undefined) return hit;
    folded ??= new Map(entries.map(([k, v]) => [fold(k), v]));
    return folded.get(fold(key));
  };
}
