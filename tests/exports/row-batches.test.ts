// Batched rows: the CSV writer reads pages, everything else reads rows, and a reader that stops
// (or never starts) still closes the source.
import { describe, expect, it } from 'vitest';
import { writeCsv } from '../../exports/format/csv-writer.js';
import type { ReportColumn, ReportRow } from '../../exports/report.types.js';
import { batchedRows, batchesOf } from '../../exports/row-batches.js';
import { collector, dyingSink, trackedRows } from './writer-fixtures.js';

const columns: ReportColumn[] = [{ key: 'id', header: 'id', type: 'integer' }, { key: 's', header: 's', type: 'string' }];
const make = (i: number): ReportRow => ({ id: i, s: i % 2 ? `a,${i}` : `b${i}` });

/** `pages` pages of `size` rows, recording pages read and whether the source was closed. */
function pagedSource(pages: number, size: number) {
  const state = { pagesRead: 0, closed: false };
  const rows = batchedRows(async function* () {
    try {
      for (let p = 0; p < pages; p++) {
        state.pagesRead++;
        yield Array.from({ length: size }, (_, j) => make(p * size + j));
      }
    } finally {
      state.closed = true;
    }
  });
  return { rows, state };
}

describe('batched rows', () => {
  it('read row by row give every row in order, and the CSV writer gives the same file as from plain rows', async () => {
    const { rows } = pagedSource(7, 300);
    const seen: number[] = [];
    for await (const r of rows) seen.push(r.id as number);
    expect(seen).toEqual(Array.from({ length: 2100 }, (_, i) => i));

    const fromPages = collector();
    const progress: number[] = [];
    const res = await writeCsv({ name: 'S', columns, rows: pagedSource(7, 300).rows }, fromPages, { title: 't', params: [], onProgress: (n) => progress.push(n) });
    const fromRows = collector();
    await writeCsv({ name: 'S', columns, rows: trackedRows(2100, make).rows }, fromRows, { title: 't', params: [] });
    expect(res.rows).toBe(2100);
    expect(fromPages.buffer().toString()).toBe(fromRows.buffer().toString());
    expect(progress).toEqual([1000, 2000, 2100]);
  });

  it('close their source when a row reader stops early, or stops before reading anything', async () => {
    const a = pagedSource(5, 10);
    for await (const r of a.rows) if ((r.id as number) === 15) break;
    expect(a.state).toEqual({ pagesRead: 2, closed: true });

    let returned = false;
    const b = batchedRows(() => ({
      next: async () => ({ done: false, value: [make(0)] }),
      return: async () => { returned = true; return { done: true, value: undefined }; },
    }));
    await b[Symbol.asyncIterator]().return!();
    expect(returned).toBe(true);
  });

  it('stop reading pages when the destination dies, and close the source', async () => {
    const { rows, state } = pagedSource(10_000, 1000);
    await expect(writeCsv({ name: 'S', columns, rows }, dyingSink(200_000), { title: 't', params: [] })).rejects.toThrow();
    expect(state.closed).toBe(true);
    expect(state.pagesRead).toBeLessThan(50);
  });

  it('send the first batch before waiting for the second (what a download shows first)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const rows = batchedRows(async function* () {
      yield [make(0), make(1)];
      await gate;
      yield [make(2)];
    });
    const out = collector();
    let received = 0;
    const origWrite = out.write.bind(out);
    out.write = ((chunk: Buffer, ...rest: never[]) => { received += chunk.length; return origWrite(chunk, ...rest); }) as typeof out.write;
    const done = writeCsv({ name: 'S', columns, rows }, out, { title: 't', params: [] });
    await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe(Buffer.byteLength('id,s\r\n0,b0\r\n1,"a,1"\r\n'));
    release();
    await done;
    expect(out.buffer().toString()).toBe('id,s\r\n0,b0\r\n1,"a,1"\r\n2,b2\r\n');
  });

  it('turn plain rows into batches of one', async () => {
    const plain = trackedRows(3, make);
    const it = batchesOf(plain.rows);
    expect((await it.next()).value).toEqual([make(0)]);
    await it.return!();
    expect(plain.finallyRan).toBe(true);
  });
});
