// RFC 4180 CSV from a report sheet: UTF-8 (optional BOM), CRLF, a header row, quoting only where
// needed. Rows are formatted by per-column functions built once and written in ~64 KB chunks; the
// next row is read only after the destination has taken the last chunk (drain).
import type { Writable } from 'node:stream';
import type { CellValue, ReportSheet } from '../report.types.js';
import { csvCellFormatter, neutralise } from './cell-format.js';
import { abandon, closeIterator, endStream, guardStream, yieldTurn } from './stream-guard.js';
import type { WriteOptions } from './write-options.js';

const CHUNK_CHARS = 128 * 1024;
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

/**
 * Writes `sheet` as CSV to `out` and ends it. Resolves with the data row count once `out` has
 * finished. If `out` closes or errors, or `opts.signal` aborts, it stops reading rows (returning
 * the iterator), destroys `out` and rejects.
 */
export async function writeCsv(
  sheet: ReportSheet, out: NodeJS.WritableStream | Writable, opts: WriteOptions,
): Promise<{ rows: number }> {
  const guard = guardStream(out, opts.signal);
  let it: AsyncIterator<Record<string, CellValue>> | undefined;
  try {
    guard.check();
    const keys = sheet.columns.map((c) => c.key);
    const formats = sheet.columns.map(csvCellFormatter);
    // Only text can hold a comma, quote or line break; numbers and dates are written as they come.
    const text = sheet.columns.map((c) => c.type === 'string');
    const n = keys.length;
    let chunk = (opts.bom ? '\uFEFF' : '') + sheet.columns.map((c) => csvField(neutralise(c.header))).join(',') + '\r\n';
    let rows = 0;
    let chunks = 0;

    const flush = async () => {
      guard.check();
      const ok = out.write(chunk);
      chunk = '';
      if (!ok) await guard.drain();
      if (++chunks % YIELD_EVERY_CHUNKS === 0) {
        await yieldTurn();
        guard.check();
      }
    };

    it = sheet.rows[Symbol.asyncIterator]();
    for (;;) {
      const next = await it.next();
      guard.check();
      if (next.done) break;
      const row = next.value;
      let line = '';
      for (let i = 0; i < n; i++) {
        const v = row[keys[i]!] ?? null;
        let cell: string;
        if (v === null) cell = '';
        else if (text[i]) cell = typeof v === 'string' && !NEEDS_WORK.test(v) ? v : csvField(formats[i]!(v, row));
        else cell = formats[i]!(v, row);
        if (i > 0) line += ',';
        line += cell;
      }
      chunk += line;
      chunk += '\r\n';
      rows++;
      if (rows % PROGRESS_EVERY === 0) opts.onProgress?.(rows);
      if (chunk.length >= CHUNK_CHARS) await flush();
    }
    it = undefined; // exhausted: nothing left to return
    if (chunk) await flush();
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
