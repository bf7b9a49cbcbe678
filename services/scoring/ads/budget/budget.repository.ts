// The only file of the budget domain that speaks SQL: the spend ledger, the database spend
// counters and the campaign rows budgets come from.
import { sql, type Kysely } from 'kysely';
import { format } from 'mysql2';
import { isMysql, type Db, type Tx } from '../../../../platform/db/database.js';
import './budget.table.js';

// Source tables (campaign) are described by pipelines/contract/table-specs.ts, not Kysely interfaces.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db | Tx) => db as unknown as Kysely<any>;

export const LIFETIME = 'lifetime';

export interface CampaignBudgetRow {
  id: string;
  currency: string;
  dailyBudgetMinor: number | null;
  lifetimeBudgetMinor: number | null;
  startsAt: number;
  endsAt: number | null;
  status: string;
}

const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function findCampaignBudgets(db: Db, ids: readonly string[]): Promise<CampaignBudgetRow[]> {
  if (ids.length === 0) return [];
  const rows = await untyped(db).selectFrom('campaign')
    .select(['id', 'currency', 'daily_budget_minor', 'lifetime_budget_minor', 'starts_at', 'ends_at', 'status'])
    .where('id', 'in', [...ids]).execute();
  return rows.map((r) => ({
    id: String(r.id), currency: String(r.currency), dailyBudgetMinor: numOrNull(r.daily_budget_minor),
    lifetimeBudgetMinor: numOrNull(r.lifetime_budget_minor), startsAt: num(r.starts_at), endsAt: numOrNull(r.ends_at), status: String(r.status),
  }));
}

export interface LedgerRow { clickId: string; campaignId: string; amountMinor: number; currency: string; day: string; chargedAt: number }

/** Insert the click's ledger row; false when the click is already in the ledger (nothing written). */
export async function insertLedgerRow(db: Db | Tx, row: LedgerRow): Promise<boolean> {
  const values = {
    click_id: row.clickId, campaign_id: row.campaignId, amount_minor: row.amountMinor,
    currency: row.currency, day: row.day, charged_at: row.chargedAt,
  };
  // INSERT IGNORE / ON CONFLICT DO NOTHING: a concurrent duplicate waits on the first one's row lock
  // and is skipped once it commits (or inserted if it rolled back).
  const res = isMysql(untyped(db))
    ? await db.insertInto('ad_spend_ledger').ignore().values(values).executeTakeFirst()
    : await db.insertInto('ad_spend_ledger').values(values).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/**
 * Insert many ledger rows, skipping clicks already in the ledger; returns the clicks it inserted.
 * MariaDB (≥ 10.5) and SQLite say so in one statement (`INSERT IGNORE … RETURNING` yields only the
 * inserted rows). MySQL proper: read which clicks exist, insert the rest; a click inserted by
 * someone else in between is told apart by its values (ours if identical: errs towards charged).
 */
export async function insertLedgerBatch(db: Db, rows: readonly LedgerRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const k = untyped(db);
  // Sorted, so two batches with overlapping clicks lock them in the same order.
  const sorted = [...rows].sort((a, b) => (a.clickId < b.clickId ? -1 : a.clickId > b.clickId ? 1 : 0));
  const cells = (list: readonly LedgerRow[]) => list.map((r) => ({
    click_id: r.clickId, campaign_id: r.campaignId, amount_minor: r.amountMinor, currency: r.currency, day: r.day, charged_at: r.chargedAt,
  }));
  if (!isMysql(k)) {
    const res = await db.insertInto('ad_spend_ledger').values(cells(sorted)).onConflict((oc) => oc.doNothing()).returning('click_id').execute();
    return new Set(res.map((r) => r.click_id));
  }
  if (mysqlReturning !== false) {
    try {
      const res = await sql.raw<{ click_id: string }>(`insert ignore into ad_spend_ledger (click_id, campaign_id, amount_minor, currency, day, charged_at) values ${
        format('?', [sorted.map((r) => [r.clickId, r.campaignId, r.amountMinor, r.currency, r.day, r.chargedAt])] as never)} returning click_id`).execute(k);
      mysqlReturning = true;
      return new Set(res.rows.map((r) => r.click_id));
    } catch (err) {
      if ((err as { errno?: unknown }).errno !== 1064 || mysqlReturning === true) throw err;
      mysqlReturning = false; // MySQL proper: no RETURNING
    }
  }
  const before = await existingLedgerRows(db, sorted.map((r) => r.clickId));
  const fresh = sorted.filter((r) => !before.has(r.clickId));
  if (fresh.length === 0) return new Set();
  const res = await db.insertInto('ad_spend_ledger').ignore().values(cells(fresh)).executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0n) === fresh.length) return new Set(fresh.map((r) => r.clickId));
  const after = await existingLedgerRows(db, fresh.map((r) => r.clickId));
  return new Set(fresh.filter((r) => {
    const held = after.get(r.clickId);
    return held && held.campaignId === r.campaignId && held.amountMinor === r.amountMinor && held.chargedAt === r.chargedAt;
  }).map((r) => r.clickId));
}

/** Whether this MySQL-protocol server takes INSERT … RETURNING (MariaDB ≥ 10.5); learnt on first use. */
let mysqlReturning: boolean | undefined;

export async function existingLedgerRows(db: Db, clickIds: readonly string[]): Promise<Map<string, LedgerRow>> {
  const out = new Map<string, LedgerRow>();
  if (clickIds.length === 0) return out;
  const rows = await db.selectFrom('ad_spend_ledger').selectAll().where('click_id', 'in', [...clickIds]).execute();
  for (const r of rows) {
    out.set(r.click_id, {
      clickId: r.click_id, campaignId: r.campaign_id, amountMinor: Number(r.amount_minor), currency: r.currency, day: r.day, chargedAt: Number(r.charged_at),
    });
  }
  return out;
}

export async function ledgerAmount(db: Db, clickId: string): Promise<number | null> {
  const row = await db.selectFrom('ad_spend_ledger').select('amount_minor').where('click_id', '=', clickId).executeTakeFirst();
  return row ? Number(row.amount_minor) : null;
}

/** Per campaign: what the ledger holds for `day` and over the campaign's life. */
export async function ledgerSums(
  db: Db, campaignIds: readonly string[], day: string, opts: { lifetime?: boolean } = {},
): Promise<Map<string, { day: number; lifetime: number }>> {
  const out = new Map<string, { day: number; lifetime: number }>();
  if (campaignIds.length === 0) return out;
  let q = db.selectFrom('ad_spend_ledger')
    .select((eb) => ['campaign_id',
      sql<number>`coalesce(sum(case when ${eb.ref('day')} = ${day} then ${eb.ref('amount_minor')} else 0 end), 0)`.as('day_sum'),
      sql<number>`coalesce(sum(${eb.ref('amount_minor')}), 0)`.as('life_sum')])
    .where('campaign_id', 'in', [...campaignIds]);
  if (opts.lifetime === false) q = q.where('day', '=', day);
  for (const r of await q.groupBy('campaign_id').execute()) out.set(r.campaign_id, { day: num(r.day_sum), lifetime: num(r.life_sum) });
  return out;
}

/** Every campaign's lifetime spend and its spend on `day`, from the ledger. */
export async function allLedgerSums(db: Db, day: string): Promise<Map<string, { day: number; lifetime: number }>> {
  const rows = await db.selectFrom('ad_spend_ledger')
    .select((eb) => ['campaign_id',
      sql<number>`coalesce(sum(case when ${eb.ref('day')} = ${day} then ${eb.ref('amount_minor')} else 0 end), 0)`.as('day_sum'),
      sql<number>`coalesce(sum(${eb.ref('amount_minor')}), 0)`.as('life_sum')])
    .groupBy('campaign_id').execute();
  return new Map(rows.map((r) => [r.campaign_id, { day: num(r.day_sum), lifetime: num(r.life_sum) }]));
}

/**
 * Make sure the database counters of (campaign, day) and (campaign, lifetime) exist, starting from
 * what the ledger holds (a consistent read: no locks, so it cannot deadlock with charges). A row
 * that exists is left alone: from then on it moves with the ledger in the charge transaction.
 */
export async function ensureCounters(db: Db, campaignId: string, day: string): Promise<void> {
  const sums = (await ledgerSums(db, [campaignId], day)).get(campaignId) ?? { day: 0, lifetime: 0 };
  const values = [
    { campaign_id: campaignId, period: day, spent_minor: sums.day },
    { campaign_id: campaignId, period: LIFETIME, spent_minor: sums.lifetime },
  ];
  if (isMysql(untyped(db))) await db.insertInto('ad_spend_counter').ignore().values(values).execute();
  else await db.insertInto('ad_spend_counter').values(values).onConflict((oc) => oc.doNothing()).execute();
}

/**
 * Compare-and-increment one counter: adds `amount` only when the result stays within `budget`
 * (null: no budget). False when the budget refuses it or the row is missing. The row lock it takes
 * serialises concurrent charges of one campaign on MySQL; SQLite serialises all writers.
 */
export async function reserveCounter(
  tx: Tx, campaignId: string, period: string, amount: number, budget: number | null,
): Promise<boolean> {
  let q = tx.updateTable('ad_spend_counter')
    .set((eb) => ({ spent_minor: eb('spent_minor', '+', amount) }))
    .where('campaign_id', '=', campaignId).where('period', '=', period);
  if (budget !== null) q = q.where(sql<boolean>`spent_minor + ${amount} <= ${budget}`);
  const res = await q.executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function counterExists(db: Db | Tx, campaignId: string, period: string): Promise<boolean> {
  return (await db.selectFrom('ad_spend_counter').select('period')
    .where('campaign_id', '=', campaignId).where('period', '=', period).executeTakeFirst()) !== undefined;
}

/** Spend on `day` and over the lifetime per campaign, from the database counters (absent: 0). */
export async function readCounters(db: Db, campaignIds: readonly string[], day: string): Promise<Map<string, { day: number; lifetime: number }>> {
  const out = new Map<string, { day: number; lifetime: number }>();
  if (campaignIds.length === 0) return out;
  const rows = await db.selectFrom('ad_spend_counter').select(['campaign_id', 'period', 'spent_minor'])
    .where('campaign_id', 'in', [...campaignIds]).where('period', 'in', [day, LIFETIME]).execute();
  for (const r of rows) {
    const cur = out.get(r.campaign_id) ?? { day: 0, lifetime: 0 };
    if (r.period === LIFETIME) cur.lifetime = num(r.spent_minor);
    else cur.day = num(r.spent_minor);
    out.set(r.campaign_id, cur);
  }
  return out;
}

/** Replace every database counter with what the ledger says (one transaction). */
export async function rebuildCounters(db: Db): Promise<number> {
  return db.transaction().execute(async (tx) => {
    await tx.deleteFrom('ad_spend_counter').execute();
    await sql`insert into ad_spend_counter (campaign_id, period, spent_minor)
      select campaign_id, day, sum(amount_minor) from ad_spend_ledger group by campaign_id, day`.execute(tx);
    const res = await sql`insert into ad_spend_counter (campaign_id, period, spent_minor)
      select campaign_id, ${LIFETIME}, sum(amount_minor) from ad_spend_ledger group by campaign_id`.execute(tx);
    return Number(res.numAffectedRows ?? 0n);
  });
}

export interface CampaignRow extends CampaignBudgetRow { name: string; advertiserId: string; bidType: string; bidMinor: number }

/** Campaigns for the operator's overview: active first, then by id. */
export async function listCampaignRows(db: Db, limit: number): Promise<CampaignRow[]> {
  const rows = await untyped(db).selectFrom('campaign')
    .select(['id', 'name', 'advertiser_id', 'bid_type', 'bid_minor', 'currency', 'daily_budget_minor', 'lifetime_budget_minor', 'starts_at', 'ends_at', 'status'])
    .orderBy(sql`case when status = 'active' then 0 else 1 end`).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    id: String(r.id), name: String(r.name), advertiserId: String(r.advertiser_id), bidType: String(r.bid_type), bidMinor: num(r.bid_minor),
    currency: String(r.currency), dailyBudgetMinor: numOrNull(r.daily_budget_minor), lifetimeBudgetMinor: numOrNull(r.lifetime_budget_minor),
    startsAt: num(r.starts_at), endsAt: numOrNull(r.ends_at), status: String(r.status),
  }));
}

/** Ledger spend of `day` per campaign and slot (slot = whole slotMs since dayStart). */
export async function spendBySlot(
  db: Db, campaignIds: readonly string[], day: string, dayStart: number, slotMs: number,
): Promise<{ campaignId: string; slot: number; amountMinor: number }[]> {
  if (campaignIds.length === 0) return [];
  // Integer division on both dialects; literals (two integers) so the grouped expression is the selected one.
  const [from, width] = [sql.lit(Math.trunc(dayStart)), sql.lit(Math.trunc(slotMs))];
  const slot = isMysql(untyped(db)) ? sql<number>`(charged_at - ${from}) div ${width}` : sql<number>`(charged_at - ${from}) / ${width}`;
  const rows = await db.selectFrom('ad_spend_ledger')
    .select(['campaign_id', slot.as('slot'), sql<number>`sum(amount_minor)`.as('amount')])
    .where('day', '=', day).where('campaign_id', 'in', [...campaignIds])
    .groupBy(['campaign_id', slot]).execute();
  return rows.map((r) => ({ campaignId: r.campaign_id, slot: num(r.slot), amountMinor: num(r.amount) }));
}
