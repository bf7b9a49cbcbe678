// The XLSX opens in LibreOffice: headless conversion of every sheet to CSV, values compared with
// the source rows and independently computed totals. Slow (LibreOffice starts in seconds), so one
// workbook and a generous timeout.
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { isoDate, isoDateTime } from '../../exports/format/cell-format.js';
import { writeXlsx } from '../../exports/format/xlsx-writer.js';
import type { ReportColumn, ReportRow } from '../../exports/report.types.js';
import { rowsOf } from './writer-fixtures.js';

const run = promisify(execFile);
const ALL_SHEETS_CSV = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1';
const EXP = { USD: 100, JPY: 1, KWD: 1000 } as const;

const columns: ReportColumn[] = [
  { key: 'id', header: 'Transaction', type: 'string' },
  { key: 'units', header: 'Units', type: 'integer', total: true },
  { key: 'amount', header: 'Amount', type: 'money', currencyKey: 'currency', total: true },
  { key: 'currency', header: 'Currency', type: 'string' },
  { key: 'rate', header: 'Take rate', type: 'ratio' },
  { key: 'day', header: 'Day', type: 'date' },
  { key: 'at', header: 'Created at', type: 'datetime' },
];
const CUR = ['USD', 'JPY', 'KWD'] as const;
const rows: ReportRow[] = Array.from({ length: 60 }, (_, i) => ({
  id: i === 7 ? '=1+2' : `tx ${i}, "quoted" ünï`,
  units: i * 7,
  amount: i % 5 === 0 ? -(1250 + i) : 1999 * i + 1,
  currency: CUR[i % 3]!,
  rate: i / 16,
  day: Date.UTC(2026, 0, 1) + i * 86_400_000,
  at: Date.UTC(2026, 0, 1, 8, 15, 30) + i * 3_600_000,
}));

describe('XLSX in LibreOffice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-lo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('converts every sheet and shows the same values and totals', async () => {
    const file = join(dir, 'ledger.xlsx');
    await writeXlsx(
      { sheets: [{ name: 'Ledger', columns, rows: rowsOf(rows) }, { name: 'Tiny', columns: columns.slice(0, 2), rows: rowsOf(rows.slice(0, 2)) }] },
      createWriteStream(file),
      { title: 'Transactions ledger', params: [{ name: 'from', value: '2026-01-01' }] },
    );
    // A profile of its own, so parallel runs do not fight over the default one.
    await run('soffice', [
      `-env:UserInstallation=file://${join(dir, 'profile')}`, '--headless', '--convert-to', ALL_SHEETS_CSV, '--outdir', dir, file,
    ], { timeout: 150_000 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.csv')).sort()).toEqual(['ledger-Ledger.csv', 'ledger-Summary.csv', 'ledger-Tiny.csv']);

    const ledger = parse(readFileSync(join(dir, 'ledger-Ledger.csv'), 'utf8')) as string[][];
    expect(ledger[0]).toEqual(columns.map((c) => c.header));
    expect(ledger).toHaveLength(rows.length + 1);
    rows.forEach((r, i) => {
      const [id, units, amount, currency, rate, day, at] = ledger[i + 1]!;
      expect(id).toBe(r.id);
      expect(Number(units)).toBe(r.units);
      expect(Number(amount)).toBeCloseTo((r.amount as number) / EXP[r.currency as keyof typeof EXP], 9);
      expect(currency).toBe(r.currency);
      expect(Number(rate!.replace('%', '')) / 100).toBeCloseTo(r.rate as number, 9);
      expect(day).toBe(isoDate(r.day as number));
      expect(at).toBe(isoDateTime(r.at as number).slice(0, 19).replace('T', ' '));
    });

    const summary = parse(readFileSync(join(dir, 'ledger-Summary.csv'), 'utf8'), { relax_column_count: true }) as string[][];
    expect(summary[0]![0]).toBe('Transactions ledger');
    expect(summary).toContainEqual(['from', '2026-01-01', '', '']);
    expect(summary).toContainEqual(['Ledger', '60', '', '']);
    const total = (sheet: string, col: string, cur = '') => Number(summary.find((l) => l[0] === sheet && l[1] === col && l[2] === cur)?.[3]);
    expect(total('Ledger', 'Units')).toBe(rows.reduce((a, r) => a + (r.units as number), 0));
    expect(total('Tiny', 'Units')).toBe(7);
    for (const cur of CUR) {
      const minor = rows.filter((r) => r.currency === cur).reduce((a, r) => a + (r.amount as number), 0);
      expect(total('Ledger', 'Amount', cur)).toBeCloseTo(minor / EXP[cur], 6);
    }
  }, 180_000);
});
