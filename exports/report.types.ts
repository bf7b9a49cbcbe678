// The contract between report definitions (what to query, which columns) and the writers (how a
// row becomes a CSV line or an XLSX cell). Reports produce plain typed values; writers own every
// formatting decision, so one report serves both formats identically.
import type { Db, Dialect } from '../platform/db/database.js';

/**
 * How a column's values are typed, in rows and in files:
 * - `string`: text (CSV-neutralised against formula injection, XLSX text cell)
 * - `integer` / `number`: JS numbers (`integer` gets a `0` number format in XLSX)
 * - `ratio`: a number where 0.25 means 25% (CSV prints 0.25, XLSX shows 25.00%)
 * - `money`: integer minor units (number or bigint); the currency comes from `currencyKey`
 *   (another column of the row) or `currency` (fixed); CSV prints a decimal string ("12.50"),
 *   XLSX a number in major units with that currency's number format
 * - `date`: UTC milliseconds, printed as YYYY-MM-DD (XLSX date cell)
 * - `datetime`: UTC milliseconds, printed as ISO 8601 with Z (XLSX date-time cell)
 */
export type ColumnType = 'string' | 'integer' | 'number' | 'ratio' | 'money' | 'date' | 'datetime';

export type CellValue = string | number | bigint | null;
export type ReportRow = Record<string, CellValue>;

export interface ReportColumn {
  key: string;
  header: string;
  type: ColumnType;
  /** money: the row key that holds the ISO 4217 code. */
  currencyKey?: string;
  /** money: a fixed ISO 4217 code when the column has one currency. */
  currency?: string;
  /** Summed on the XLSX Summary sheet (as formulas over the detail sheet; per currency for money). */
  total?: boolean;
  /** Characters; writers pick a sensible default from the type and header when absent. */
  width?: number;
  description?: string;
}

export interface ReportSheet {
  /** Sheet name (≤ 31 characters, no []:*?/\). The first sheet is the one a CSV export writes. */
  name: string;
  columns: readonly ReportColumn[];
  rows: AsyncIterable<ReportRow>;
  /**
   * Aggregate sheets: the column that counts distinct units (users, clients…) behind each row.
   * Rows below the privacy threshold k are suppressed before any writer sees them.
   */
  unitsKey?: string;
}

export type ParamType = 'date' | 'string' | 'enum' | 'integer' | 'boolean';

export interface ReportParam {
  name: string;
  type: ParamType;
  description: string;
  required?: boolean;
  /** enum: the allowed values. */
  values?: readonly string[];
  /** As a string, the way it arrives in a query string or on a command line. */
  default?: string;
}

export type ParamValue = string | number | boolean;
export type ReportParams = Record<string, ParamValue | undefined>;

export interface ReportContext {
  db: Db;
  /** Day/week/month bucketing differs between MySQL and SQLite. */
  dialect: Dialect;
  /** Keyed HMAC of a user id (stable per key), or the id itself for admin callers. */
  pseudonymise(userId: string): string;
  /** UTC ms: "now" for relative defaults. */
  now: number;
}

export interface ReportOutput {
  /** Detail sheets, in order; the first one is the CSV. */
  sheets: ReportSheet[];
  /** Shown on the XLSX Summary sheet under the parameters (e.g. "experiment analysed at"). */
  notes?: string[];
}

export interface ReportDefinition {
  key: string;
  title: string;
  description: string;
  params: readonly ReportParam[];
  /** Fairness reports only: sensitive attributes may appear as group labels, nowhere else. */
  showsSensitiveGroups?: boolean;
  /** Params arrive validated and typed (dates as UTC ms, integers as numbers, booleans). */
  run(ctx: ReportContext, params: ReportParams): Promise<ReportOutput>;
}
