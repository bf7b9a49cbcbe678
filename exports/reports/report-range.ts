// What every report shares: the [from, to) range parameters and their default (the 30 whole UTC
// days before today), typed reads of optional parameters, and aggregate rows as an async iterable.
import { ValidationError } from '../../platform/errors/app-error.js';
import type { ReportParam, ReportParams, ReportRow } from '../report.types.js';

export const DAY_MS = 86_400_000;
const DEFAULT_DAYS = 30;

export const RANGE_PARAMS: readonly ReportParam[] = [
  { name: 'from', type: 'date', description: 'Start of the range (UTC, inclusive). Default: 30 days before today.', default: `-${DEFAULT_DAYS}d` },
  { name: 'to', type: 'date', description: 'End of the range (UTC, exclusive). Default: today (midnight UTC), so the last 30 whole days.', default: 'today' },
];

export interface Range { from: number; to: number }

/** The range of a run: given values, else the default relative to `now`. */
export function rangeOf(params: ReportParams, now: number): Range {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const to = typeof params.to === 'number' ? params.to : today;
  const from = typeof params.from === 'number' ? params.from : to - DEFAULT_DAYS * DAY_MS;
  if (!(from < to)) throw new ValidationError('the range is empty: from must be before to', [{ path: 'to', message: 'must be after from' }]);
  return { from, to };
}

/** The currency filter of ledger reports, and its read (codes compared upper-case). */
export const CURRENCY_PARAM: ReportParam = { name: 'currency', type: 'string', description: 'Only this ISO 4217 currency' };
export function currencyParam(params: ReportParams): string | undefined {
  return stringParam(params, CURRENCY_PARAM.name)?.toUpperCase();
}

/** An optional string parameter (absent or empty → undefined). */
export function stringParam(params: ReportParams, name: string): string | undefined {
  const v = params[name];
  return v === undefined || v === '' ? undefined : String(v);
}

/** An optional enum parameter, checked against its values (the service already validated it). */
export function enumParam<T extends string>(params: ReportParams, name: string, values: readonly T[], fallback: T): T {
  const v = params[name];
  if (v === undefined || v === '') return fallback;
  if (!(values as readonly unknown[]).includes(v)) {
    throw new ValidationError(`${name} must be one of ${values.join(', ')}`, [{ path: name, message: `must be one of ${values.join(', ')}` }]);
  }
  return v as T;
}

export function integerParam(params: ReportParams, name: string, fallback: number, min: number, max: number): number {
  const v = params[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`${name} must be an integer from ${min} to ${max}`, [{ path: name, message: `must be an integer from ${min} to ${max}` }]);
  return n;
}

/** Rows already in memory (aggregates) as the async iterable a sheet carries. */
export function rowsOf(rows: readonly ReportRow[]): AsyncIterable<ReportRow> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* rows;
    },
  };
}

/** a / b, or null when b is 0 (no denominator, no ratio: never a made-up 0). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

/** A UTC date as YYYY-MM-DD, for notes. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
