import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvCellFormatter, isoDate, isoDateTime, minorToDecimal, plainNumber } from '../../exports/format/cell-format.js';
import { writeCsv } from '../../exports/format/csv-writer.js';
import type { ReportColumn, ReportRow, ReportSheet } from '../../exports/report.types.js';
import { collector, dyingSink, rowsOf, sleep, slowSink, stalledSink, trackedRows } from './writer-fixtures.js';

const opts = { title: 'Test', params: [] };

async function csvOf(columns: ReportColumn[], rows: ReportRow[], extra: Partial<typeof opts & { bom: boolean }> = {}) {
  const out = collector();
  const res = await writeCsv({ name: 'S', columns, rows: rowsOf(rows) }, out, { ...opts, ...extra });
  return { text: out.buffer().toString('utf8'), rows: res.rows };
}

const str = (key: string): ReportColumn => ({ key, header: key, type: 'string' });

describe('writeCsv', () => {
  it('round-trips awkward text through csv-parse (commas, quotes, newlines, unicode) with a header row', async () => {
    const values = ['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\r\nlf', 'ünïcødé 日本語 🚀', '', ' padded ', '"', ',"\n'];
    const columns = [str('v'), { key: 'n', header: 'N, "quoted"', type: 'integer' } as ReportColumn];
    const rows = values.map((v, i) => ({ v, n: i }));
    const { text, rows: count } = await csvOf(columns, rows);
    expect(count).toBe(values.length);
    const parsed = parse(text, { relax_column_count: false }) as string[][];
    expect(parsed[0]).toEqual(['v', 'N, "quoted"']);
    expect(parsed.slice(1)).toEqual(values.map((v, i) => [v, String(i)]));
  });

  it('ends every record with CRLF and quotes only fields that need it', async () => {
    const { text } = await csvOf([str('a'), str('b')], [{ a: 'x', b: 'y' }, { a: 'p,q', b: 'r"s' }]);
    expect(text).toBe('a,b\r\nx,y\r\n"p,q","r""s"\r\n');
  });

  it('writes a UTF-8 BOM when asked, which csv-parse strips', async () => {
    const { text } = await csvOf([str('name')], [{ name: 'Zoë' }], { bom: true });
    const bytes = Buffer.from(text, 'utf8');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(parse(text, { bom: true })).toEqual([['name'], ['Zoë']]);
    const plain = await csvOf([str('name')], [{ name: 'Zoë' }]);
    expect(plain.text.charCodeAt(0)).toBe('n'.charCodeAt(0));
  });

  it('neutralises every formula-injection prefix in text cells and headers, but not numbers', async () => {
    const evil = ['=1+2', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx', '=HYPERLINK("http://evil","x")'];
    const columns: ReportColumn[] = [
      str('s'), { key: 'n', header: '=n', type: 'number' },
      { key: 'm', header: 'm', type: 'money', currency: 'USD' },
    ];
    const rows = evil.map((s) => ({ s, n: -3.5, m: -1250 }));
    const { text } = await csvOf(columns, rows);
    const parsed = parse(text) as string[][];
    expect(parsed[0]).toEqual(['s', "'=n", 'm']);
    expect(parsed.slice(1).map((r) => r[0])).toEqual(evil.map((s) => `'${s}`));
    expect(parsed.slice(1).every((r) => r[1] === '-3.5' && r[2] === '-12.50')).toBe(true);
    // Harmless starts stay as they are.
    const safe = await csvOf([str('s')], [{ s: 'a=b' }, { s: ' =x' }, { s: "'already" }]);
    expect((parse(safe.text) as string[][]).slice(1).flat()).toEqual(['a=b', ' =x', "'already"]);
  });

  it('prints money from minor units with the currency exponent (USD 2, JPY 0, KWD 3), negatives and big values', async () => {
    const columns: ReportColumn[] = [
      str('cur'), { key: 'amt', header: 'amount', type: 'money', currencyKey: 'cur' },
      { key: 'fee', header: 'fee', type: 'money', currency: 'JPY' },
    ];
    const rows: ReportRow[] = [
      { cur: 'USD', amt: 1250, fee: 1250 },
      { cur: 'USD', amt: -1250, fee: -7 },
      { cur: 'USD', amt: -5, fee: 0 },
      { cur: 'JPY', amt: 1250, fee: null },
      { cur: 'KWD', amt: 1250, fee: 1 },
      { cur: 'KWD', amt: '-7', fee: 1 },
      { cur: 'usd', amt: 123456789012345678n, fee: 1 },
      { cur: 'USD', amt: 1234.5, fee: 1 },
      { cur: 'USD', amt: null, fee: 1 },
      { cur: 'EUR', amt: 0, fee: 1 },
    ];
    const { text } = await csvOf(columns, rows);
    const got = (parse(text) as string[][]).slice(1).map((r) => [r[1], r[2]]);
    expect(got).toEqual([
      ['12.50', '1250'], ['-12.50', '-7'], ['-0.05', '0'], ['1250', ''], ['1.250', '1'], ['-0.007', '1'],
      ['1234567890123456.78', '1'], ['12.345', '1'], ['', '1'], ['0.00', '1'],
    ]);
  });

  it('prints numbers and ratios as plain decimals, never in exponent form; NaN and null are empty', async () => {
    const columns: ReportColumn[] = [
      { key: 'x', header: 'x', type: 'number' }, { key: 'r', header: 'r', type: 'ratio' },
      { key: 'i', header: 'i', type: 'integer' },
    ];
    const rows: ReportRow[] = [
      { x: 1e21, r: 0.25, i: 12 }, { x: 1.5e-7, r: 1e-7, i: '42' }, { x: -2.5e22, r: -0.125, i: 9007199254740993n },
      { x: Number.NaN, r: null, i: null }, { x: 0.1 + 0.2, r: 1, i: -3 },
    ];
    const { text } = await csvOf(columns, rows);
    expect((parse(text) as string[][]).slice(1)).toEqual([
      ['1000000000000000000000', '0.25', '12'], ['0.00000015', '0.0000001', '42'],
      ['-25000000000000000000000', '-0.125', '9007199254740993'], ['', '', ''], ['0.30000000000000004', '1', '-3'],
    ]);
    for (const x of [123.456, 1e-7, 5e-324, 1.7976931348623157e308, -1e21]) expect(Number(plainNumber(x))).toBe(x);
    expect(minorToDecimal(5n, 3)).toBe('0.005');
  });

  it('prints every double in plain notation exactly as String() does where String() has no exponent', () => {
    // A seeded generator: short decimals (the integer-arithmetic path), full-precision doubles and
    // integers of every size (the String() path), both signs, around the 1e-6 and 1e15 edges.
    let seed = 12345;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    const xs: number[] = [0, -0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 - 2 ** -53, 1e-6, 1.5e-6, 999999999999999.9, 1e15 - 0.5, 2 ** 53 - 1, 2 ** 53 + 2, 5e9, -5e9, 4.35, 1.005, 8.675, 0.07];
    for (let i = 0; i < 20_000; i++) {
      const digits = 1 + Math.floor(rnd() * 17);
      const scale = Math.floor(rnd() * 20) - 6;
      const m = Math.floor(rnd() * 10 ** Math.min(digits, 15));
      xs.push((rnd() < 0.5 ? -1 : 1) * m / 10 ** Math.max(0, digits - scale), rnd() * 10 ** scale, (rnd() - 0.5) * 2 ** (rnd() * 60));
    }
    for (const x of xs) {
      const s = String(x);
      if (!s.includes('e')) expect(plainNumber(x), `${s}`).toBe(s);
      else expect(Number(plainNumber(x))).toBe(x);
    }
  });

  it('formats rows through the compiled row function exactly as through the column formatters', async () => {
    const columns: ReportColumn[] = [
      str('s'), { key: 'i', header: 'i', type: 'integer' }, { key: 'n', header: 'n', type: 'number' },
      { key: 'm', header: 'm', type: 'money', currencyKey: 'c' }, { key: 'f', header: 'f', type: 'money', currency: 'JPY' },
      str('c'), { key: 'd', header: 'd', type: 'date' }, { key: 't', header: 't', type: 'datetime' },
    ];
    const rows: ReportRow[] = [
      { s: 'a', i: 1, n: 0.5, m: 1234, f: 99, c: 'USD', d: 0, t: 1.5 },
      { s: '=x', i: '7', n: '2.50', m: 5n, f: '12', c: 'kwd', d: Number.NaN, t: Number.POSITIVE_INFINITY },
      { s: 'q"r', i: 2 ** 60, n: -1e-7, m: 12.5, f: -3, c: 'USD', d: '2026-03-01', t: '2026-03-01T10:00:00Z' },
      { s: null, i: null, m: null, c: null },
    ];
    const formats = columns.map(csvCellFormatter);
    const expected = rows.map((r) => columns.map((c, i) => {
      const v = r[c.key] ?? null;
      if (v === null) return '';
      return formats[i]!(v, r);
    }));
    const { text } = await csvOf(columns, rows);
    expect((parse(text) as string[][]).slice(1)).toEqual(expected);
    expect(expected[1]).toEqual(["'=x", '7', '2.5', '0.005', '12', 'kwd', '', '']);
    // An unknown currency in the row still fails, naming the column.
    await expect(csvOf(columns, [{ s: 'a', m: 1, c: 'dollars' }])).rejects.toMatchObject({ code: 'export_format_invalid', details: { column: 'm' } });
  });

  it('prints dates as YYYY-MM-DD and datetimes as ISO 8601 UTC, from ms or ISO strings', async () => {
    const columns: ReportColumn[] = [{ key: 'd', header: 'd', type: 'date' }, { key: 't', header: 't', type: 'datetime' }];
    const at = Date.UTC(2026, 1, 28, 23, 59, 58, 5);
    const { text } = await csvOf(columns, [{ d: at, t: at }, { d: '2026-03-01', t: '2026-03-01T10:00:00Z' }, { d: null, t: null }]);
    expect((parse(text) as string[][]).slice(1)).toEqual([
      ['2026-02-28', '2026-02-28T23:59:58.005Z'], ['2026-03-01', '2026-03-01T10:00:00.000Z'], ['', ''],
    ]);
  });

  it('formats dates in integer arithmetic exactly as Date#toISOString does, years 1 to 9999', () => {
    for (let ms = -62_135_596_800_000; ms < 253_402_300_799_000; ms += 7_777_777_777 + 123) {
      expect(isoDateTime(ms)).toBe(new Date(ms).toISOString());
      expect(isoDate(ms)).toBe(new Date(ms).toISOString().slice(0, 10));
    }
  });

  it('rejects a bad definition before writing and a bad value mid-stream, returning the iterator', async () => {
    const out = collector();
    const bad = { name: 'S', columns: [{ key: 'm', header: 'm', type: 'money' }] as ReportColumn[], rows: rowsOf([]) };
    await expect(writeCsv(bad, out, opts)).rejects.toMatchObject({ code: 'export_format_invalid', details: { column: 'm' } });

    const src = trackedRows(10, (i) => ({ n: i === 5 ? 'five' : i }));
    await expect(writeCsv({ name: 'S', columns: [{ key: 'n', header: 'n', type: 'integer' }], rows: src.rows }, collector(), opts))
      .rejects.toMatchObject({ code: 'export_format_invalid', details: { column: 'n' } });
    expect(src.finallyRan).toBe(true);
    expect(src.read).toBe(6);
  });

  it('reports progress at most every 1,000 rows and once at the end', async () => {
    const seen: number[] = [];
    const src = trackedRows(2500, (i) => ({ s: `r${i}` }));
    await writeCsv({ name: 'S', columns: [str('s')], rows: src.rows }, collector(), { ...opts, onProgress: (n) => seen.push(n) });
    expect(seen).toEqual([1000, 2000, 2500]);
  });

  it('waits for drain: a slow reader gets every row and the source never runs far ahead', async () => {
    const sink = slowSink(2);
    const rowText = 'x'.repeat(60);
    let maxAhead = 0;
    const src = trackedRows(20_000, (i) => {
      // Rows read minus rows the reader has taken (each line is 63 bytes).
      maxAhead = Math.max(maxAhead, i - sink.received / 63);
      return { s: rowText };
    });
    const res = await writeCsv({ name: 'S', columns: [str('s')], rows: src.rows }, sink, opts);
    expect(res.rows).toBe(20_000);
    expect(sink.buffer().toString().split('\r\n')).toHaveLength(20_002);
    // One 64 KB chunk in flight plus the stream's buffer: ~1,300 rows, never the whole source.
    expect(maxAhead).toBeLessThan(3_000);
  });

  it('stops reading and returns the iterator when the destination is destroyed mid-way', async () => {
    const src = trackedRows(Infinity, (i) => ({ s: `row ${i}` }));
    const sink = dyingSink(200_000);
    await expect(writeCsv({ name: 'S', columns: [str('s')], rows: src.rows }, sink, opts)).rejects.toThrow(/closed/);
    expect(src.finallyRan).toBe(true);
    // Rows are ~11 bytes: at most a few 64 KB chunks were formatted past what the reader took.
    expect(src.read - sink.received / 11).toBeLessThan(30_000);
  });

  it('holds at a reader that stopped reading, then rejects and returns the iterator when it is destroyed', async () => {
    const src = trackedRows(Infinity, (i) => ({ s: `row ${i}` }));
    const sink = stalledSink();
    const done = writeCsv({ name: 'S', columns: [str('s')], rows: src.rows }, sink, opts);
    await sleep(200);
    const readWhileStalled = src.read;
    await sleep(200);
    expect(src.read).toBe(readWhileStalled);
    expect(readWhileStalled).toBeLessThan(25_000); // two 128 KB chunks of ~10-byte rows, plus the stream buffer
    sink.destroy();
    await expect(done).rejects.toThrow(/closed/);
    expect(src.finallyRan).toBe(true);
  });

  it('stops on abort with the signal reason and destroys the destination', async () => {
    const src = trackedRows(Infinity, (i) => ({ s: `row ${i}` }));
    const ac = new AbortController();
    const sink = slowSink(1);
    const done = writeCsv({ name: 'S', columns: [str('s')], rows: src.rows }, sink, {
      ...opts, signal: ac.signal, onProgress: (n) => { if (n >= 5000) ac.abort(new Error('user cancelled')); },
    });
    await expect(done).rejects.toThrow('user cancelled');
    expect(src.finallyRan).toBe(true);
    expect(sink.destroyed).toBe(true);
  });

  it('writes only the header for an empty sheet', async () => {
    const sheet: ReportSheet = { name: 'S', columns: [str('a'), str('b')], rows: rowsOf([]) };
    const out = collector();
    expect(await writeCsv(sheet, out, opts)).toEqual({ rows: 0 });
    expect(out.buffer().toString()).toBe('a,b\r\n');
  });
});
