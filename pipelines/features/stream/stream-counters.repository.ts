// The SQL of the database window counters: claiming event ids, the per-entity latest event time,
// bucket upserts (sums add, gaps keep the minimum), click times and trimming.
import { sql } from 'kysely';
import { isMysql, type Db, type Tx } from '../../../platform/db/database.js';
import { ClaimRaceError } from '../../events/events.repository.js';
import type { CounterKind, EntityRef } from './window-counters.js';
import './stream-counters.table.js';

// SQLite allows 32766 bound values per statement; 6 columns × 2000 rows stays well under it.
const CHUNK = 2_000;
const chunks = <T>(rows: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
};

/**
 * Claims event ids for this transaction; returns those it claimed (not claimed before). Reads
 * which exist, inserts the rest, and requires all of them inserted: a concurrent claim shows as
 * a short count and throws ClaimRaceError so the caller retries in a fresh transaction.
 */
export async function claimStreamEvents(tx: Tx, ids: readonly string[], seenAt: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const taken = new Set<string>();
  for (const part of chunks(ids)) {
    const rows = await tx.selectFrom('feature_stream_receipt').select('event_id').where('event_id', 'in', part).execute();
    for (const r of rows) taken.add(r.event_id);
  }
  // Sorted, so two transactions claiming overlapping ids lock them in the same order.
  const fresh = [...new Set(ids)].filter((id) => !taken.has(id)).sort();
  let inserted = 0;
  for (const part of chunks(fresh)) {
    const values = part.map((event_id) => ({ event_id, seen_at: seenAt }));
    const insert = isMysql(tx as never) ? tx.insertInto('feature_stream_receipt').ignore() : tx.insertInto('feature_stream_receipt').orIgnore();
    const res = await insert.values(values).executeTakeFirst();
    inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  if (inserted !== fresh.length) throw new ClaimRaceError();
  return new Set(fresh);
}

/** Forgets receipts older than `before` (a replay after that would count again). */
export async function forgetStreamReceipts(db: Db | Tx, before: number): Promise<number> {
  const res = await db.deleteFrom('feature_stream_receipt').where('seen_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}

function byKind(entities: readonly EntityRef[]): Map<CounterKind, string[]> {
  const m = new Map<CounterKind, string[]>();
  for (const e of entities) {
    let keys = m.get(e.kind);
    if (!keys) m.set(e.kind, (keys = []));
    keys.push(e.key);
  }
  return m;
}

/** Latest event time per entity (`kind:key` → ms); with `lock`, the rows are locked for this transaction (MySQL). */
export async function readLatest(db: Db | Tx, entities: readonly EntityRef[], lock = false): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [kind, keys] of byKind(entities)) {
    for (const part of chunks(keys)) {
      let q = db.selectFrom('feature_stream_entity').select(['entity_key', 'latest_at'])
        .where('entity_kind', '=', kind).where('entity_key', 'in', part);
      if (lock && isMysql(db as never)) q = q.forUpdate();
      for (const r of await q.execute()) out.set(`${kind}:${r.entity_key}`, Number(r.latest_at));
    }
  }
  return out;
}

/** Raises each entity's latest event time to at least the given one. Pass them sorted (lock order). */
export async function raiseLatest(tx: Tx, rows: readonly { kind: CounterKind; key: string; latest: number }[]): Promise<void> {
  for (const part of chunks(rows)) {
    const values = part.map((r) => ({ entity_kind: r.kind, entity_key: r.key, latest_at: r.latest }));
    if (isMysql(tx as never)) {
      await tx.insertInto('feature_stream_entity').values(values)
        .onDuplicateKeyUpdate({ latest_at: sql`greatest(latest_at, values(latest_at))` }).execute();
    } else {
      await tx.insertInto('feature_stream_entity').values(values)
        .onConflict((oc) => oc.columns(['entity_kind', 'entity_key']).doUpdateSet({ latest_at: sql`max(latest_at, excluded.latest_at)` }))
        .execute();
    }
  }
}

export interface CounterRow { kind: CounterKind; key: string; field: string; bucket: number; n: number; expiresAt: number }

/** Adds to sum buckets (`min`: false) or keeps the smaller value of gap buckets (`min`: true). */
export async function upsertCounters(tx: Tx, rows: readonly CounterRow[], min: boolean): Promise<void> {
  for (const part of chunks(rows)) {
    const values = part.map((r) => ({ entity_kind: r.kind, entity_key: r.key, field: r.field, bucket: r.bucket, n: r.n, expires_at: r.expiresAt }));
    if (isMysql(tx as never)) {
      await tx.insertInto('feature_stream_counter').values(values)
        .onDuplicateKeyUpdate({ n: min ? sql`least(n, values(n))` : sql`n + values(n)` }).execute();
    } else {
      await tx.insertInto('feature_stream_counter').values(values)
        .onConflict((oc) => oc.columns(['entity_kind', 'entity_key', 'field', 'bucket'])
          .doUpdateSet({ n: min ? sql`min(n, excluded.n)` : sql`n + excluded.n` }))
        .execute();
    }
  }
}

/** Every stored bucket of the entities (expired ones included; the reader ignores them). */
export async function readCounters(db: Db | Tx, entities: readonly EntityRef[]): Promise<CounterRow[]> {
  const out: CounterRow[] = [];
  for (const [kind, keys] of byKind(entities)) {
    for (const part of chunks(keys)) {
      const rows = await db.selectFrom('feature_stream_counter').select(['entity_key', 'field', 'bucket', 'n', 'expires_at'])
        .where('entity_kind', '=', kind).where('entity_key', 'in', part).execute();
      for (const r of rows) out.push({ kind, key: r.entity_key, field: r.field, bucket: Number(r.bucket), n: Number(r.n), expiresAt: Number(r.expires_at) });
    }
  }
  return out;
}

export interface ClickRow { id: string; at: number }

/** Click times of one entity with from ≤ event_at ≤ to, oldest first. */
export async function readClicks(tx: Tx, kind: CounterKind, key: string, from: number, to: number): Promise<ClickRow[]> {
  const rows = await tx.selectFrom('feature_stream_click').select(['event_id', 'event_at'])
    .where('entity_kind', '=', kind).where('entity_key', '=', key)
    .where('event_at', '>=', from).where('event_at', '<=', to)
    .orderBy('event_at').execute();
  return rows.map((r) => ({ id: r.event_id, at: Number(r.event_at) }));
}

export async function insertClicks(tx: Tx, kind: CounterKind, key: string, clicks: readonly ClickRow[]): Promise<void> {
  for (const part of chunks(clicks)) {
    const values = part.map((c) => ({ entity_kind: kind, entity_key: key, event_id: c.id, event_at: c.at }));
    const insert = isMysql(tx as never) ? tx.insertInto('feature_stream_click').ignore() : tx.insertInto('feature_stream_click').orIgnore();
    await insert.values(values).execute();
  }
}

/** Drops an entity's buckets that are in no window at `latest`, and click times older than `clicksBefore`. */
export async function trimEntity(tx: Tx, kind: CounterKind, key: string, latest: number, clicksBefore: number): Promise<void> {
  await tx.deleteFrom('feature_stream_counter')
    .where('entity_kind', '=', kind).where('entity_key', '=', key).where('expires_at', '<=', latest).execute();
  if (kind === 'ip' || kind === 'device') {
    await tx.deleteFrom('feature_stream_click')
      .where('entity_kind', '=', kind).where('entity_key', '=', key).where('event_at', '<', clicksBefore).execute();
  }
}
