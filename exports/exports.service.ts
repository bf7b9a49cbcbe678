// Exports: runs a report from the catalog through the privacy rules and one of the streaming
// writers, either straight into an HTTP response or CLI file, or as a queued job whose file is
// kept until it expires. Computes no statistics itself: the reports ask the domains' tables.
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { AppError, ConfigError, NotFoundError, ValidationError } from '../platform/errors/app-error.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import type { Logger } from '../platform/logging/logger.js';
import { UnrecoverableJobError, type JobContext, type JobDefinition, type JobQueue } from '../platform/queue/queue.types.js';
import {
  ensureSecret, finishExportJob, getExportJob, insertExportJob, listExpiredExportJobs, listExportJobs,
  markExportExpired, startExportJob, updateExportProgress, type ExportJobRow,
} from './export-job.repository.js';
import type { ExportJobStatus } from './export-job.table.js';
import { writeCsv } from './format/csv-writer.js';
import { batchedRows, batchesOf } from './row-batches.js';
import { CONTENT_TYPES } from './format/write-options.js';
import { writeXlsx } from './format/xlsx-writer.js';
import { createPseudonymiser, suppressSmallGroups } from './privacy.js';
import { exportFileName, parseReportParams, type ParsedParams } from './report-params.js';
import type { ReportContext, ReportDefinition, ReportOutput, ReportParam, ReportRow, ReportSheet } from './report.types.js';

declare module '../platform/queue/queue.types.js' {
  interface JobTypes {
    'exports.run': { id: string };
    'exports.scheduled': { schedule: string };
    'exports.sweep': Record<string, never>;
  }
}

export type ExportFormat = 'csv' | 'xlsx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'xlsx'];

export interface ExportSchedule {
  name: string;
  report: string;
  format: ExportFormat;
  cron: string;
  params: Record<string, string>;
}

export interface ExportSettings {
  /** Where job files are written (shared storage when API and workers run on different hosts). */
  dir: string;
  /** Aggregate rows describing fewer units than this are suppressed. */
  minGroupSize: number;
  fileTtlMs: number;
  /** HMAC key of pseudonymised user ids; null: one generated once and kept in the database. */
  pseudonymKey: string | null;
  schedules: readonly ExportSchedule[];
  /** Rows between progress writes of a running job (and progress callbacks). */
  progressEveryMs?: number;
}

/** Who asks: an API key (its id), whether it is an admin (raw ids), or a schedule. */
export interface ExportCaller { keyId: string | null; admin: boolean }

export interface ReportInfo {
  key: string;
  title: string;
  description: string;
  params: ReportParam[];
}

export interface ExportJob {
  id: string;
  report: string;
  format: ExportFormat;
  params: Record<string, string>;
  status: ExportJobStatus;
  rowsWritten: number;
  fileName: string;
  fileBytes: number | null;
  schedule: string | null;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  expiresAt: number | null;
}

export interface OpenedExport {
  fileName: string;
  contentType: string;
  /** Streams the file into `out` (respecting its backpressure) and ends it; aborting stops the query. */
  write(out: Writable, opts?: { signal?: AbortSignal; onProgress?: (rows: number) => void }): Promise<{ rows: number; suppressed: number }>;
}

const PSEUDONYM_SECRET = 'exports.pseudonym-key';
const SCHEDULE_PREFIX = 'export-';

function toJob(row: ExportJobRow): ExportJob {
  return {
    id: row.id, report: row.report, format: row.format as ExportFormat, params: JSON.parse(row.params) as Record<string, string>,
    status: row.status, rowsWritten: Number(row.rows_written), fileName: row.file_name,
    fileBytes: row.file_bytes === null ? null : Number(row.file_bytes), schedule: row.schedule, error: row.error,
    createdAt: Number(row.created_at), startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at), expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}

/** `name=report:format@cron?query`, the config form of a scheduled export. */
export function parseExportSchedule(spec: string): ExportSchedule | string {
  const m = /^([a-z][a-z0-9_-]{0,63})=([a-z][a-z0-9-]{0,63}):(csv|xlsx)@((?:\S+\s+){4}[^\s?]+)(?:\?(\S*))?$/.exec(spec.trim());
  if (!m) return 'must look like name=report:csv|xlsx@<five-field cron>[?param=value&…]';
  return { name: m[1]!, report: m[2]!, format: m[3] as ExportFormat, cron: m[4]!, params: Object.fromEntries(new URLSearchParams(m[5] ?? '')) };
}

/**
 * Reads the sheet's first batch of rows now, so a failing query (a database outage, a bad filter)
 * surfaces before any byte is sent. A hand-rolled iterator rather than a generator: `return()` on a
 * generator that never started would skip its cleanup and leave the started cursor open.
 */
async function primed(sheet: ReportSheet): Promise<ReportSheet> {
  const source = batchesOf(sheet.rows);
  let first: IteratorResult<readonly ReportRow[]> | null = await source.next();
  const batches: AsyncIterator<readonly ReportRow[]> = {
    next: async () => {
      if (first) { const r = first; first = null; return r; }
      return source.next();
    },
    return: async () => {
      first = null;
      await source.return?.();
      return { done: true, value: undefined };
    },
  };
  return { ...sheet, rows: batchedRows(() => batches) };
}

export function createExportService(deps: {
  db: DatabaseHandle;
  queue: JobQueue;
  log: Logger;
  settings: ExportSettings;
  reports: readonly ReportDefinition[];
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const { settings } = deps;
  const progressEveryMs = settings.progressEveryMs ?? 500;
  const byKey = new Map(deps.reports.map((r) => [r.key, r]));
  let keyPromise: Promise<string> | null = settings.pseudonymKey ? Promise.resolve(settings.pseudonymKey) : null;

  // Checked once, so a typo in a schedule stops the process at start, naming the setting.
  for (const s of settings.schedules) {
    const def = byKey.get(s.report);
    if (!def) throw new ConfigError([{ path: 'exports.schedules', message: `${s.name} names an unknown report ${s.report} (reports: ${[...byKey.keys()].join(', ')})` }]);
    try { parseReportParams(def, s.params, now()); } catch (err) {
      throw new ConfigError([{ path: 'exports.schedules', message: `${s.name}: ${(err as Error).message}` }]);
    }
  }

  function report(key: string): ReportDefinition {
    const r = byKey.get(key);
    if (!r) throw new NotFoundError(`no report ${key}`, { report: key, reports: [...byKey.keys()] });
    return r;
  }

  function checkFormat(format: string): ExportFormat {
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new ValidationError(`format must be csv or xlsx (got ${JSON.stringify(format)})`, [{ path: 'format', message: 'must be csv or xlsx' }]);
    }
    return format as ExportFormat;
  }

  async function pseudonymKey(): Promise<string> {
    keyPromise ??= ensureSecret(deps.db.db, PSEUDONYM_SECRET, () => randomBytes(32).toString('hex'), now())
      .catch((err: unknown) => { keyPromise = null; throw err; });
    return keyPromise;
  }

  async function context(caller: ExportCaller): Promise<ReportContext> {
    const pseudonymise = caller.admin ? (id: string) => id : createPseudonymiser(await pseudonymKey());
    return { db: deps.db.db, dialect: deps.db.dialect, pseudonymise, now: now() };
  }

  /** Runs the report's queries (failing here, before any byte is sent) and applies suppression. */
  async function prepare(def: ReportDefinition, parsed: ParsedParams, caller: ExportCaller): Promise<{ output: ReportOutput; suppressed: () => number }> {
    const output = await def.run(await context(caller), parsed.values);
    const counters: (() => number)[] = [];
    const sheets = output.sheets.map((sheet) => {
      if (!sheet.unitsKey) return sheet;
      const s = suppressSmallGroups(sheet, settings.minGroupSize);
      counters.push(s.suppressed);
      return s.sheet;
    });
    if (sheets[0]) sheets[0] = await primed(sheets[0]);
    return { output: { ...output, sheets }, suppressed: () => counters.reduce((a, f) => a + f(), 0) };
  }

  function writer(def: ReportDefinition, format: ExportFormat, parsed: ParsedParams, prepared: { output: ReportOutput; suppressed: () => number }, bom: boolean) {
    return async (out: Writable, opts: { signal?: AbortSignal; onProgress?: (rows: number) => void } = {}) => {
      const aggregate = prepared.output.sheets.some((sh) => sh.unitsKey);
      const notes = [...(prepared.output.notes ?? []), ...(aggregate ? [`Groups describing fewer than ${settings.minGroupSize} units are suppressed.`] : [])];
      const common = {
        title: def.title, params: parsed.shown, notes, bom,
        ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      };
      const first = prepared.output.sheets[0];
      if (format === 'csv' && !first) throw new AppError('report_empty', 500, `report ${def.key} produced no sheet`);
      const res = format === 'csv' ? await writeCsv(first!, out, common) : await writeXlsx(prepared.output, out, common);
      return { rows: res.rows, suppressed: prepared.suppressed() };
    };
  }

  async function open(key: string, format: string, raw: Readonly<Record<string, unknown>>, caller: ExportCaller, opts: { bom?: boolean } = {}): Promise<OpenedExport> {
    const def = report(key);
    const fmt = checkFormat(format);
    const parsed = parseReportParams(def, raw, now());
    const prepared = await prepare(def, parsed, caller);
    return { fileName: exportFileName(def.key, parsed.shown, fmt), contentType: CONTENT_TYPES[fmt], write: writer(def, fmt, parsed, prepared, opts.bom ?? false) };
  }

  function filePath(job: { id: string; format: string }): string {
    return join(settings.dir, `${job.id}.${job.format}`);
  }

  async function createJob(key: string, format: string, raw: Readonly<Record<string, unknown>>, caller: ExportCaller, schedule: string | null): Promise<ExportJob> {
    const def = report(key);
    const fmt = checkFormat(format);
    const parsed = parseReportParams(def, raw, now());
    // Stored as shown (absolute dates), so a retry tomorrow exports the same range as asked today.
    const params = Object.fromEntries(parsed.shown.map((p) => [p.name, p.value]));
    const row = {
      id: `exp_${randomUUID().replaceAll('-', '')}`, report: def.key, format: fmt, params: JSON.stringify(params), status: 'queued' as const,
      rows_written: 0, file_name: exportFileName(def.key, parsed.shown, fmt), file_bytes: null, requested_by: caller.keyId,
      raw_ids: caller.admin ? 1 : 0, schedule, error: null, created_at: now(), started_at: null, finished_at: null, expires_at: null,
    };
    await insertExportJob(deps.db.db, row);
    await deps.queue.enqueue('exports.run', { id: row.id }, { jobId: row.id });
    return toJob(row);
  }

  function visible(row: ExportJobRow, caller: ExportCaller): boolean {
    return caller.admin || row.requested_by === null || row.requested_by === caller.keyId;
  }

  async function findJob(id: string, caller: ExportCaller): Promise<ExportJobRow> {
    const row = await getExportJob(deps.db.db, id);
    // Someone else's export is reported as absent, not forbidden: ids are not to be probed.
    if (!row || !visible(row, caller)) throw new NotFoundError(`no export job ${id}`, { id });
    return row;
  }

  async function runJob(id: string, ctx: JobContext): Promise<{ rows: number }> {
    const row = await getExportJob(deps.db.db, id);
    if (!row) throw new UnrecoverableJobError(`export job ${id} does not exist`);
    if (!await startExportJob(deps.db.db, id, now())) return { rows: Number(row.rows_written) }; // already finished: a redelivery
    const caller: ExportCaller = { keyId: row.requested_by, admin: Boolean(Number(row.raw_ids)) };
    const part = `${filePath(row)}.part`;
    let rows = 0;
    try {
      const def = report(row.report);
      const parsed = parseReportParams(def, JSON.parse(row.params) as Record<string, string>, Number(row.created_at));
      const prepared = await prepare(def, parsed, caller);
      await mkdir(settings.dir, { recursive: true });
      const out = createWriteStream(part);
      let lastWrite = now();
      const result = await writer(def, row.format as ExportFormat, parsed, prepared, false)(out, {
        signal: ctx.signal,
        onProgress: (n) => {
          rows = n;
          if (now() - lastWrite < progressEveryMs) return;
          lastWrite = now();
          void updateExportProgress(deps.db.db, id, n).catch(() => { /* progress is advisory */ });
        },
      });
      await rename(part, filePath(row));
      const size = (await stat(filePath(row))).size;
      const at = now();
      await finishExportJob(deps.db.db, id, { status: 'done', rowsWritten: result.rows, fileBytes: size, error: null, at, expiresAt: at + settings.fileTtlMs });
      ctx.log.info({ export: id, report: row.report, rows: result.rows, bytes: size, suppressed: result.suppressed }, 'export written');
      return { rows: result.rows };
    } catch (err) {
      await rm(part, { force: true });
      const badInput = err instanceof AppError && err.status < 500;
      if (badInput || ctx.attempt >= ctx.maxAttempts) {
        await finishExportJob(deps.db.db, id, { status: 'failed', rowsWritten: rows, fileBytes: null, error: (err as Error).message, at: now(), expiresAt: null })
          .catch(() => { /* the dead letter keeps the reason too */ });
      }
      if (badInput) throw new UnrecoverableJobError((err as Error).message);
      throw err; // a database outage: retried with backoff, the row stays claimable
    }
  }

  async function sweep(): Promise<{ expired: number }> {
    let expired = 0;
    for (;;) {
      const rows = await listExpiredExportJobs(deps.db.db, now(), 100);
      for (const row of rows) {
        await rm(filePath(row), { force: true });
        await markExportExpired(deps.db.db, row.id);
        expired += 1;
      }
      if (rows.length < 100) return { expired };
    }
  }

  return {
    catalog(): ReportInfo[] {
      return deps.reports.map((r) => ({ key: r.key, title: r.title, description: r.description, params: r.params.map((p) => ({ ...p })) }));
    },
    open,
    createJob: (key: string, format: string, raw: Readonly<Record<string, unknown>>, caller: ExportCaller) => createJob(key, format, raw, caller, null),
    async getJob(id: string, caller: ExportCaller): Promise<ExportJob> {
      return toJob(await findJob(id, caller));
    },
    async listJobs(caller: ExportCaller, limit = 50): Promise<ExportJob[]> {
      const rows = await listExportJobs(deps.db.db, caller.admin ? { limit } : { visibleTo: caller.keyId, limit });
      return rows.map(toJob);
    },
    /** The finished file of a job, while it lasts. */
    async openFile(id: string, caller: ExportCaller): Promise<{ stream: Readable; fileName: string; contentType: string; size: number }> {
      const row = await findJob(id, caller);
      if (row.status === 'expired' || (row.status === 'done' && row.expires_at !== null && Number(row.expires_at) <= now())) {
        throw new AppError('gone', 410, `export ${id} expired at ${new Date(Number(row.expires_at)).toISOString()}; start it again`, { id });
      }
      if (row.status !== 'done') throw new AppError('not_ready', 409, `export ${id} is ${row.status}${row.error ? `: ${row.error}` : ''}`, { id, status: row.status });
      const path = filePath(row);
      const size = (await stat(path).catch(() => { throw new AppError('gone', 410, `export ${id}'s file is no longer there; start it again`, { id }); })).size;
      return { stream: createReadStream(path), fileName: row.file_name, contentType: CONTENT_TYPES[row.format as ExportFormat], size };
    },
    schedules(): readonly ExportSchedule[] {
      return settings.schedules;
    },
    /** Upserts each configured schedule and the expiry sweep; removes export schedules no longer configured. */
    async ensureSchedules(): Promise<void> {
      const wanted = new Set(settings.schedules.map((s) => `${SCHEDULE_PREFIX}${s.name}`));
      for (const s of settings.schedules) await deps.queue.upsertSchedule(`${SCHEDULE_PREFIX}${s.name}`, s.cron, { name: 'exports.scheduled', payload: { schedule: s.name } });
      for (const s of await deps.queue.schedules()) if (s.id.startsWith(SCHEDULE_PREFIX) && !wanted.has(s.id)) await deps.queue.removeSchedule(s.id);
      await deps.queue.upsertSchedule('exports-sweep', '17 * * * *', { name: 'exports.sweep', payload: {} });
    },
    sweep,
    runJob,
    jobs(): JobDefinition[] {
      const run: JobDefinition<'exports.run'> = { name: 'exports.run', concurrency: 2, handler: (p, ctx) => runJob(p.id, ctx) };
      const scheduled: JobDefinition<'exports.scheduled'> = {
        name: 'exports.scheduled',
        handler: async (p) => {
          const s = settings.schedules.find((x) => x.name === p.schedule);
          if (!s) return { skipped: `schedule ${p.schedule} is no longer configured` };
          const row = await createJob(s.report, s.format, s.params, { keyId: null, admin: false }, s.name);
          return { job: row.id };
        },
      };
      const sweepJob: JobDefinition<'exports.sweep'> = { name: 'exports.sweep', handler: () => sweep() };
      return [run, scheduled, sweepJob] as unknown as JobDefinition[];
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;

