// XLSX from a report with exceljs's streaming WorkbookWriter: a Summary sheet first (title, time,
// parameters, notes, totals as formulas with their computed results), then one detail sheet per
// report sheet with typed, formatted cells, a bold frozen header and an autofilter.
//
// Memory stays flat because each row is committed at once and row production is gated on the zip
// pipeline: exceljs pushes worksheet XML into archiver's entry stream without honouring
// backpressure, so we wait whenever that entry stream holds more than HIGH_WATER bytes (a slow
// destination backs up into it through the pipes) until it is down to LOW_WATER.
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { CellValue, ReportColumn, ReportOutput, ReportRow, ReportSheet } from '../report.types.js';
import {
  currencyExponent, ExportFormatError, minorToMajor, moneyCurrency, rowCurrency, toMinor, toNumber, toTime,
} from './cell-format.js';
import { abandon, closeIterator, guardStream, type StreamGuard } from './stream-guard.js';
import type { WriteOptions } from './write-options.js';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const GATE_EVERY_ROWS = 128;
/**
 * How often to look at the entry's queue while waiting. Its 'drain' comes only once it is empty,
 * which would idle the compressor while we produce the next batch; polling lets us resume at
 * LOW_WATER. (Never listen for 'data' on it: that switches a not-yet-piped entry to flowing and
 * its bytes are lost.)
 */
const POLL_MS = 2;
const PROGRESS_EVERY = 1000;
/** Rows read before the first is written, to size the columns (widths are written before any row). */
const WIDTH_SAMPLE = 100;
const MAX_WIDTH = 60;
/** Excel rejects longer cell text. */
const MAX_CELL_CHARS = 32_767;
const SUMMARY = 'Summary';

type Style = Partial<ExcelJS.Style>;
type XlsxValue = string | number | Date;

const NUM_FMT: Record<Exclude<ReportColumn['type'], 'string' | 'money'>, string> = {
  integer: '#,##0',
  number: 'General',
  ratio: '0.00%',
  date: 'yyyy-mm-dd',
  datetime: 'yyyy-mm-dd hh:mm:ss',
};
const DEFAULT_WIDTH: Record<ReportColumn['type'], number> = {
  string: 12, integer: 12, number: 14, ratio: 10, money: 16, date: 12, datetime: 20,
};

/** `"USD "#,##0.00`, with as many decimals as the currency has minor digits. */
export function currencyNumFmt(currency: string): string {
  const exp = currencyExponent(currency);
  return `"${currency} "#,##0${exp > 0 ? `.${'0'.repeat(exp)}` : ''}`;
}

/** Excel's rules: ≤ 31 characters, none of []:*?/\, no leading/trailing apostrophe, unique ignoring case. */
export function sheetNames(wanted: readonly string[]): string[] {
  const seen = new Set<string>();
  return wanted.map((raw) => {
    const base = raw.replace(/[[\]:*?/\\]/g, '_').replace(/^'+|'+$/g, '').trim() || 'Sheet';
    let name = base.slice(0, 31);
    for (let i = 2; seen.has(name.toLowerCase()); i++) {
      const suffix = ` (${i})`;
      name = base.slice(0, 31 - suffix.length) + suffix;
    }
    seen.add(name.toLowerCase());
    return name;
  });
}

/** A1 column letters for a 1-based index. */
export function columnLetter(n: number): string {
  let s = '';
  for (let i = n; i > 0; i = Math.floor((i - 1) / 26)) s = String.fromCharCode(65 + ((i - 1) % 26)) + s;
  return s;
}

const sheetRef = (name: string) => `'${name.replace(/'/g, "''")}'`;

/** One column of a detail sheet, planned once: how a value becomes a cell, with which shared style. */
interface ColumnPlan {
  col: ReportColumn;
  letter: string;
  /** Typed cell value, or null for an empty cell. */
  value(v: CellValue, row: ReportRow): XlsxValue | null;
  /** Shared style objects (exceljs caches style ids by object identity). */
  style(row: ReportRow): Style;
  total?: TotalTracker;
}

interface TotalTracker {
  /** Sum per currency ('' when the column has none), in the column's own units (minor for money). */
  sums: Map<string, number>;
  add(v: CellValue, row: ReportRow): void;
}

function planColumn(col: ReportColumn, index: number): ColumnPlan {
  const key = col.key;
  const letter = columnLetter(index + 1);
  let plan: ColumnPlan;
  if (col.type === 'money') {
    const cur = moneyCurrency(col);
    const styles = new Map<string, Style>();
    const styleOf = (currency: string) => {
      let s = styles.get(currency);
      if (!s) styles.set(currency, (s = { numFmt: currencyNumFmt(currency) }));
      return s;
    };
    plan = {
      col, letter,
      value: (v, row) => {
        const minor = typeof v === 'number' ? v : toMinor(v, key);
        if (minor === null || (typeof minor === 'number' && !Number.isFinite(minor))) return null;
        return minorToMajor(minor, currencyExponent(rowCurrency(row, col, cur), key));
      },
      style: (row) => styleOf(rowCurrency(row, col, cur)),
    };
  } else if (col.type === 'string') {
    const style: Style = {};
    plan = {
      col, letter, style: () => style,
      value: (v) => {
        if (v === null) return null;
        const s = typeof v === 'string' ? v : String(v);
        return s.length > MAX_CELL_CHARS ? s.slice(0, MAX_CELL_CHARS) : s;
      },
    };
  } else if (col.type === 'date' || col.type === 'datetime') {
    const style: Style = { numFmt: NUM_FMT[col.type] };
    plan = {
      col, letter, style: () => style,
      value: (v) => {
        const ms = toTime(v, key);
        return ms === null ? null : new Date(ms);
      },
    };
  } else if (col.type === 'integer' || col.type === 'number' || col.type === 'ratio') {
    const style: Style = { numFmt: NUM_FMT[col.type] };
    plan = {
      col, letter, style: () => style,
      value: (v) => (typeof v === 'number' ? (Number.isFinite(v) ? v : null) : toNumber(v, key)),
    };
  } else {
    throw new ExportFormatError(`column "${key}" has unknown type "${String(col.type)}"`, { column: key });
  }
  if (col.total) plan.total = totalTracker(col);
  return plan;
}

function totalTracker(col: ReportColumn): TotalTracker {
  const sums = new Map<string, number>();
  const cur = col.type === 'money' ? moneyCurrency(col) : undefined;
  return {
    sums,
    add(v, row) {
      if (v === null) return;
      const n = cur ? Number(toMinor(v, col.key)) : toNumber(v, col.key);
      if (n === null || !Number.isFinite(n)) return;
      const c = cur ? rowCurrency(row, col, cur) : '';
      sums.set(c, (sums.get(c) ?? 0) + n);
    },
  };
}

function columnWidth(col: ReportColumn, sample: readonly ReportRow[]): number {
  if (col.width) return col.width;
  let w = Math.max(DEFAULT_WIDTH[col.type] ?? 12, col.header.length + 3); // + room for the filter button
  if (col.type === 'string') {
    for (const row of sample) {
      const v = row[col.key];
      if (v !== null && v !== undefined) w = Math.max(w, String(v).length + 2);
    }
  }
  return Math.min(w, MAX_WIDTH);
}

interface SheetResult {
  name: string;
  rows: number;
  plans: ColumnPlan[];
}

interface WriterInternals {
  _worksheets: unknown[];
}
interface EntryStream extends NodeJS.EventEmitter {
  _writableState?: { length: number };
  writableLength?: number;
}
interface SheetInternals {
  stream: { pipes?: EntryStream[] };
}
/** Bytes written into a zip entry and not yet taken by the compressor (readable-stream 2 has no writableLength). */
const queued = (entry: EntryStream) => entry._writableState?.length ?? entry.writableLength ?? 0;

/**
 * Writes `report` as an XLSX workbook to `out` (which exceljs ends). Resolves with the total
 * detail row count once `out` has finished. If `out` closes or errors, or `opts.signal` aborts,
 * it stops reading rows (returning the iterator), destroys `out` and rejects.
 */
export async function writeXlsx(report: ReportOutput, out: Writable, opts: WriteOptions): Promise<{ rows: number }> {
  const guard = guardStream(out, opts.signal);
  const current: { it?: AsyncIterator<ReportRow> } = {};
  let wb: ExcelJS.stream.xlsx.WorkbookWriter | undefined;
  try {
    guard.check();
    const names = sheetNames([SUMMARY, ...report.sheets.map((s) => s.name)]);
    const plans = report.sheets.map((s) => s.columns.map(planColumn)); // bad definitions fail before any byte
    wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
    // The Summary is written last (its totals need the rows) but must be the first sheet:
    // hold worksheet slot 1 so the detail sheets take 2…n, then give slot 1 to the Summary.
    // Adding it first instead would open its zip entry first, and archiver, which writes entries
    // one at a time, would buffer every detail row behind it.
    const internals = wb as unknown as WriterInternals;
    internals._worksheets[1] = { name: SUMMARY, reserved: true };
    let total = 0;
    const results: SheetResult[] = [];
    for (const [i, sheet] of report.sheets.entries()) {
      const res = await writeDetailSheet(wb, sheet, names[i + 1]!, plans[i]!, guard, current, total, opts);
      total += res.rows;
      results.push(res);
    }
    internals._worksheets[1] = undefined;
    writeSummary(wb, report, results, opts);
    out.once('finish', () => guard.finish());
    await Promise.race([wb.commit(), guard.failed]);
    opts.onProgress?.(total);
    return { rows: total };
  } catch (e) {
    await closeIterator(current.it);
    const zip = (wb as unknown as { zip?: { abort(): void; unpipe(): void } } | undefined)?.zip;
    zip?.unpipe();
    zip?.abort();
    abandon(out);
    throw guard.failure ?? e;
  } finally {
    guard.dispose();
  }
}

async function writeDetailSheet(
  wb: ExcelJS.stream.xlsx.WorkbookWriter, sheet: ReportSheet, name: string, plans: ColumnPlan[],
  guard: StreamGuard, current: { it?: AsyncIterator<ReportRow> }, before: number, opts: WriteOptions,
): Promise<SheetResult> {
  const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1, xSplit: 0, topLeftCell: 'A2', activeCell: 'A2' }] });
  // archiver's PassThrough for this sheet's zip entry: where unconsumed XML piles up.
  const entry = (ws as unknown as SheetInternals).stream.pipes?.[0];
  const it = sheet.rows[Symbol.asyncIterator]();
  current.it = it;

  const sample: ReportRow[] = [];
  let done = false;
  while (sample.length < WIDTH_SAMPLE) {
    const next = await it.next();
    guard.check();
    if (next.done) { done = true; break; }
    sample.push(next.value);
  }
  ws.columns = plans.map((p) => ({ key: p.col.key, width: columnWidth(p.col, sample) }));

  const header = ws.getRow(1);
  const bold: Style = { font: { bold: true }, alignment: { vertical: 'middle' } };
  plans.forEach((p, i) => {
    const cell = header.getCell(i + 1);
    cell.value = p.col.header;
    cell.style = bold;
  });
  header.commit();

  const n = plans.length;
  const keys = plans.map((p) => p.col.key);
  let rowNumber = 1;
  let rows = 0;
  const writeRow = (data: ReportRow) => {
    const row = ws.getRow(++rowNumber);
    for (let i = 0; i < n; i++) {
      const v = data[keys[i]!] ?? null;
      const p = plans[i]!;
      if (p.total) p.total.add(v, data);
      if (v === null) continue;
      const value = p.value(v, data);
      if (value === null) continue;
      const cell = row.getCell(i + 1);
      cell.value = value;
      cell.style = p.style(data);
    }
    row.commit();
    if (++rows % PROGRESS_EVERY === 0) opts.onProgress?.(before + rows);
  };
  const gate = async () => {
    if (entry && queued(entry) > HIGH_WATER) {
      await guard.until(entry, ['drain'], () => queued(entry) <= LOW_WATER, POLL_MS);
    }
  };

  for (const data of sample) {
    writeRow(data);
    if (rows % GATE_EVERY_ROWS === 0) await gate();
  }
  sample.length = 0;
  while (!done) {
    const next = await it.next();
    guard.check();
    if (next.done) break;
    writeRow(next.value);
    if (rows % GATE_EVERY_ROWS === 0) await gate();
  }
  current.it = undefined;
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: Math.max(1, rowNumber), column: n } };
  ws.commit();
  // Let this entry reach the zip before the next sheet's entry queues behind it.
  if (entry) await guard.until(entry, ['drain', 'finish'], () => queued(entry) <= LOW_WATER, POLL_MS);
  return { name, rows, plans };
}

function writeSummary(
  wb: ExcelJS.stream.xlsx.WorkbookWriter, report: ReportOutput, sheets: readonly SheetResult[], opts: WriteOptions,
): void {
  const ws = wb.addWorksheet(SUMMARY);
  ws.columns = [{ width: 28 }, { width: 40 }, { width: 12 }, { width: 22 }];
  const bold: Style = { font: { bold: true } };
  let r = 0;
  /** One committed row; `formats[i]` is the number format of cell i (shared style objects). */
  const line = (values: Array<ExcelJS.CellValue>, style?: Style, formats: Array<string | undefined> = []) => {
    const row = ws.getRow(++r);
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      const cell = row.getCell(i + 1);
      cell.value = v;
      const f = formats[i];
      if (style || f) cell.style = f ? formatStyle(f) : style!;
    });
    row.commit();
  };
  line([opts.title], { font: { bold: true, size: 14 } });
  line(['Generated at (UTC)', new Date(opts.generatedAt ?? Date.now())], undefined, [undefined, NUM_FMT.datetime]);

  line([]);
  line(['Parameters'], bold);
  for (const p of opts.params) line([p.name, p.value]);
  const notes = [...(report.notes ?? []), ...(opts.notes ?? [])];
  if (notes.length) {
    line([]);
    line(['Notes'], bold);
    for (const n of notes) line([n]);
  }

  line([]);
  line(['Sheet', 'Rows'], bold);
  for (const s of sheets) line([s.name, s.rows], undefined, [undefined, NUM_FMT.integer]);

  const totals = sheets.flatMap((s) => s.plans.filter((p) => p.total).map((p) => ({ s, p })));
  if (totals.length) {
    line([]);
    line(['Sheet', 'Column', 'Currency', 'Total'], bold);
    for (const { s, p } of totals) {
      for (const t of totalCells(s, p)) {
        line([s.name, p.col.header, t.currency || null, t.value], undefined, [undefined, undefined, undefined, t.numFmt]);
      }
    }
  }
  ws.commit();
}

const formatStyles = new Map<string, Style>();
/** One shared style object per number format, so exceljs registers each once. */
function formatStyle(numFmt: string): Style {
  let s = formatStyles.get(numFmt);
  if (!s) formatStyles.set(numFmt, (s = { numFmt }));
  return s;
}

function totalCells(s: SheetResult, p: ColumnPlan): Array<{ currency: string; value: ExcelJS.CellValue; numFmt: string }> {
  const last = Math.max(2, s.rows + 1);
  const ref = sheetRef(s.name);
  const range = `${ref}!${p.letter}2:${p.letter}${last}`;
  const col = p.col;
  const sums = p.total!.sums;
  if (col.type !== 'money') {
    const numFmt = col.type === 'string' ? 'General' : NUM_FMT[col.type];
    return [{ currency: '', value: { formula: `SUM(${range})`, result: sums.get('') ?? 0 }, numFmt }];
  }
  const major = (currency: string) => minorToMajor(sums.get(currency) ?? 0, currencyExponent(currency, col.key));
  if (col.currency) {
    const value = { formula: `SUM(${range})`, result: major(col.currency) };
    return [{ currency: col.currency, value, numFmt: currencyNumFmt(col.currency) }];
  }
  // One SUMIF per currency seen, over the currency column; a plain number if the sheet does not show it.
  const curPlan = s.plans.find((q) => q.col.key === col.currencyKey);
  return [...sums.keys()].sort().map((currency) => ({
    currency,
    value: curPlan
      ? { formula: `SUMIF(${ref}!${curPlan.letter}2:${curPlan.letter}${last},"${currency}",${range})`, result: major(currency) }
      : major(currency),
    numFmt: currencyNumFmt(currency),
  }));
}
