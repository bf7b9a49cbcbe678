// Money through escrow and platform revenue per period, job category and currency, from the
// succeeded transactions of the ledger. Amounts are never added across currencies.
import type { ReportColumn, ReportDefinition } from '../report.types.js';
import { financeSummary, NO_CATEGORY, type Grain } from './finance.repository.js';
import { CURRENCY_PARAM, currencyParam, enumParam, RANGE_PARAMS, rangeOf, ratio, rowsOf, stringParam } from './report-range.js';

const GRAINS: readonly Grain[] = ['day', 'week', 'month'];

const money = (key: string, header: string, description: string): ReportColumn =>
  ({ key, header, type: 'money', currencyKey: 'currency', total: true, description });

const COLUMNS: readonly ReportColumn[] = [
  { key: 'period', header: 'Period start', type: 'date', description: 'UTC start of the day, ISO week (Monday) or month' },
  { key: 'category', header: 'Category', type: 'string', description: `Slug of the job's category; ${NO_CATEGORY} for transactions without a job (ad charges, wallet movements)` },
  { key: 'currency', header: 'Currency', type: 'string' },
  money('gmv', 'Gross merchandise value', 'Escrow deposited for hires (escrow_deposit with a hire)'),
  money('escrow_deposits', 'Escrow deposits', 'All escrow_deposit transactions'),
  money('escrow_releases', 'Escrow releases', 'Paid out of escrow to providers, net of the platform fee (escrow_release)'),
  money('refunds', 'Refunds', 'Returned from escrow to clients (refund)'),
  money('escrow_balance', 'Escrow balance (net change)', 'Deposits − releases − refunds − platform fees: what the period left held in escrow'),
  money('wallet_topups', 'Wallet top-ups', 'wallet_topup'),
  money('payouts', 'Payouts', 'payout'),
  money('platform_fees', 'Platform fees', 'platform_fee (taken out of escrow on release)'),
  money('ad_charges', 'Ad charges', 'ad_charge: ad revenue'),
  { key: 'take_rate', header: 'Take rate', type: 'ratio', description: 'Platform fees / GMV; empty without GMV' },
  { key: 'transactions', header: 'Transactions', type: 'integer', total: true },
  { key: 'units', header: 'Users', type: 'integer', description: 'Distinct users (payers or payees) behind the row' },
];

export const financeSummaryReport: ReportDefinition = {
  key: 'finance-summary',
  title: 'Finance summary',
  description: 'Gross merchandise value, escrow movements, wallet top-ups, payouts, platform fees, ad charges and take rate per period, category and currency (succeeded transactions only).',
  params: [
    ...RANGE_PARAMS,
    { name: 'grain', type: 'enum', values: GRAINS, default: 'day', description: 'Period length: day, week (ISO, from Monday) or month (UTC)' },
    CURRENCY_PARAM,
    { name: 'category', type: 'string', description: `Only this job category (slug or id; ${NO_CATEGORY} for transactions without one)` },
  ],
  async run(ctx, params) {
    const range = rangeOf(params, ctx.now);
    const grain = enumParam(params, 'grain', GRAINS, 'day');
    const currency = currencyParam(params);
    const category = stringParam(params, 'category');
    const rows = await financeSummary(ctx.db, ctx.dialect, grain, { ...range, ...(currency ? { currency } : {}), ...(category ? { category } : {}) });
    return {
      sheets: [{
        name: 'Finance summary',
        columns: COLUMNS,
        unitsKey: 'units',
        rows: rowsOf(rows.map((r) => ({
          period: r.period, category: r.category, currency: r.currency,
          gmv: r.gmv, escrow_deposits: r.escrowDeposits, escrow_releases: r.escrowReleases, refunds: r.refunds,
          escrow_balance: r.escrowDeposits - r.escrowReleases - r.refunds - r.platformFees,
          wallet_topups: r.walletTopups, payouts: r.payouts, platform_fees: r.platformFees, ad_charges: r.adCharges,
          take_rate: ratio(r.platformFees, r.gmv), transactions: r.transactions, units: r.units,
        }))),
      }],
      notes: [
        'Succeeded transactions only (pending and failed ones are in the transactions export).',
        'Escrow balance is the net change over the period: deposits − releases − refunds − platform fees (a release pays the provider net of the fee, which leaves escrow as platform revenue).',
      ],
    };
  },
};
