import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { columnLetter, currencyNumFmt, sheetNames, writeXlsx } from '../../exports/format/xlsx-writer.js';
import type { ReportColumn, ReportOutput, ReportRow } from '../../exports/report.types.js';
import { collector, dyingSink, rowsOf, sleep, slowSink, stalledSink, trackedRows } from './writer-fixtures.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

const ledgerColumns: ReportColumn[] = [
  { key: 'id', header: 'Transaction', type: 'string' },
  { key: 'qty', header: 'Units', type: 'integer', total: true },
  { key: 'amount', header: 'Amount', type: 'money', currencyKey: 'currency', total: true },
  { key: 'currency', header: 'Currency', type: 'string' },
  { key: 'fee', header: 'Fee (USD)', type: 'money', currency: 'USD', total: true },
  { key: 'rate', header: 'Take rate', type: 'ratio' },
  { key: 'score', header: 'Score', type: 'number', total: true },
  { key: 'day', header: 'Day', type: 'date' },
  { key: 'at', header: 'Created at', type: 'datetime' },
];

const CURRENCIES = ['USD', 'JPY', 'KWD'] as const;
function ledgerRow(i: number): ReportRow {
  return {
    id: i === 3 ? '=HYPERLINK("x")' : `tx-${i} ünï "q", 日本`,
    qty: i * 3,
    amount: i % 4 === 0 ? -1250 - i : 1999 * i,
    currency: CURRENCIES[i % 3]!,
    fee: i === 5 ? null : 125 + i,
    rate: i / 40,
    score: i * 0.5 - 1,
    day: T0 + i * DAY,
    at: T0 + i * DAY + 45_296_000, // 12:34:56
  };
}

async function write(report: ReportOutput, notes?: string[]) {
  const out = collector();
  const res = await writeXlsx(report, out, {
    title: 'Transactions ledger', notes, generatedAt: Date.UTC(2026, 5, 1, 9, 30),
    params: [{ name: 'from', value: '2026-01-01' }, { name: 'currency', value: 'all' }],
  });
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(out.buffer() as unknown as ArrayBuffer);
  return { wb, res, bytes: out.buffer() };
}

/** The Summary as plain rows of cell values (formulas as { formula, result }). */
function summaryRows(ws: ExcelJS.Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  ws.eachRow({ includeEmpty: true }, (r) => { rows.push((r.values as unknown[]).slice(1)); });
  return rows;
}

describe('writeXlsx', () => {
  const N = 40;
  const rows = Array.from({ length: N }, (_, i) => ledgerRow(i));

  it('writes the Summary first, then detail sheets whose cells read back with the same typed values', async () => {
    const { wb, res } = await write({ sheets: [{ name: 'Ledger', columns: ledgerColumns, rows: rowsOf(rows) }], notes: ['analysed at noon'] }, ['2 groups suppressed']);
    expect(res.rows).toBe(N);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Summary', 'Ledger']);
    const ws = wb.getWorksheet('Ledger')!;
    expect((ws.getRow(1).values as unknown[]).slice(1)).toEqual(ledgerColumns.map((c) => c.header));
    expect(ws.rowCount).toBe(N + 1);
    rows.forEach((src, i) => {
      const r = ws.getRow(i + 2);
      expect(r.getCell(1).value).toBe(src.id); // text stays text (no formula, no quote prefix)
      expect(r.getCell(2).value).toBe(src.qty);
      const exp = { USD: 100, JPY: 1, KWD: 1000 }[src.currency as string]!;
      expect(r.getCell(3).value).toBe((src.amount as number) / exp);
      expect(r.getCell(4).value).toBe(src.currency);
      expect(r.getCell(5).value).toBe(src.fee === null ? null : (src.fee as number) / 100);
      expect(r.getCell(6).value).toBe(src.rate);
      expect(r.getCell(7).value).toBe(src.score);
      expect(r.getCell(8).value).toEqual(new Date(src.day as number));
      expect(r.getCell(9).value).toEqual(new Date(src.at as number));
    });
  });

  it('formats cells by type and currency, with a bold frozen header, an autofilter and column widths', async () => {
    const { wb } = await write({ sheets: [{ name: 'Ledger', columns: ledgerColumns, rows: rowsOf(rows) }] });
    const ws = wb.getWorksheet('Ledger')!;
    const fmt = (row: number, col: number) => ws.getRow(row).getCell(col).numFmt;
    expect(fmt(2, 2)).toBe('#,##0');
    expect(fmt(2, 3)).toBe('"USD "#,##0.00'); // row i=0: USD
    expect(fmt(3, 3)).toBe('"JPY "#,##0');
    expect(fmt(4, 3)).toBe('"KWD "#,##0.000');
    expect(fmt(2, 5)).toBe('"USD "#,##0.00');
    expect(fmt(2, 6)).toBe('0.00%');
    expect(fmt(2, 8)).toBe('yyyy-mm-dd');
    expect(fmt(2, 9)).toBe('yyyy-mm-dd hh:mm:ss');
    expect(ws.getRow(1).getCell(1).font?.bold).toBe(true);
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe(`A1:I${N + 1}`);
    const widths = ws.columns.map((c) => c.width ?? 0);
    expect(widths[0]).toBeGreaterThanOrEqual('tx-39 ünï "q", 日本'.length + 2); // from the sampled rows
    expect(widths[8]).toBeGreaterThanOrEqual(19); // a datetime fits
    expect(widths.every((w) => w > 0 && w <= 60)).toBe(true);
  });

  it('puts parameters, notes, row counts and per-currency totals as formulas with computed results on the Summary', async () => {
    const { wb } = await write({ sheets: [{ name: 'Ledger', columns: ledgerColumns, rows: rowsOf(rows) }], notes: ['analysed at noon'] }, ['2 groups suppressed']);
    const s = wb.getWorksheet('Summary')!;
    const cells = summaryRows(s);
    expect(cells[0]![0]).toBe('Transactions ledger');
    expect(cells[1]![0]).toBe('Generated at (UTC)');
    expect(cells[1]![1]).toEqual(new Date(Date.UTC(2026, 5, 1, 9, 30)));
    expect(cells).toContainEqual(['from', '2026-01-01']);
    expect(cells).toContainEqual(['currency', 'all']);
    expect(cells).toContainEqual(['analysed at noon']);
    expect(cells).toContainEqual(['2 groups suppressed']);
    expect(cells).toContainEqual(['Ledger', N]);

    const totals = new Map<string, { formula: string; result: number }>();
    s.eachRow((r) => {
      const v = r.getCell(4).value as { formula?: string; result?: number } | null;
      if (v && typeof v === 'object' && v.formula) totals.set(`${r.getCell(2).value}|${r.getCell(3).value ?? ''}`, v as { formula: string; result: number });
    });
    const last = N + 1;
    expect(totals.get('Units|')).toEqual({ formula: `SUM('Ledger'!B2:B${last})`, result: rows.reduce((a, r) => a + (r.qty as number), 0) });
    for (const [cur, exp] of [['USD', 100], ['JPY', 1], ['KWD', 1000]] as const) {
      const minor = rows.filter((r) => r.currency === cur).reduce((a, r) => a + (r.amount as number), 0);
      const t = totals.get(`Amount|${cur}`)!;
      expect(t.formula).toBe(`SUMIF('Ledger'!D2:D${last},"${cur}",'Ledger'!C2:C${last})`);
      expect(t.result).toBeCloseTo(minor / exp, 9);
    }
    expect(totals.get('Fee (USD)|USD')).toEqual({
      formula: `SUM('Ledger'!E2:E${last})`, result: rows.reduce((a, r) => a + ((r.fee as number | null) ?? 0), 0) / 100,
    });
    expect(totals.get('Score|')!.result).toBeCloseTo(rows.reduce((a, r) => a + (r.score as number), 0), 9);
    // Total cells carry their column's format.
    s.eachRow((r) => {
      if (r.getCell(2).value === 'Amount' && r.getCell(3).value === 'JPY') expect(r.getCell(4).numFmt).toBe(currencyNumFmt('JPY'));
    });
  });

  it('sanitises and de-duplicates sheet names, and writes several sheets (one of them empty)', async () => {
    const simple: ReportColumn[] = [{ key: 'n', header: 'N', type: 'integer', total: true }];
    const report: ReportOutput = {
      sheets: [
        { name: "By day: a/b [x]*?\\ and a very long tail beyond 31", columns: simple, rows: rowsOf([{ n: 1 }, { n: 2 }]) },
        { name: 'summary', columns: simple, rows: rowsOf([]) },
        { name: "it's", columns: simple, rows: rowsOf([{ n: 5 }]) },
      ],
    };
    const { wb, res } = await write(report);
    expect(res.rows).toBe(3);
    const names = wb.worksheets.map((w) => w.name);
    expect(names[0]).toBe('Summary');
    expect(names[1]).toBe('By day_ a_b _x____ and a very l');
    expect(names[2]).toBe('summary (2)');
    expect(names[3]).toBe("it's");
    expect(names.every((n) => n.length <= 31 && !/[[\]:*?/\\]/.test(n))).toBe(true);
    expect(wb.getWorksheet('summary (2)')!.rowCount).toBe(1);
    const totals: unknown[] = [];
    wb.getWorksheet('Summary')!.eachRow((r) => { const v = r.getCell(4).value; if (v && typeof v === 'object') totals.push(v); });
    expect(totals).toEqual([
      { formula: `SUM('${names[1]}'!A2:A3)`, result: 3 },
      { formula: "SUM('summary (2)'!A2:A2)" }, // <v>0</v> is in the file; exceljs's reader drops a zero result
      { formula: "SUM('it''s'!A2:A2)", result: 5 },
    ]);
    expect(sheetNames(['Summary', 'SUMMARY', 'Summary'])).toEqual(['Summary', 'SUMMARY (2)', 'Summary (3)']);
    expect([1, 26, 27, 52, 703].map(columnLetter)).toEqual(['A', 'Z', 'AA', 'AZ', 'AAA']);
  });

  it('waits for a slow reader and still delivers every row, with the right total', async () => {
    const n = 12_000;
    const sink = slowSink(1);
    let maxAhead = 0;
    const src = trackedRows(n, (i) => {
      maxAhead = Math.max(maxAhead, i - sink.received / 8); // rows compress to well under 8 bytes each
      return ledgerRow(i);
    });
    const seen: number[] = [];
    const res = await writeXlsx({ sheets: [{ name: 'L', columns: ledgerColumns, rows: src.rows }] }, sink, {
      title: 't', params: [], onProgress: (k) => seen.push(k),
    });
    expect(res.rows).toBe(n);
    expect(seen.slice(0, 3)).toEqual([1000, 2000, 3000]);
    expect(seen.at(-1)).toBe(n);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(sink.buffer() as unknown as ArrayBuffer);
    const ws = wb.getWorksheet('L')!;
    expect(ws.rowCount).toBe(n + 1);
    expect(ws.getRow(n + 1).getCell(2).value).toBe((n - 1) * 3);
    let qty = 0;
    ws.eachRow((r, i) => { if (i > 1) qty += r.getCell(2).value as number; });
    expect(qty).toBe(3 * (n * (n - 1)) / 2);
    expect(maxAhead).toBeGreaterThan(0);
  });

  it('stops reading and returns the iterator when the destination is destroyed mid-way', async () => {
    const src = trackedRows(Infinity, ledgerRow);
    const sink = dyingSink(100_000);
    await expect(writeXlsx({ sheets: [{ name: 'L', columns: ledgerColumns, rows: src.rows }] }, sink, { title: 't', params: [] }))
      .rejects.toThrow(/closed/);
    expect(src.finallyRan).toBe(true);
    expect(src.read).toBeLessThan(200_000);
  });

  it('holds at a reader that stopped reading (memory bounded), then rejects and returns the iterator', async () => {
    const src = trackedRows(Infinity, ledgerRow);
    const sink = stalledSink();
    const done = writeXlsx({ sheets: [{ name: 'L', columns: ledgerColumns, rows: src.rows }] }, sink, { title: 't', params: [] });
    // The pipeline's buffers (archiver, zlib, the gated entry) fill, then reading stops for good.
    let readWhileStalled = -1;
    for (let waited = 0; waited < 10_000 && src.read !== readWhileStalled; waited += 400) {
      readWhileStalled = src.read;
      await sleep(400);
    }
    expect(src.read).toBe(readWhileStalled);
    // A few MB of XML in flight at most: tens of thousands of rows, never the endless source.
    expect(readWhileStalled).toBeLessThan(150_000);
    sink.destroy();
    await expect(done).rejects.toThrow(/closed/);
    expect(src.finallyRan).toBe(true);
  });

  it('stops on abort with the signal reason', async () => {
    const src = trackedRows(Infinity, ledgerRow);
    const ac = new AbortController();
    const sink = collector();
    const done = writeXlsx({ sheets: [{ name: 'L', columns: ledgerColumns, rows: src.rows }] }, sink, {
      title: 't', params: [], signal: ac.signal, onProgress: (n) => { if (n >= 3000) ac.abort(new Error('user cancelled')); },
    });
    await expect(done).rejects.toThrow('user cancelled');
    expect(src.finallyRan).toBe(true);
    expect(sink.destroyed).toBe(true);
  });

  it('rejects a money column without a currency before writing anything', async () => {
    const sink = collector();
    const bad: ReportColumn[] = [{ key: 'm', header: 'M', type: 'money' }];
    await expect(writeXlsx({ sheets: [{ name: 'L', columns: bad, rows: rowsOf([]) }] }, sink, { title: 't', params: [] }))
      .rejects.toMatchObject({ code: 'export_format_invalid', details: { column: 'm' } });
    expect(sink.buffer().length).toBe(0);
  });
});
