import type { Kysely } from 'kysely';
import type { Db } from '../../../../../platform/db/database.js';

export const T0 = Date.UTC(2026, 10, 26, 9, 0);
export const DAY = 86_400_000;

let n = 0;

/** A campaign (and its advertiser) with the given budgets; returns its id. */
export async function addCampaign(db: Db, c: {
  daily?: number | null; lifetime?: number | null; status?: string; startsAt?: number; endsAt?: number | null;
} = {}): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const k = db as unknown as Kysely<any>;
  const id = `cmp_t${++n}_${Math.random().toString(36).slice(2, 8)}`;
  await k.insertInto('advertiser').values({ id: `adv_${id}`, name: 'Test advertiser', client_id: null, updated_at: T0 }).execute();
  await k.insertInto('campaign').values({
    id, advertiser_id: `adv_${id}`, name: id, bid_type: 'cpc', bid_minor: 100, currency: 'USD',
    daily_budget_minor: c.daily === undefined ? 5_000 : c.daily, lifetime_budget_minor: c.lifetime ?? null,
    starts_at: c.startsAt ?? T0 - 30 * DAY, ends_at: c.endsAt ?? null, targeting: null, status: c.status ?? 'active', updated_at: T0,
  }).execute();
  return id;
}

export async function ledgerOf(db: Db, campaignId: string): Promise<{ rows: number; sum: number }> {
  const rows = await db.selectFrom('ad_spend_ledger').select('amount_minor').where('campaign_id', '=', campaignId).execute();
  return { rows: rows.length, sum: rows.reduce((s, r) => s + Number(r.amount_minor), 0) };
}
