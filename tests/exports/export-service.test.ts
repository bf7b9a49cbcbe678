// The export service's own mechanics with a report made for the test: parameters, streaming into
// a destination, stopping the query when the destination goes away, jobs, expiry and schedules.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExportService, parseExportSchedule, type ExportService } from '../../exports/exports.service.js';
import { parseDateParam, parseReportParams } from '../../exports/report-params.js';
import type { ReportDefinition, ReportRow } from '../../exports/report.types.js';
import { AppError, ConfigError, ValidationError } from '../../platform/errors/app-error.js';
import { createPlatform, type Platform } from '../../platform/platform.js';
import { useTestEnv } from '../helpers/test-env.js';

const DAY = 86_400_000;

/** `n` numbered rows; records whether its row iterator was closed and how far it got. */
function numbersReport(state: { closed: number; produced: number }): ReportDefinition {
  return {
    key: 'numbers', title: 'Numbers', description: 'n rows for tests',
    params: [
      { name: 'n', type: 'integer', description: 'rows', default: '10' },
      { name: 'from', type: 'date', description: 'start', default: '-30d' },
      { name: 'to', type: 'date', description: 'end', default: 'today' },
      { name: 'user', type: 'string', description: 'a user id to pseudonymise' },
      { name: 'fail', type: 'boolean', description: 'fail in run()', default: 'false' },
    ],
    async run(ctx, params) {
      if (params.fail === true) throw new AppError('bad_report_input', 400, 'asked to fail');
      const n = params.n as number;
      const user = typeof params.user === 'string' ? ctx.pseudonymise(params.user) : null;
      async function* rows(): AsyncGenerator<ReportRow> {
        try {
          for (let i = 0; i < n; i += 1) {
            state.produced += 1;
            yield { i, user, amount: i * 100, currency: 'USD', units: i };
          }
        } finally { state.closed += 1; }
      }
      return {
        sheets: [{
          name: 'Numbers', unitsKey: 'units', rows: rows(),
          columns: [
            { key: 'i', header: 'I', type: 'integer', total: true },
            { key: 'user', header: 'User', type: 'string' },
            { key: 'amount', header: 'Amount', type: 'money', currencyKey: 'currency', total: true },
            { key: 'currency', header: 'Currency', type: 'string' },
            { key: 'units', header: 'Units', type: 'integer' },
          ],
        }],
      };
    },
  };
}

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function until(check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('report parameters', () => {
  const def = numbersReport({ closed: 0, produced: 0 });
  const now = Date.parse('2026-12-07T15:30:00Z');

  it('resolves relative and absolute dates to UTC', () => {
    expect(parseDateParam('today', now)).toBe(Date.parse('2026-12-07T00:00:00Z'));
    expect(parseDateParam('yesterday', now)).toBe(Date.parse('2026-12-06T00:00:00Z'));
    expect(parseDateParam('-7d', now)).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(parseDateParam('2026-02-28', now)).toBe(Date.parse('2026-02-28T00:00:00Z'));
    expect(parseDateParam('2026-02-30', now)).toBeNull();
    expect(parseDateParam('2026-12-01T10:00:00+02:00', now)).toBe(Date.parse('2026-12-01T08:00:00Z'));
    expect(parseDateParam('last week', now)).toBeNull();
  });

  it('applies defaults and shows every parameter as it applies', () => {
    const p = parseReportParams(def, { n: '5' }, now);
    expect(p.values).toMatchObject({ n: 5, from: Date.parse('2026-11-07T00:00:00Z'), to: Date.parse('2026-12-07T00:00:00Z'), fail: false });
    expect(p.shown).toEqual([
      { name: 'n', value: '5' }, { name: 'from', value: '2026-11-07' }, { name: 'to', value: '2026-12-07' }, { name: 'fail', value: 'false' },
    ]);
  });

  it('names every bad field at once', () => {
    let err: unknown;
    try { parseReportParams(def, { n: 'ten', from: '2026-13-01', colour: 'red', fail: 'maybe' }, now); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ValidationError);
    const paths = (err as ValidationError).problems.map((p) => p.path).sort();
    expect(paths).toEqual(['colour', 'fail', 'from', 'n']);
  });

  it('refuses an empty range', () => {
    expect(() => parseReportParams(def, { from: '2026-12-01', to: '2026-12-01' }, now)).toThrow(/to must be after from/);
  });

  it('reads schedules in their config form', () => {
    expect(parseExportSchedule('finance-daily=finance-summary:xlsx@0 6 * * *?grain=day&from=yesterday')).toEqual({
      name: 'finance-daily', report: 'finance-summary', format: 'xlsx', cron: '0 6 * * *', params: { grain: 'day', from: 'yesterday' },
    });
    expect(parseExportSchedule('x=finance-summary:pdf@0 6 * * *')).toMatch(/must look like/);
  });
});

describe.each(['sqlite', 'mysql'] as const)('export service (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  const state = { closed: 0, produced: 0 };
  let dir: string;
  let platform: Platform;
  let clock = Date.now();
  let x: ExportService;
  const make = (schedules: string[] = []) => createExportService({
    db: platform.db, queue: platform.queue, log: platform.log, reports: [numbersReport(state)], now: () => clock,
    settings: { dir, minGroupSize: 3, fileTtlMs: DAY, pseudonymKey: null, progressEveryMs: 0, schedules: schedules.map((s) => parseExportSchedule(s) as never) },
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gi-exports-'));
    platform = await createPlatform(env.config({ 'data.dir': dir, 'queue.pollIntervalMs': 20, 'queue.attempts': 2, 'queue.backoffMs': 10 }));
    x = make();
    for (const job of x.jobs()) platform.queue.register(job);
    await platform.queue.startWorkers();
  });
  afterAll(async () => {
    await platform.lifecycle.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a CSV: header, rows, suppression of groups under k, pseudonymised ids', async () => {
    const opened = await x.open('numbers', 'csv', { n: '6', user: 'client-42' }, { keyId: 'k1', admin: false });
    expect(opened.fileName).toMatch(/^numbers_\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.csv$/);
    expect(opened.contentType).toMatch(/text\/csv/);
    const { out, text } = collect();
    const res = await opened.write(out);
    const rows = parse(text(), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.I)).toEqual(['3', '4', '5']); // units 0, 1, 2 are under k = 3
    expect(res).toEqual({ rows: 3, suppressed: 3 });
    expect(rows[0]!.Amount).toBe('3.00');
    expect(rows[0]!.User).not.toContain('client-42');
    // The same key gives the same pseudonym (kept in the database), the admin gets the raw id.
    const again = collect();
    await (await x.open('numbers', 'csv', { n: '4', user: 'client-42' }, { keyId: 'k2', admin: false })).write(again.out);
    expect((parse(again.text(), { columns: true }) as Record<string, string>[])[0]!.User).toBe(rows[0]!.User);
    const admin = collect();
    await (await x.open('numbers', 'csv', { n: '4', user: 'client-42' }, { keyId: 'k0', admin: true })).write(admin.out);
    expect((parse(admin.text(), { columns: true }) as Record<string, string>[])[0]!.User).toBe('client-42');
  });

  it('refuses unknown reports and formats before any byte', async () => {
    await expect(x.open('nope', 'csv', {}, { keyId: null, admin: false })).rejects.toMatchObject({ status: 404 });
    await expect(x.open('numbers', 'pdf', {}, { keyId: null, admin: false })).rejects.toMatchObject({ status: 400, problems: [{ path: 'format' }] });
  });

  it('stops reading rows when the destination goes away', async () => {
    const before = { ...state };
    const opened = await x.open('numbers', 'csv', { n: '1000000' }, { keyId: null, admin: true });
    // A slow client: accepts a little, then hangs up.
    let seen = 0;
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) { seen += chunk.length; if (seen > 50_000) this.destroy(new Error('client went away')); else setTimeout(cb, 1); },
    });
    await expect(opened.write(sink)).rejects.toThrow();
    expect(state.closed).toBe(before.closed + 1);
    expect(state.produced - before.produced).toBeLessThan(100_000);
  });

  it('stops when aborted', async () => {
    const before = state.closed;
    const opened = await x.open('numbers', 'xlsx', { n: '1000000' }, { keyId: null, admin: true });
    const ac = new AbortController();
    const out = new PassThrough();
    out.resume();
    const pending = opened.write(out, { signal: ac.signal, onProgress: (n) => { if (n >= 5_000) ac.abort(new Error('enough')); } });
    await expect(pending).rejects.toThrow();
    expect(state.closed).toBe(before + 1);
  });

  it('runs a job: progress, the file, who may see it, expiry', async () => {
    const job = await x.createJob('numbers', 'csv', { n: '2000' }, { keyId: 'alice', admin: false });
    expect(job).toMatchObject({ status: 'queued', report: 'numbers', format: 'csv' });
    // Parameters are stored as they applied, so a retry tomorrow exports the same range.
    expect(job.params.from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    await until(async () => (await x.getJob(job.id, { keyId: 'alice', admin: false })).status === 'done');
    const done = await x.getJob(job.id, { keyId: 'alice', admin: false });
    expect(done.rowsWritten).toBe(1997);
    expect(done.expiresAt).toBe(done.finishedAt! + DAY);
    const file = await x.openFile(job.id, { keyId: 'alice', admin: false });
    expect(file.size).toBe(done.fileBytes);
    const text = readFileSync(join(dir, `${job.id}.csv`), 'utf8');
    expect(parse(text, { columns: true })).toHaveLength(1997);
    file.stream.destroy();
    await expect(x.getJob(job.id, { keyId: 'bob', admin: false })).rejects.toMatchObject({ status: 404 });
    expect((await x.listJobs({ keyId: 'bob', admin: false })).map((j) => j.id)).not.toContain(job.id);
    expect((await x.listJobs({ keyId: 'root', admin: true })).map((j) => j.id)).toContain(job.id);

    clock += DAY + 1;
    await expect(x.openFile(job.id, { keyId: 'alice', admin: false })).rejects.toMatchObject({ status: 410 });
    expect(await x.sweep()).toEqual({ expired: 1 });
    expect((await x.getJob(job.id, { keyId: 'alice', admin: false })).status).toBe('expired');
    expect(() => readFileSync(join(dir, `${job.id}.csv`))).toThrow();
  });

  it('marks a job with bad input failed, once', async () => {
    const job = await x.createJob('numbers', 'xlsx', { fail: 'true' }, { keyId: 'alice', admin: false });
    await until(async () => (await x.getJob(job.id, { keyId: 'alice', admin: false })).status === 'failed');
    const failed = await x.getJob(job.id, { keyId: 'alice', admin: false });
    expect(failed.error).toMatch(/asked to fail/);
    await expect(x.openFile(job.id, { keyId: 'alice', admin: false })).rejects.toMatchObject({ status: 409 });
  });

  it('checks schedules at start and keeps the queue\'s export schedules in line with config', async () => {
    expect(() => make(['daily=nope:csv@0 6 * * *'])).toThrow(ConfigError);
    expect(() => make(['daily=numbers:csv@0 6 * * *?n=many'])).toThrow(/n must be an integer/);
    await make(['daily=numbers:csv@0 6 * * *?n=5', 'weekly=numbers:xlsx@0 7 * * 1']).ensureSchedules();
    let ids = (await platform.queue.schedules()).map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['export-daily', 'export-weekly', 'exports-sweep']));
    await make(['weekly=numbers:xlsx@0 7 * * 1']).ensureSchedules();
    ids = (await platform.queue.schedules()).map((s) => s.id);
    expect(ids).not.toContain('export-daily');
    expect(ids).toContain('export-weekly');
  });

  it('runs a scheduled export as a job nobody owns, pseudonymised', async () => {
    const sx = make(['daily=numbers:csv@0 6 * * *?n=7&user=client-1']);
    const scheduled = sx.jobs().find((j) => j.name === 'exports.scheduled')!;
    const res = await scheduled.handler({ schedule: 'daily' } as never, { log: platform.log } as never) as { job: string };
    await until(async () => (await x.getJob(res.job, { keyId: 'anyone', admin: false })).status === 'done');
    const job = await x.getJob(res.job, { keyId: 'anyone', admin: false });
    expect(job).toMatchObject({ schedule: 'daily', rowsWritten: 4 });
    const text = readFileSync(join(dir, `${job.id}.csv`), 'utf8');
    expect(text).not.toContain('client-1');
  });
});
