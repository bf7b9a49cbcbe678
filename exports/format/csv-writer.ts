// RFC 4180 CSV from a report sheet: UTF-8 (optional BOM), CRLF, a header row, quoting only where
// needed. Each sheet gets one row function compiled for its columns; lines are encoded into ~128 KB
// buffers, and the next row is read only after the destination has taken the last chunk (drain).
import type { Writable } from 'node:stream';
import type { CellValue, ReportColumn, ReportSheet } from '../report.types.js';
import { csvCellFormatter, isoDate, isoDateTime, knownCurrencyExponent, minorToDecimal, neutralise, plainNumber } from './cell-format.js';
import { batchesOf } from '../row-batches.js';
import { abandon, closeIterator, endStream, guardStream, yieldTurn } from './stream-guard.js';
import type { WriteOptions } from './write-options.js';

const CHUNK_BYTES = 128 * 1024;
const PROGRESS_EVERY = 1000;
/** Fast sinks never ask for drain; give the event loop a turn this often anyway. */
const YIELD_EVERY_CHUNKS = 4;

const NEEDS_QUOTES = /[",\r\n]/;
/** Text that needs neither quoting nor neutralising (one regex test per text cell instead of two). */
const NEEDS_WORK = /[",\r\n]|^[=+\-@\t]/;
const QUOTES = /"/g;

/** One field, quoted (quotes doubled) only when it holds a comma, quote, CR or LF. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(QUOTES, '""')}"` : text;
}

type Row = Record<string, CellValue>;

/**
 * One function that turns a row into its CSV line (with CRLF), generated for the sheet's columns
 * the way fast-json-stringify compiles a schema: each cell is a property read with a constant key
 * and its column's common case inline (text needing no quotes, a JS number, a known currency, a
 * date in ms), so the engine sees one shape per site instead of a loop over keys, which measured
 * ~25% of the writer's time. Anything else goes through the column's general formatter
 * (cell-format.ts), which is the reference behaviour and raises the errors. Keys enter the source
 * only through JSON.stringify, and they come from report definitions, never from a request.
 */
export function compileCsvRow(columns: readonly ReportColumn[]): (row: Row) => string {
  const formats = columns.map(csvCellFormatter);
  const exponents = columns.map((c) => (c.type === 'money' && c.currency && !c.currencyKey ? knownCurrencyExponent(c.currency) : undefined));
  const src = ['"use strict";', 'return function csvRow(row) {', 'let v, c, e;'];
  const cells: string[] = [];
  columns.forEach((col, i) => {
    const general = `f[${i}](v, row)`;
    let fast: string;
    switch (col.type) {
      case 'string': fast = `typeof v === "string" && !W.test(v) ? v : q(${general})`; break;
      case 'integer': case 'number': case 'ratio': fast = `typeof v === "number" ? num(v) : ${general}`; break;
      case 'date': fast = `typeof v === "number" && Number.isFinite(v) ? day(v) : ${general}`; break;
      case 'datetime': fast = `typeof v === "number" && Number.isFinite(v) ? time(v) : ${general}`; break;
      case 'money':
        fast = exponents[i] !== undefined
          ? `typeof v === "number" && Number.isSafeInteger(v) ? dec(v, ${exponents[i]}) : ${general}`
          : `typeof v === "number" && Number.isSafeInteger(v) && typeof (c = row[${JSON.stringify(col.currencyKey ?? '')}]) === "string" && (e = exp(c)) !== undefined ? dec(v, e) : ${general}`;
        break;
      default: fast = general; // csvCellFormatter has already refused unknown types
    }
    src.push(`v = row[${JSON.stringify(col.key)}]; const c${i} = v == null ? "" : ${fast};`);
    cells.push(`c${i}`);
  });
  src.push(`return ${cells.length ? cells.join(' + "," + ') + ' + ' : ''}"\\r\\n";`, '};');
  const make = new Function('W', 'q', 'f', 'num', 'day', 'time', 'dec', 'exp', src.join('\n')) as (...deps: unknown[]) => (row: Row) => string;
  return make(NEEDS_WORK, csvField, formats, plainNumber, isoDate, isoDateTime, minorToDecimal, knownCurrencyExponent);
}

/**
 * Writes `sheet` as CSV to `out` and ends it. Resolves with the data row count once `out` has
 * finished. If `out` closes or errors, or `opts.signal` aborts, it stops reading rows (returning
 * the iterator), destroys `out` and rejects.
 */
export async function writeCsv(
  sheet: ReportSheet, out: NodeJS.WritableStream | Writable, opts: WriteOptions,
): Promise<{ rows: number }> {
  const guard = guardStream(out, opts.signal);
  let it: AsyncIterator<readonly Row[]> | undefined;
  try {
    guard.check();
    const line = compileCsvRow(sheet.columns);
    const head = (opts.bom ? '\uFEFF' : '') + sheet.columns.map((c) => csvField(neutralise(c.header))).join(',') + '\r\n';
    let buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let used = 0;
    let rows = 0;
    let chunks = 0;

    const send = async (data: Buffer | string) => {
      guard.check();
      if (!out.write(data)) await guard.drain();
      if (++chunks % YIELD_EVERY_CHUNKS === 0) {
        await yieldTurn();
        guard.check();
      }
    };
    const flush = async () => {
      if (used === 0) return;
      const full = buf.subarray(0, used);
      buf = Buffer.allocUnsafe(CHUNK_BYTES); // the destination keeps `full` until it has written it
      used = 0;
      await send(full);
    };
    /** Appends encoded text; a line too long for any chunk goes out on its own. */
    const append = async (text: string) => {
      // UTF-8 takes at most 3 bytes per UTF-16 unit, so this never encodes a line in part.
      if (text.length * 3 > CHUNK_BYTES - used) {
        await flush();
        if (text.length * 3 > CHUNK_BYTES) return send(text);
      }
      used += buf.write(text, used);
    };

    await append(head);
    it = batchesOf(sheet.rows);
    for (;;) {
      const next = await it.next();
      guard.check();
      if (next.done) break;
      for (const row of next.value) {
        const text = line(row);
        if (text.length * 3 <= CHUNK_BYTES - used) used += buf.write(text, used);
        else await append(text);
        rows++;
        if (rows % PROGRESS_EVERY === 0) opts.onProgress?.(rows);
      }
      // The first batch goes out at once: a download's first byte should not wait for a full chunk.
      if (chunks === 0) await flush();
    }
    it = undefined; // exhausted: nothing left to return
    await flush();
    await endStream(out, guard);
    opts.onProgress?.(rows);
    return { rows };
  } catch (e) {
    await closeIterator(it);
    abandon(out);
    throw guard.failure ?? e;
  } finally {
    guard.dispose();
  }
}
