// The streaming core of bulk import, shared by `gigintel import` and POST /v1/import/:table: read
// CSV or NDJSON as a stream, validate row by row against the table spec, write chunks through the
// idempotent upsert, and turn every bad row (validation, duplicate key, database refusal) into a
// reject with its file line. Memory stays flat except for the map of keys already seen.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import { sql, type Kysely } from 'kysely';
import type { Actor, AuditLog } from '../../platform/audit/audit-log.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, PayloadTooLargeError, ValidationError, dependencyFailure } from '../../platform/errors/app-error.js';
import { upsertRows } from '../contract/source.repository.js';
import { IMPORTABLE_TABLES, tableSpec, type TableSpec } from '../contract/table-specs.js';
import { validateRow } from '../contract/validate-row.js';

export type ImportFormat = 'csv' | 'ndjson';

export interface ImportReject {
  /** 1-based line in the file (the CSV header is line 1); 0 when the problem is the whole file. */
  line: number;
  /** The column concerned, or "" for the row as a whole. */
  field: string;
  reason: string;
}

export interface ImportReport {
  table: string;
  format: ImportFormat;
  dryRun: boolean;
  /** Data rows read (blank lines not counted). */
  rows: number;
  /** Rows accepted by the database: inserted, updated, or already identical (left untouched). */
  written: number;
  /** Rows rejected (a row with three bad fields counts once). */
  rejected: number;
  /** Reject entries, one per problem: the first `keepRejects`, ordered by line. */
  rejects: ImportReject[];
  rejectsTotal: number;
  durationMs: number;
}

export interface ImportProgress { rows: number; bytes: number; written: number; rejected: number }

export interface ImportOptions {
  db: Db;
  table: string;
  format: ImportFormat;
  input: Readable;
  dryRun?: boolean;
  chunkSize?: number;
  /** How many reject entries the report keeps (default 1,000); every one still goes to onReject. */
  keepRejects?: number;
  /** Chunk transactions in flight at once (default 4; 1 for tables that reference themselves). */
  concurrency?: number;
  /** Refuse input larger than this many bytes (HTTP bodies). */
  maxBytes?: number;
  /** Every reject as it is found; a returned promise is awaited (backpressure for a rejects file). */
  onReject?: (reject: ImportReject) => void | Promise<void>;
  /** Called after every chunk. */
  onProgress?: (p: ImportProgress) => void;
  /** Records import.completed when both are given and the run wrote. */
  audit?: AuditLog;
  actor?: Actor;
  /** Where the data came from, for the audit entry (a file name, "http"). */
  source?: string;
}

export const DEFAULT_CHUNK_SIZE = 2_500; // measured: 47k rows/s at 1,000, 53k at 2,500 (docs/benchmarks.md)
export const MAX_CHUNK_SIZE = 10_000;
/** Chunks written at once (each on its own connection; SQLite serialises them anyway). */
export const DEFAULT_CONCURRENCY = 4;

/** The spec of an importable table, or a ValidationError that lists the importable ones. */
export function importableSpec(table: string): TableSpec {
  const spec = tableSpec(table);
  if (!spec) {
    throw new ValidationError(`unknown table "${table}"; importable tables: ${IMPORTABLE_TABLES.join(', ')}`,
      [{ path: 'table', message: `must be one of ${IMPORTABLE_TABLES.join(', ')}` }]);
  }
  return spec;
}

export async function importRows(opts: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const spec = importableSpec(opts.table);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new ValidationError(`chunk size must be a whole number from 1 to ${MAX_CHUNK_SIZE}`, [{ path: 'chunkSize', message: 'out of range' }]);
  }
  const keep = opts.keepRejects ?? 1_000;
  const dryRun = opts.dryRun ?? false;
  const stamp = spec.eventLike ? 'ingested_at' : 'updated_at';
  const now = Date.now(); // one arrival time for the whole import

  const counter = new ByteCounter(opts.maxBytes);
  const counted = opts.input.pipe(counter);
  // A failing source (socket reset, unreadable file) must end the parse, not hang it.
  opts.input.once('error', (err) => counted.destroy(err));

  const kept: ImportReject[] = [];
  let rows = 0, written = 0, rejected = 0, rejectsTotal = 0;
  // Natural key → first line it appeared on: the only structure that grows with the file.
  const seen = new Map<string, number>();
  let chunk: { line: number; row: Record<string, unknown> }[] = [];
  const inFlight: Promise<void>[] = [];
  // Chunks hold disjoint keys, so several may commit at once, except where a table references
  // itself (category.parent_id): a parent must commit before the chunk that names it.
  const selfRef = spec.columns.some((c) => c.ref === spec.table);
  const parallel = selfRef ? 1 : Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);

  const reject = async (line: number, problems: { field: string; reason: string }[]) => {
    rejected++;
    for (const p of problems) {
      rejectsTotal++;
      const r = { line, field: p.field, reason: p.reason };
      if (kept.length < keep) kept.push(r);
      const wait = opts.onReject?.(r);
      if (wait) await wait;
    }
  };

  // A record the reader could not even turn into fields (bad JSON, wrong field count).
  const unreadable = async (line: number, reason: string) => {
    rows++;
    await reject(line, [{ field: '', reason }]);
  };

  const accept = async (line: number, record: Record<string, unknown>) => {
    rows++;
    const result = validateRow(spec, record, now);
    if (!result.ok) {
      await reject(line, result.problems.map((p) => ({ field: p.path, reason: p.message })));
      return;
    }
    const key = spec.key.length === 1 ? String(result.row[spec.key[0]!]) : spec.key.map((k) => String(result.row[k])).join('\u001f');
    const first = seen.get(key);
    if (first !== undefined) {
      await reject(line, [{ field: spec.key.join(','), reason: `duplicate of line ${first} (same ${spec.key.join(', ')})` }]);
      return;
    }
    seen.set(key, line);
    chunk.push({ line, row: result.row });
    if (chunk.length >= chunkSize) await flush();
  };

  // Writes run while the next chunks are parsed and validated, up to `parallel` at once, so the
  // database and the CPU work at the same time.
  const flush = async () => {
    const batch = chunk;
    chunk = [];
    if (batch.length === 0) return;
    while (inFlight.length >= parallel) await inFlight.shift();
    const write = writeChunk(batch).then(() => opts.onProgress?.({ rows, bytes: counter.bytes, written, rejected }));
    // Marked handled so a failure waits, without an unhandled rejection, for the next await on it.
    write.catch(() => undefined);
    inFlight.push(write);
  };

  const writeChunk = async (batch: { line: number; row: Record<string, unknown> }[]) => {
    if (dryRun) { written += batch.length; return; }
    try {
      await transient(() => opts.db.transaction().execute((tx) => upsertRows(tx, spec.table, spec.key, batch.map((b) => b.row), stamp)));
      written += batch.length;
      return;
    } catch (err) {
      if (dependencyFailure(err)) throw dependencyFailure(err);
      if (batch.length === 1) {
        await reject(batch[0]!.line, [await databaseProblem(opts.db, spec, batch[0]!.row, err)]);
        return;
      }
    }
    // The chunk was refused as a whole: find the culprit(s) row by row, keep the rest.
    for (const b of batch) {
      try {
        await transient(() => upsertRows(opts.db, spec.table, spec.key, [b.row], stamp));
        written++;
      } catch (err) {
        if (dependencyFailure(err)) throw dependencyFailure(err);
        await reject(b.line, [await databaseProblem(opts.db, spec, b.row, err)]);
      }
    }
  };

  try {
    if (opts.format === 'csv') await readCsv(counted, spec, accept, unreadable);
    else await readNdjson(counted, accept, unreadable);
    await flush();
    while (inFlight.length) await inFlight.shift();
  } catch (err) {
    await Promise.allSettled(inFlight);
    if (counter.tooLarge) throw new PayloadTooLargeError(`the import is larger than ${opts.maxBytes} bytes`, { maxBytes: opts.maxBytes });
    if (err instanceof AppError) throw err;
    throw dependencyFailure(err) ?? err;
  }

  const report: ImportReport = {
    table: spec.table, format: opts.format, dryRun, rows, written, rejected,
    rejects: kept.sort((a, b) => a.line - b.line), rejectsTotal, durationMs: Math.round(performance.now() - started),
  };
  opts.onProgress?.({ rows, bytes: counter.bytes, written, rejected });
  if (!dryRun && opts.audit && opts.actor) {
    await opts.audit.record(opts.db, opts.actor, 'import.completed', { type: 'table', id: spec.table }, {
      source: opts.source ?? null, format: opts.format, rows, written, rejected, durationMs: report.durationMs,
    });
  }
  return report;
}

type Accept = (line: number, record: Record<string, unknown>) => Promise<void>;
type Unreadable = (line: number, reason: string) => Promise<void>;

async function readCsv(input: Readable, spec: TableSpec, accept: Accept, unreadable: Unreadable): Promise<void> {
  // No `info: true`: it copies an info object per record and triples the parse cost. Lines are
  // counted here instead: blank lines are kept (one empty field) so every line is seen. Stray
  // quotes inside a field are kept as text (relax_quotes), so validation names the bad field.
  const parser = parse({ bom: true, skip_empty_lines: false, relax_column_count: true, relax_quotes: true, skip_records_with_error: true });
  // Records the parser could not read at all (a quote never closed) are skipped and reported. The
  // event fires at parse time, ahead of the records still buffered: `records` says where it belongs.
  const skipped: { records: number; lines: number; reason: string }[] = [];
  parser.on('skip', (err: Error & { lines?: number; records?: number }) => {
    skipped.push({ records: err.records ?? 0, lines: err.lines ?? 0, reason: `unreadable CSV: ${err.message}` });
  });
  input.pipe(parser);
  input.once('error', (err) => parser.destroy(err));

  let next = 1; // the line the next record starts on
  let consumed = 0;
  const reportSkips = async (all: boolean) => {
    while (skipped.length && (all || skipped[0]!.records <= consumed)) {
      const s = skipped.shift()!;
      await unreadable(next, s.reason);
      if (s.lines >= next) next = s.lines + 1;
    }
  };

  let header: string[] | null = null;
  for await (const record of parser as AsyncIterable<string[]>) {
    await reportSkips(false);
    consumed++;
    const line = next;
    next++;
    for (const f of record) if (f.includes('\n')) next += f.split('\n').length - 1; // a quoted field spanning lines
    if (record.length === 1 && record[0]!.trim() === '') continue; // a blank line
    if (!header) {
      header = checkHeader(spec, record);
      continue;
    }
    if (record.length !== header.length) {
      await unreadable(line, `has ${record.length} fields; the header has ${header.length}`);
      continue;
    }
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) obj[header[i]!] = record[i];
    await accept(line, obj);
  }
  await reportSkips(true);
  if (!header) throw new ValidationError('the CSV is empty: a header row naming the columns is required', [{ path: 'header', message: 'missing' }]);
}

/** The header must name the spec's columns: unknown, repeated or missing required ones fail the file. */
function checkHeader(spec: TableSpec, header: string[]): string[] {
  const names = header.map((h) => h.trim());
  const known = new Set(spec.columns.map((c) => c.name));
  const problems = [
    ...names.filter((n) => !known.has(n)).map((n) => ({ path: n || '(empty)', message: `is not a column of ${spec.table}` })),
    ...names.filter((n, i) => names.indexOf(n) !== i).map((n) => ({ path: n, message: 'appears twice in the header' })),
    ...spec.columns.filter((c) => c.required && !names.includes(c.name)).map((c) => ({ path: c.name, message: 'is required but missing from the header' })),
  ];
  if (problems.length) {
    throw new ValidationError(`the CSV header does not match table ${spec.table} (columns: ${spec.columns.map((c) => c.name).join(', ')})`, problems);
  }
  return names;
}

async function readNdjson(input: Readable, accept: Accept, unreadable: Unreadable): Promise<void> {
  // Our own line splitter rather than readline: iterating the stream passes its errors on.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let n = 0;
  const one = async (text: string) => {
    n++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      await unreadable(n, `is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      await unreadable(n, 'must be one JSON object per line');
      return;
    }
    await accept(n, value as Record<string, unknown>);
  };
  for await (const data of input as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(data);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      await one(text.slice(start, text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.end();
  if (rest !== '') await one(rest);
}

// Concurrent chunks can deadlock on index gaps in InnoDB; that is a reason to try again, not a bad row.
const TRANSIENT = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY']);

async function transient<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !TRANSIENT.has(String((err as { code?: unknown }).code))) throw err;
      await new Promise((r) => setTimeout(r, 20 * i * Math.random() + 5));
    }
  }
}

/** A clear reason for a row the database refused, naming the column where it can be found. */
async function databaseProblem(db: Db, spec: TableSpec, row: Record<string, unknown>, err: unknown): Promise<{ field: string; reason: string }> {
  const message = (err as Error).message ?? String(err);
  if (/foreign key/i.test(message)) {
    // SQLite does not say which reference failed, so look each one up (rare: only refused rows get here).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const k = db as unknown as Kysely<any>;
    for (const col of spec.columns) {
      const value = row[col.name];
      if (!col.ref || value == null) continue;
      const found = await k.selectFrom(col.ref).select(sql`1`.as('one')).where('id', '=', value).executeTakeFirst();
      if (!found) return { field: col.name, reason: `no ${col.ref} with id ${JSON.stringify(value)}` };
    }
    return { field: '', reason: `refused by the database (foreign key): ${message}` };
  }
  // An optional column the table declares NOT NULL (it has a default the import cannot express).
  const notNull = /Column '(\w+)' cannot be null/.exec(message) ?? /NOT NULL constraint failed: \w+\.(\w+)/.exec(message);
  if (notNull) return { field: notNull[1]!, reason: 'may not be empty in the database table; give a value' };
  const unique = /Duplicate entry '(.*)' for key '([^']*)'/.exec(message) ?? /UNIQUE constraint failed: ([\w.]+)/.exec(message);
  if (unique) {
    const column = spec.columns.find((c) => (unique[2] ?? unique[1] ?? '').includes(c.name))?.name ?? '';
    return { field: column, reason: `another row already has this ${column || 'value'} (unique)` };
  }
  return { field: '', reason: `refused by the database: ${message}` };
}

/** Counts bytes for progress and enforces an optional limit without buffering. */
class ByteCounter extends Transform {
  bytes = 0;
  tooLarge = false;
  constructor(private readonly max?: number) { super(); }
  override _transform(data: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += data.length;
    if (this.max !== undefined && this.bytes > this.max) {
      this.tooLarge = true;
      done(new PayloadTooLargeError(`the import is larger than ${this.max} bytes`, { maxBytes: this.max }));
      return;
    }
    done(null, data);
  }
}
