// The SQL event processing needs beyond source.repository.ts: claiming event ids in
// `event_receipt` (knowing exactly which ones this transaction claimed) and the event-time
// guarded partial update of a provider.
import { sql, type Kysely } from 'kysely';
import { format } from 'mysql2';
import { isMysql, type Db, type Tx } from '../../platform/db/database.js';

// event_receipt and provider are described by the contract migration, not by Kysely interfaces.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export interface Receipt { event_id: string; type: string; event_at: number; ingested_at: number }

/** Another transaction claimed some of these ids after we looked: retry in a new transaction. */
export class ClaimRaceError extends Error {
  constructor() {
    super('event ids were claimed concurrently');
    this.name = 'ClaimRaceError';
  }
}

/**
 * Claims the receipts' event ids for this transaction and returns the ids it claimed (those not
 * claimed before). Where the database can say which rows an INSERT IGNORE inserted (MariaDB and
 * SQLite: `RETURNING` yields only inserted rows), that is one statement. Elsewhere (MySQL has no
 * RETURNING; mysql2 counts a no-op duplicate as affected): read which ids exist, insert the rest,
 * and require every one of them to be inserted. A concurrent claim between the read and the
 * insert shows as a short count and throws ClaimRaceError, so the caller retries in a fresh
 * transaction (a fresh snapshot).
 */
export async function claimEventIds(tx: Tx, receipts: Receipt[]): Promise<Set<string>> {
  if (receipts.length === 0) return new Set();
  const k = untyped(tx);
  // Sorted, so two transactions claiming overlapping ids lock them in the same order.
  const sorted = [...receipts].sort((a, b) => (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
  if (isMysql(k)) {
    if (mysqlReturning !== false) {
      try {
        const res = await sql.raw<{ event_id: string }>(`insert ignore into event_receipt (event_id, type, event_at, ingested_at) values ${
          format('?', [sorted.map((r) => [r.event_id, r.type, r.event_at, r.ingested_at])] as never)} returning event_id`).execute(k);
        mysqlReturning = true;
        return new Set(res.rows.map((r) => r.event_id));
      } catch (err) {
        if ((err as { errno?: unknown }).errno !== 1064 || mysqlReturning === true) throw err;
        mysqlReturning = false; // MySQL proper: no RETURNING (a parse error leaves the transaction intact)
      }
    }
  } else {
    const rows = await k.insertInto('event_receipt').orIgnore().values(sorted).returning('event_id').execute() as { event_id: string }[];
    return new Set(rows.map((r) => r.event_id));
  }
  const existing = await k.selectFrom('event_receipt').select('event_id')
    .where('event_id', 'in', sorted.map((r) => r.event_id)).execute() as { event_id: string }[];
  const taken = new Set(existing.map((r) => r.event_id));
  const fresh = sorted.filter((r) => !taken.has(r.event_id));
  if (fresh.length === 0) return new Set();
  const res = await k.insertInto('event_receipt').ignore().values(fresh).executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0) !== fresh.length) throw new ClaimRaceError();
  return new Set(fresh.map((r) => r.event_id));
}

/** Whether this MySQL-protocol server takes INSERT … RETURNING (MariaDB ≥ 10.5); learnt on first use. */
let mysqlReturning: boolean | undefined;

export type ProfileOutcome = 'applied' | 'stale' | 'unknown_provider';

/** Applies the named fields only if this event is newer than the provider's profile data. */
export async function applyProfileUpdate(
  tx: Tx, providerId: string, eventAt: number, fields: Record<string, unknown>, updatedAt: number,
): Promise<ProfileOutcome> {
  const k = untyped(tx);
  const res = await k.updateTable('provider')
    .set({ ...fields, profile_event_at: eventAt, updated_at: updatedAt })
    .where('id', '=', providerId)
    .where('profile_event_at', '<', eventAt) // an older (or the same) event never overwrites newer data
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) > 0) return 'applied';
  const found = await k.selectFrom('provider').select(sql<number>`1`.as('one')).where('id', '=', providerId).executeTakeFirst();
  return found ? 'stale' : 'unknown_provider';
}
