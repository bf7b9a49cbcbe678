// The rows both export benchmarks write, from one formula the Python peer repeats exactly
// (bench/peers/openpyxl-write.py): 12 columns — 3 strings, 2 integers, 3 money, 1 ratio, 2 dates, 1 number.
import type { ReportColumn, ReportRow } from '../exports/report.types.js';

export const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const CURRENCIES = ['USD', 'EUR', 'JPY'] as const;

export const benchColumns: ReportColumn[] = [
  { key: 'provider', header: 'Provider', type: 'string' },
  { key: 'category', header: 'Category', type: 'string' },
  { key: 'currency', header: 'Currency', type: 'string' },
  { key: 'jobs', header: 'Jobs', type: 'integer', total: true },
  { key: 'hires', header: 'Hires', type: 'integer', total: true },
  { key: 'gmv', header: 'GMV', type: 'money', currencyKey: 'currency', total: true },
  { key: 'fees', header: 'Platform fees', type: 'money', currencyKey: 'currency', total: true },
  { key: 'refunds', header: 'Refunds', type: 'money', currencyKey: 'currency', total: true },
  { key: 'takeRate', header: 'Take rate', type: 'ratio' },
  { key: 'day', header: 'Day', type: 'date' },
  { key: 'createdAt', header: 'Created at', type: 'datetime' },
  { key: 'score', header: 'Score', type: 'number' },
];

export function benchRow(i: number): ReportRow {
  return {
    provider: `provider_${i % 50_000}`,
    category: `category_${i % 37}`,
    currency: CURRENCIES[i % 3]!,
    jobs: i,
    hires: (i * 7919) % 100_000,
    gmv: ((i * 104_729) % 10_000_000) - 1_000_000,
    fees: (i * 31) % 500_000,
    refunds: -((i * 17) % 90_000),
    takeRate: (i % 1000) / 1000,
    day: T0 + (i % 365) * DAY,
    createdAt: T0 + i * 37_000,
    score: (i % 10_007) / 7,
  };
}

export async function* benchRows(n: number): AsyncGenerator<ReportRow> {
  for (let i = 0; i < n; i++) yield benchRow(i);
}

/** Peak resident set of this process so far (Linux VmHWM), in MB. */
export async function peakRssMb(): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
