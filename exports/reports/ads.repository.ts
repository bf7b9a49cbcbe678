// The ads monetisation report's SQL: impressions, clicks, ad charges and flagged clicks in a range,
// each aggregated per group (campaign, advertiser, placement or day) and currency, plus the
// campaigns (budgets, life) and the names of what is grouped. One statement per measure; the
// report merges them by group key.
import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { Db, Dialect } from '../../platform/db/database.js';
import { periodStart } from './finance.repository.js';
import type { Range } from './report-range.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = Kysely<any>;
const untyped = (db: Db) => db as unknown as Untyped;

export type AdsGroupBy = 'campaign' | 'advertiser' | 'placement' | 'day';
/** Flagged clicks without a campaign or click row, and charges not tied to one click (CPM). */
export const UNKNOWN_GROUP = '(unknown)';
export const PER_IMPRESSION_GROUP = '(CPM, not by placement)';
/** ad_charge idempotency keys of click charges are `ad_charge:<click id>` (synthetic seed and ad tracking alike). */
const CLICK_CHARGE_PREFIX_LENGTH = 'ad_charge:'.length;

export interface AdsFilter extends Range {
  campaign?: string;
  advertiser?: string;
}

export interface AdsCounts { key: string; currency: string | null; n: number; units: number }
export interface AdsSpend { key: string; currency: string; spend: number; clickSpend: number; chargedClicks: number }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Query = SelectQueryBuilder<any, any, any>;

function filtered(q: Query, f: AdsFilter): Query {
  if (f.campaign) q = q.where('cmp.id', '=', f.campaign);
  if (f.advertiser) q = q.where('cmp.advertiser_id', '=', f.advertiser);
  return q;
}

/** The group key of a source row as text (a day as its UTC ms). */
function groupKey(dialect: Dialect, groupBy: AdsGroupBy, alias: string, time: string): RawBuilder<string> {
  switch (groupBy) {
    case 'campaign': return sql<string>`${sql.ref(`${alias}.campaign_id`)}`;
    case 'advertiser': return sql<string>`cmp.advertiser_id`;
    case 'placement': return sql<string>`${sql.ref(`${alias}.placement_id`)}`;
    case 'day': return periodStart(dialect, sql.ref(`${alias}.${time}`), 'day') as RawBuilder<unknown> as RawBuilder<string>;
  }
}

/** Impressions and distinct users with impressions per group and campaign currency. */
export async function impressionCounts(db: Db, dialect: Dialect, groupBy: AdsGroupBy, f: AdsFilter): Promise<AdsCounts[]> {
  const key = groupKey(dialect, groupBy, 'i', 'event_at');
  const q = filtered(untyped(db).selectFrom('impression as i').innerJoin('campaign as cmp', 'cmp.id', 'i.campaign_id')
    .select([key.as('k'), 'cmp.currency as currency', sql<number>`count(*)`.as('n'), sql<number>`count(distinct i.user_id)`.as('units')])
    .where('i.event_at', '>=', f.from).where('i.event_at', '<', f.to), f);
  return counts(await q.groupBy([key, 'cmp.currency']).execute());
}

/** Clicks not excluded as fraud (no flagged_click row, or one released by review) per group and currency. */
export async function validClickCounts(db: Db, dialect: Dialect, groupBy: AdsGroupBy, f: AdsFilter): Promise<AdsCounts[]> {
  const key = groupKey(dialect, groupBy, 'ck', 'event_at');
  const q = filtered(untyped(db).selectFrom('click as ck').innerJoin('campaign as cmp', 'cmp.id', 'ck.campaign_id')
    .leftJoin('flagged_click as f', (j) => j.onRef('f.click_id', '=', 'ck.id').on('f.status', '<>', 'released'))
    .select([key.as('k'), 'cmp.currency as currency', sql<number>`count(*)`.as('n'), sql<number>`count(distinct ck.user_id)`.as('units')])
    .where('f.click_id', 'is', null)
    .where('ck.event_at', '>=', f.from).where('ck.event_at', '<', f.to), f);
  return counts(await q.groupBy([key, 'cmp.currency']).execute());
}

/** Flagged clicks not released (excluded as fraud, never charged) per group and campaign currency, by click time. */
export async function excludedClickCounts(db: Db, dialect: Dialect, groupBy: AdsGroupBy, f: AdsFilter): Promise<AdsCounts[]> {
  const unknown = sql.lit(UNKNOWN_GROUP);
  const key = groupBy === 'campaign' ? sql<string>`coalesce(f.campaign_id, ${unknown})`
    : groupBy === 'advertiser' ? sql<string>`coalesce(cmp.advertiser_id, ${unknown})`
      : groupBy === 'placement' ? sql<string>`coalesce(ck.placement_id, ${unknown})`
        : groupKey(dialect, 'day', 'f', 'clicked_at');
  let q: Query = untyped(db).selectFrom('flagged_click as f').leftJoin('campaign as cmp', 'cmp.id', 'f.campaign_id');
  if (groupBy === 'placement') q = q.leftJoin('click as ck', 'ck.id', 'f.click_id');
  q = filtered(q.select([key.as('k'), 'cmp.currency as currency', sql<number>`count(*)`.as('n'), sql<number>`count(distinct f.user_id)`.as('units')])
    .where('f.status', '<>', 'released')
    .where('f.clicked_at', '>=', f.from).where('f.clicked_at', '<', f.to), f);
  return counts(await q.groupBy([key, 'cmp.currency']).execute());
}

/**
 * Succeeded ad charges per group and currency: all of them, those of CPC campaigns (one per
 * charged click) and their count. By placement, a click charge takes its click's placement; a CPM
 * charge bills a thousand impressions of its campaign, not one placement, and is its own group.
 */
export async function adSpend(db: Db, dialect: Dialect, groupBy: AdsGroupBy, f: AdsFilter): Promise<AdsSpend[]> {
  const key = groupBy === 'campaign' ? sql<string>`t.campaign_id`
    : groupBy === 'advertiser' ? sql<string>`cmp.advertiser_id`
      : groupBy === 'placement' ? sql<string>`coalesce(ck.placement_id, ${sql.lit(PER_IMPRESSION_GROUP)})`
        : groupKey(dialect, 'day', 't', 'event_at');
  let q: Query = untyped(db).selectFrom('transaction as t').innerJoin('campaign as cmp', 'cmp.id', 't.campaign_id');
  if (groupBy === 'placement') {
    q = q.leftJoin('click as ck', (j) => j.on(sql<boolean>`ck.id = substr(t.idempotency_key, ${sql.lit(CLICK_CHARGE_PREFIX_LENGTH + 1)})`));
  }
  const cpc = sql`cmp.bid_type = 'cpc'`;
  q = filtered(q.select([
    key.as('k'), 't.currency as currency',
    sql<number>`coalesce(sum(t.amount_minor), 0)`.as('spend'),
    sql<number>`coalesce(sum(case when ${cpc} then t.amount_minor else 0 end), 0)`.as('click_spend'),
    sql<number>`coalesce(sum(case when ${cpc} then 1 else 0 end), 0)`.as('charged_clicks'),
  ])
    .where('t.kind', '=', 'ad_charge').where('t.status', '=', 'succeeded')
    .where('t.event_at', '>=', f.from).where('t.event_at', '<', f.to), f);
  const rows = await q.groupBy([key, 't.currency']).execute();
  return rows.map((r) => ({ key: String(r.k), currency: String(r.currency), spend: Number(r.spend), clickSpend: Number(r.click_spend), chargedClicks: Number(r.charged_clicks) }));
}

/** Distinct users with impressions of CPM campaigns per currency: the audience a CPM charge bills. */
export async function cpmAudience(db: Db, f: AdsFilter): Promise<{ currency: string; units: number }[]> {
  const q = filtered(untyped(db).selectFrom('impression as i').innerJoin('campaign as cmp', 'cmp.id', 'i.campaign_id')
    .select(['cmp.currency as currency', sql<number>`count(distinct i.user_id)`.as('units')])
    .where('cmp.bid_type', '=', 'cpm')
    .where('i.event_at', '>=', f.from).where('i.event_at', '<', f.to), f);
  return (await q.groupBy('cmp.currency').execute()).map((r) => ({ currency: String(r.currency), units: Number(r.units) }));
}

export interface CampaignBudget {
  id: string;
  name: string;
  advertiserId: string;
  currency: string;
  dailyBudgetMinor: number | null;
  lifetimeBudgetMinor: number | null;
  startsAt: number;
  endsAt: number | null;
}

/** The campaigns the filter selects whose life overlaps the range (budgets are judged over that overlap). */
export async function campaignsInRange(db: Db, f: AdsFilter): Promise<CampaignBudget[]> {
  const q = filtered(untyped(db).selectFrom('campaign as cmp')
    .select(['cmp.id', 'cmp.name', 'cmp.advertiser_id', 'cmp.currency', 'cmp.daily_budget_minor', 'cmp.lifetime_budget_minor', 'cmp.starts_at', 'cmp.ends_at'])
    .where('cmp.starts_at', '<', f.to)
    .where((eb) => eb.or([eb('cmp.ends_at', 'is', null), eb('cmp.ends_at', '>', f.from)])), f);
  const rows = await q.orderBy('cmp.id').execute();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    id: String(r.id), name: String(r.name), advertiserId: String(r.advertiser_id), currency: String(r.currency),
    dailyBudgetMinor: num(r.daily_budget_minor), lifetimeBudgetMinor: num(r.lifetime_budget_minor),
    startsAt: Number(r.starts_at), endsAt: num(r.ends_at),
  }));
}

/** Names and advertisers of every campaign, by id. */
export async function campaignLabels(db: Db): Promise<Map<string, { name: string; advertiserId: string }>> {
  const rows = await untyped(db).selectFrom('campaign').select(['id', 'name', 'advertiser_id']).execute();
  return new Map(rows.map((r) => [String(r.id), { name: String(r.name), advertiserId: String(r.advertiser_id) }]));
}

/** Display names by id: advertisers or placements. */
export async function namesOf(db: Db, table: 'advertiser' | 'placement'): Promise<Map<string, string>> {
  const rows = await untyped(db).selectFrom(table).select(['id', 'name']).execute();
  return new Map(rows.map((r) => [String(r.id), String(r.name)]));
}

function counts(rows: Record<string, unknown>[]): AdsCounts[] {
  return rows.map((r) => ({ key: String(r.k), currency: r.currency === null ? null : String(r.currency), n: Number(r.n), units: Number(r.units) }));
}
