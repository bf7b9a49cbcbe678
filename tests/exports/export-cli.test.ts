// gigintel export from the command line: the catalog (text and JSON), a report written to a file
// with parameters given either way, and bad flags refused by name without a stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import Database from 'better-sqlite3';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/gigintel.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'gigintel-export-cli-'));
const dbFile = join(dir, 'x.db');
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
const env = { ...baseEnv, GIGINTEL_DATABASE_URL: `sqlite:${dbFile}`, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_FEATURE_DEMO_SEED: 'false', GIGINTEL_SCORING_MODELS: '', GIGINTEL_DATA_DIR: dir };
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: 120_000, cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('gigintel export', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the reports and their parameters', () => {
    const text = run(['export', 'list']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^finance-summary\s+/m);
    expect(text.out).toMatch(/--grain\s+day\|week\|month \(default day\)/);
    const json = run(['export', 'list', '--json']).out.trim().split('\n').map((l) => JSON.parse(l) as { key: string; params: { name: string }[] });
    expect(json.map((r) => r.key)).toEqual(expect.arrayContaining(['finance-summary', 'transactions', 'ads-monetisation']));
  });

  it('writes a report to a file, parameters as --name value or --param name=value', async () => {
    expect(run(['seed', '--providers', '60', '--jobs', '20', '--days', '5', '--events', '800']).code).toBe(0);
    const csv = join(dir, 'ledger.csv');
    const res = run(['export', 'transactions', '--format', 'csv', '--out', csv, '--from', '2000-01-01', '--param', 'to=2100-01-01']);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    const db = new Database(dbFile, { readonly: true });
    const n = (db.prepare('SELECT COUNT(*) AS n FROM "transaction"').get() as { n: number }).n;
    db.close();
    expect(rows.length).toBe(n);
    expect(res.out).toContain(`${csv}: ${n} rows`);
    expect(existsSync(`${csv}.part`)).toBe(false);

    const xlsx = join(dir, 'finance.xlsx');
    expect(run(['export', 'finance-summary', '--format', 'xlsx', '--out', xlsx, '--grain=month', '--from', '2000-01-01', '--to', '2100-01-01']).code).toBe(0);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(xlsx);
    expect(wb.worksheets[0]!.name).toBe('Summary');
  }, 180_000);

  it('refuses bad flags by name, with no stack trace and no file', () => {
    const out = join(dir, 'bad.csv');
    const bad = run(['export', 'finance-summary', '--out', out, '--grain', 'fortnight', '--colour', 'red']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/grain must be one of day, week, month/);
    expect(bad.err).toMatch(/colour is not a parameter/);
    expect(bad.err).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    const fmt = run(['export', 'finance-summary', '--format', 'pdf']);
    expect(fmt.code).not.toBe(0);
    expect(fmt.err).toMatch(/--format.*csv or xlsx/);
    expect(run(['export', 'no-such-report']).err).toMatch(/no report no-such-report/);
  });
});
