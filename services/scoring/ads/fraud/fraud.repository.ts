// The only file of the fraud module that speaks SQL: flagged clicks and their review, the
// impression claims and the velocity hits behind the database counters.
import { sql, type Kysely } from 'kysely';
import { isMysql, type Db, type Tx } from '../../../../platform/db/database.js';
import type { FraudReason } from '../ad-types.js';
import type { FlaggedClickTable } from './fraud.table.js';
import './fraud.table.js';
import type { ClickStatus } from './fraud.types.js';

const mysqlOf = (db: Db | Tx) => isMysql(db as never);

/** Inserts the row unless the click is already stored (a redelivered click keeps its first verdict). */
export async function insertFlaggedClick(db: Db | Tx, row: FlaggedClickTable): Promise<boolean> {
  const q = db.insertInto('flagged_click').values(row);
  const res = await (mysqlOf(db) ? q.ignore() : q.orIgnore()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function getFlaggedClick(db: Db | Tx, clickId: string): Promise<FlaggedClickTable | undefined> {
  return db.selectFrom('flagged_click').selectAll().where('click_id', '=', clickId).executeTakeFirst();
}

export interface FlaggedFilter {
  status?: ClickStatus; campaignId?: string; reason?: FraudReason; from?: number; to?: number; limit: number;
  /** Keyset: rows strictly before (createdAt, clickId) in (created_at desc, click_id desc) order. */
  before?: { createdAt: number; clickId: string };
}

export async function listFlaggedClicks(db: Db | Tx, f: FlaggedFilter): Promise<FlaggedClickTable[]> {
  let q = db.selectFrom('flagged_click').selectAll();
  if (f.status) q = q.where('status', '=', f.status);
  if (f.campaignId) q = q.where('campaign_id', '=', f.campaignId);
  // reasons is a JSON array of fixed words: a quoted match is exact.
  if (f.reason) q = q.where('reasons', 'like', `%"${f.reason}"%`);
  if (f.from !== undefined) q = q.where('created_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('created_at', '<', f.to);
  if (f.before) {
    const b = f.before;
    q = q.where((eb) => eb.or([eb('created_at', '<', b.createdAt), eb.and([eb('created_at', '=', b.createdAt), eb('click_id', '<', b.clickId)])]));
  }
  return q.orderBy('created_at', 'desc').orderBy('click_id', 'desc').limit(f.limit).execute();
}

/** Compare-and-set from 'flagged': false when the click was already reviewed (or is unknown). */
export async function setReview(db: Db | Tx, clickId: string, status: Exclude<ClickStatus, 'flagged'>, actor: string, at: number): Promise<boolean> {
  const res = await db.updateTable('flagged_click').set({ status, reviewed_by: actor, reviewed_at: at })
    .where('click_id', '=', clickId).where('status', '=', 'flagged').executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Claims the impression for the click unless another click holds it; returns the holder. */
export async function claimImpressionRow(db: Db | Tx, impressionId: string, clickId: string, at: number, expiresAt: number): Promise<string> {
  const q = db.insertInto('fraud_impression_claim').values({ impression_id: impressionId, click_id: clickId, clicked_at: at, expires_at: expiresAt });
  await (mysqlOf(db) ? q.ignore() : q.orIgnore()).execute();
  const row = await db.selectFrom('fraud_impression_claim').select('click_id').where('impression_id', '=', impressionId).executeTakeFirst();
  return row?.click_id ?? clickId;
}

/** Creates or touches the key rows, which locks them to the end of the transaction (SQLite runs one at a time anyway), in the order given. */
export async function lockVelocityKeys(tx: Tx, keys: readonly { kind: string; key: string }[], at: number): Promise<void> {
  for (const k of keys) {
    const ins = tx.insertInto('fraud_velocity_key').values({ kind: k.kind, key: k.key, latest_at: at });
    if (mysqlOf(tx)) {
      // An upsert takes the row's exclusive lock at once (INSERT IGNORE then FOR UPDATE would upgrade a shared lock: deadlocks).
      await ins.onDuplicateKeyUpdate({ latest_at: sql<number>`greatest(latest_at, ${at})` }).execute();
    } else {
      await ins.onConflict((oc) => oc.columns(['kind', 'key']).doUpdateSet({ latest_at: sql<number>`max(latest_at, excluded.latest_at)` })).execute();
    }
  }
}

/** Adds the click under the key (once) and drops the key's hits older than `pruneBefore`. */
export async function insertHit(tx: Tx, kind: string, key: string, clickId: string, at: number, pruneBefore: number): Promise<void> {
  const q = tx.insertInto('fraud_velocity_hit').values({ kind, key, click_id: clickId, at });
  await (mysqlOf(tx) ? q.ignore() : q.orIgnore()).execute();
  await tx.deleteFrom('fraud_velocity_hit').where('kind', '=', kind).where('key', '=', key).where('at', '<', pruneBefore).execute();
}

/** The key's hits with time in (from, at], newest first, at most `limit` (the caller counts the windows from them). */
export async function countHits(tx: Tx, kind: string, key: string, at: number, minuteFrom: number, hourFrom: number): Promise<{ minute: number; hour: number }> {
  const row = await tx.selectFrom('fraud_velocity_hit')
    .select([
      sql<number>`count(*)`.as('hour'),
      sql<number>`coalesce(sum(case when at > ${minuteFrom} then 1 else 0 end), 0)`.as('minute'),
    ])
    .where('kind', '=', kind).where('key', '=', key).where('at', '>', hourFrom).where('at', '<=', at)
    .executeTakeFirstOrThrow();
  return { minute: Number(row.minute), hour: Number(row.hour) };
}

export async function recentHits(tx: Tx, kind: string, key: string, at: number, limit: number): Promise<number[]> {
  const rows = await tx.selectFrom('fraud_velocity_hit').select('at')
    .where('kind', '=', kind).where('key', '=', key).where('at', '<=', at)
    .orderBy('at', 'desc').limit(limit).execute();
  return rows.map((r) => Number(r.at));
}

/** Clicks per IP with time in [from, to). */
export async function ipCounts(db: Db | Tx, from: number, to: number): Promise<number[]> {
  const rows = await db.selectFrom('fraud_velocity_hit').select(sql<number>`count(*)`.as('n'))
    .where('kind', '=', 'ip').where('at', '>=', from).where('at', '<', to)
    .groupBy('key').execute();
  return rows.map((r) => Number(r.n));
}

export async function pruneFraudState(db: Db | Tx, hitsBefore: number, now: number): Promise<void> {
  await db.deleteFrom('fraud_velocity_hit').where('at', '<', hitsBefore).execute();
  await db.deleteFrom('fraud_velocity_key').where('latest_at', '<', hitsBefore).execute();
  await db.deleteFrom('fraud_impression_claim').where('expires_at', '<', now).execute();
}

/** The recorded event time of an impression (the marketplace's impression table), null when not recorded (yet). */
export async function impressionEventAt(db: Db | Tx, impressionId: string): Promise<number | null> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a contract table, not typed in Database
  const row = await (db as unknown as Kysely<any>).selectFrom('impression').select('event_at')
    .where('id', '=', impressionId).executeTakeFirst() as { event_at: number | string } | undefined;
  return row ? Number(row.event_at) : null;
}
