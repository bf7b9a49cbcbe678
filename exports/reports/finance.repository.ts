// The finance reports' SQL: the ledger (table `transaction`) aggregated per period, job category and
// currency, and streamed row by row for the detail export. Only succeeded transactions count in the
// summary; the ledger export shows every status unless filtered. The marketplace's source tables
// are not Kysely interfaces, so these speak to an untyped view of the connection.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Db, Dialect } from '../../platform/db/database.js';
import type { Range } from './report-range.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const untyped = (db: Db) => db as unknown as Kysely<any>;

export type Grain = 'day' | 'week' | 'month';
export const NO_CATEGORY = '(none)';

/**
 * The UTC start (ms) of the period holding a BIGINT ms column: day and week by integer arithmetic
 * (weeks start on Monday as ISO weeks do: 1970-01-01 was a Thursday, hence the 3-day shift),
 * months by the calendar (SQLite's 'start of month'; on MySQL a DATETIME built from the epoch, so
 * the session time zone never enters).
 */
export function periodStart(dialect: Dialect, column: RawBuilder<unknown>, grain: Grain): RawBuilder<number> {
  const div = (a: RawBuilder<unknown>, b: number) => (dialect === 'mysql' ? sql`(${a} div ${sql.lit(b)})` : sql`(${a} / ${sql.lit(b)})`);
  const day = div(column, 86_400_000);
  switch (grain) {
    case 'day':
      return sql<number>`(${day} * 86400000)`;
    case 'week':
      return sql<number>`((${div(sql`(${day} + 3)`, 7)} * 7 - 3) * 86400000)`;
    case 'month':
      return dialect === 'mysql'
        ? sql<number>`(timestampdiff(second, '1970-01-01', date_format('1970-01-01' + interval ${div(column, 1000)} second, '%Y-%m-01')) * 1000)`
        : sql<number>`(cast(strftime('%s', ${div(column, 1000)}, 'unixepoch', 'start of month') as integer) * 1000)`;
  }
}

export interface FinanceFilter extends Range {
  currency?: string;
  /** A category slug or id, or NO_CATEGORY for transactions without a job category. */
  category?: string;
}

export interface FinanceSummaryRow {
  period: number;
  category: string;
  currency: string;
  gmv: number;
  escrowDeposits: number;
  escrowReleases: number;
  refunds: number;
  walletTopups: number;
  payouts: number;
  platformFees: number;
  adCharges: number;
  transactions: number;
  units: number;
}

const sumKind = (kind: string, extra?: RawBuilder<unknown>) =>
  sql<number>`coalesce(sum(case when t.kind = ${kind}${extra ? sql` and ${extra}` : sql``} then t.amount_minor else 0 end), 0)`;

/** Succeeded transactions per (period, category, currency), one statement, ordered by period, category, currency. */
export async function financeSummary(db: Db, dialect: Dialect, grain: Grain, f: FinanceFilter): Promise<FinanceSummaryRow[]> {
  const period = periodStart(dialect, sql.ref('t.event_at'), grain);
  // Literals, not parameters: MySQL must see the grouped expressions equal to the selected ones.
  const category = sql<string>`coalesce(c.slug, ${sql.lit(NO_CATEGORY)})`;
  let q = untyped(db).selectFrom('transaction as t')
    .leftJoin('job as j', 'j.id', 't.job_id')
    .leftJoin('category as c', 'c.id', 'j.category_id')
    .select([
      period.as('period'), category.as('category'), 't.currency as currency',
      sumKind('escrow_deposit', sql`t.hire_id is not null`).as('gmv'),
      sumKind('escrow_deposit').as('escrow_deposits'),
      sumKind('escrow_release').as('escrow_releases'),
      sumKind('refund').as('refunds'),
      sumKind('wallet_topup').as('wallet_topups'),
      sumKind('payout').as('payouts'),
      sumKind('platform_fee').as('platform_fees'),
      sumKind('ad_charge').as('ad_charges'),
      sql<number>`count(*)`.as('transactions'),
      sql<number>`count(distinct t.user_id)`.as('units'),
    ])
    .where('t.status', '=', 'succeeded')
    .where('t.event_at', '>=', f.from).where('t.event_at', '<', f.to);
  if (f.currency) q = q.where('t.currency', '=', f.currency);
  if (f.category === NO_CATEGORY) q = q.where('c.id', 'is', null);
  else if (f.category) q = q.where((eb) => eb.or([eb('c.slug', '=', f.category), eb('c.id', '=', f.category)]));
  const rows = await q.groupBy([period, category, 't.currency']).orderBy('period').orderBy('category').orderBy('currency').execute();
  return rows.map((r) => ({
    period: Number(r.period), category: String(r.category), currency: String(r.currency),
    gmv: Number(r.gmv), escrowDeposits: Number(r.escrow_deposits), escrowReleases: Number(r.escrow_releases), refunds: Number(r.refunds),
    walletTopups: Number(r.wallet_topups), payouts: Number(r.payouts), platformFees: Number(r.platform_fees), adCharges: Number(r.ad_charges),
    transactions: Number(r.transactions), units: Number(r.units),
  }));
}

export interface LedgerFilter extends Range {
  currency?: string;
  kind?: string;
  status?: string;
}

export interface LedgerRow {
  id: string;
  event_at: number | string;
  kind: string;
  status: string;
  amount_minor: number | string;
  currency: string;
  user_id: string;
  job_id: string | null;
  hire_id: string | null;
  campaign_id: string | null;
  category: string | null;
}

/**
 * The ledger rows in [from, to), oldest first, in keyset pages of `pageSize` along the
 * (event_at, id) order of the time index: the first page arrives at once however long the range
 * (a cursor over the whole range makes MySQL sort it all before the first row), memory stays flat,
 * and no connection is held between pages (SQLite has only one). The next page is asked for as soon
 * as a page arrives, so the database reads it while the caller formats this one (on two cores that
 * halves a large export's time). Rows written meanwhile may be included if they sort after the page
 * being read: the ledger is append-only, in time order.
 */
export async function* streamLedgerPages(db: Db, f: LedgerFilter, pageSize = 5000): AsyncGenerator<LedgerRow[]> {
  const fetchPage = (after: { at: number; id: string } | null, limit: number): Promise<LedgerRow[]> => {
    let q = untyped(db).selectFrom('transaction as t')
      .leftJoin('job as j', 'j.id', 't.job_id')
      .leftJoin('category as c', 'c.id', 'j.category_id')
      .select(['t.id', 't.event_at', 't.kind', 't.status', 't.amount_minor', 't.currency', 't.user_id', 't.job_id', 't.hire_id', 't.campaign_id', 'c.slug as category'])
      .where('t.event_at', '>=', f.from).where('t.event_at', '<', f.to);
    if (f.currency) q = q.where('t.currency', '=', f.currency);
    if (f.kind) q = q.where('t.kind', '=', f.kind);
    if (f.status) q = q.where('t.status', '=', f.status);
    if (after) q = q.where((eb) => eb.or([eb('t.event_at', '>', after.at), eb.and([eb('t.event_at', '=', after.at), eb('t.id', '>', after.id)])]));
    return q.orderBy('t.event_at').orderBy('t.id').limit(limit).execute() as Promise<LedgerRow[]>;
  };
  // A small first page: the first byte of a download waits for it.
  let limit = Math.min(500, pageSize);
  let pending: Promise<LedgerRow[]> | null = fetchPage(null, limit);
  while (pending) {
    const page: LedgerRow[] = await pending;
    pending = null;
    if (page.length === limit) {
      const last = page[page.length - 1]!;
      limit = pageSize;
      pending = fetchPage({ at: Number(last.event_at), id: last.id }, limit);
      // If the caller stops early the read ahead is simply dropped; its failure is seen when awaited.
      pending.catch(() => undefined);
    }
    if (page.length > 0) yield page;
  }
}
