// The ledger rows behind the finance summary, streamed from the database: a million rows never sit
// in memory. User ids leave through ctx.pseudonymise.
import { TRANSACTION_KINDS } from '../../pipelines/contract/table-specs.js';
import type { ReportColumn, ReportDefinition, ReportRow } from '../report.types.js';
import { batchedRows } from '../row-batches.js';
import { streamLedgerPages, type LedgerFilter, type LedgerRow } from './finance.repository.js';
import { CURRENCY_PARAM, currencyParam, RANGE_PARAMS, rangeOf, stringParam } from './report-range.js';

const STATUSES = ['pending', 'succeeded', 'failed'] as const;

const COLUMNS: readonly ReportColumn[] = [
  { key: 'id', header: 'Transaction', type: 'string' },
  { key: 'time', header: 'Time (UTC)', type: 'datetime' },
  { key: 'kind', header: 'Kind', type: 'string' },
  { key: 'status', header: 'Status', type: 'string' },
  { key: 'amount', header: 'Amount', type: 'money', currencyKey: 'currency', total: true },
  { key: 'currency', header: 'Currency', type: 'string' },
  { key: 'user', header: 'User', type: 'string', description: 'Pseudonymised unless exported by an admin' },
  { key: 'job', header: 'Job', type: 'string' },
  { key: 'hire', header: 'Hire', type: 'string' },
  { key: 'campaign', header: 'Campaign', type: 'string' },
  { key: 'category', header: 'Category', type: 'string', description: "Slug of the job's category" },
];

export const transactionsReport: ReportDefinition = {
  key: 'transactions',
  title: 'Transactions ledger',
  description: 'Every ledger transaction in the range, oldest first: kind, status, amount, user (pseudonymised), job, hire, campaign and category.',
  params: [
    ...RANGE_PARAMS,
    CURRENCY_PARAM,
    { name: 'kind', type: 'enum', values: TRANSACTION_KINDS, description: 'Only this kind of transaction' },
    { name: 'status', type: 'enum', values: STATUSES, description: 'Only this status (default: all)' },
  ],
  async run(ctx, params) {
    const currency = currencyParam(params);
    const kind = stringParam(params, 'kind');
    const status = stringParam(params, 'status');
    const filter: LedgerFilter = { ...rangeOf(params, ctx.now), ...(currency ? { currency } : {}), ...(kind ? { kind } : {}), ...(status ? { status } : {}) };
    const toRow = (r: LedgerRow): ReportRow => ({
      id: r.id, time: Number(r.event_at), kind: r.kind, status: r.status, amount: typeof r.amount_minor === 'string' ? BigInt(r.amount_minor) : r.amount_minor, currency: r.currency,
      user: ctx.pseudonymise(r.user_id), job: r.job_id, hire: r.hire_id, campaign: r.campaign_id, category: r.category,
    });
    return {
      sheets: [{
        name: 'Transactions',
        columns: COLUMNS,
        rows: batchedRows(async function* () {
          for await (const page of streamLedgerPages(ctx.db, filter)) yield page.map(toRow);
        }),
      }],
    };
  },
};
