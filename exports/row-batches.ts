// Rows that can also be read a page at a time. A large report reads its rows from the database in
// pages; handing them on one by one costs an await (several promises, each seen by the async
// hooks the correlation ids use) per row, which was about a third of a 1M-row CSV download's CPU.
// A sheet's `rows` may carry [ROW_BATCHES]: the CSV writer takes those; everything else, and any
// plain AsyncIterable of rows, is read row by row as before.
import type { ReportRow } from './report.types.js';

export const ROW_BATCHES: unique symbol = Symbol('gigintel.rowBatches');

export interface BatchedRows extends AsyncIterable<ReportRow> {
  [ROW_BATCHES](): AsyncIterator<readonly ReportRow[]>;
}

/**
 * Rows served from `batches` (called once per reading). Reading them row by row returns the batch
 * iterator when stopped, even before the first row (a generator's `return()` would skip that).
 */
export function batchedRows(batches: () => AsyncIterator<readonly ReportRow[]>): BatchedRows {
  return {
    [ROW_BATCHES]: batches,
    [Symbol.asyncIterator]() {
      const source = batches();
      let page: readonly ReportRow[] = [];
      let i = 0;
      const rows: AsyncIterableIterator<ReportRow> = {
        async next() {
          while (i >= page.length) {
            const n = await source.next();
            if (n.done) return { done: true, value: undefined };
            page = n.value;
            i = 0;
          }
          return { done: false, value: page[i++]! };
        },
        async return() {
          page = [];
          i = 0;
          await source.return?.();
          return { done: true, value: undefined };
        },
        [Symbol.asyncIterator]() { return rows; },
      };
      return rows;
    },
  };
}

/** The rows' batches: their own when they have them, else each row as a batch of one. */
export function batchesOf(rows: AsyncIterable<ReportRow>): AsyncIterator<readonly ReportRow[]> {
  const own = (rows as Partial<BatchedRows>)[ROW_BATCHES];
  if (own) return own.call(rows);
  const it = rows[Symbol.asyncIterator]();
  return {
    async next() {
      const n = await it.next();
      return n.done ? { done: true, value: undefined } : { done: false, value: [n.value] };
    },
    async return() {
      await it.return?.();
      return { done: true, value: undefined };
    },
  };
}
