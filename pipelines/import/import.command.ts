// gigintel import <table> <file>: the CLI face of the import core. Rejects stream into a CSV file
// as they are found; a progress bar on a terminal, one summary line otherwise.
import { createReadStream, createWriteStream, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../../services/cli/cli-context.js';
import { IMPORTABLE_TABLES } from '../contract/table-specs.js';
import type { ImportFormat, ImportProgress, ImportReject } from './import-rows.js';

/** Exit code when --strict is given and anything was rejected (usage errors are 2). */
export const STRICT_EXIT_CODE = 3;

interface ImportCliOptions { format?: ImportFormat; dryRun?: boolean; strict?: boolean; rejects?: string; chunkSize?: number }

function chunkSizeArg(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return Number(v);
}

export function formatOf(file: string, given?: ImportFormat): ImportFormat {
  if (given) return given;
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  throw new ValidationError(`cannot tell the format of ${file} from its extension; pass --format csv or --format ndjson`,
    [{ path: 'format', message: 'use a .csv or .ndjson file, or --format' }]);
}

export function importCommand(): Command {
  return new Command('import')
    .description('load a CSV (header row) or NDJSON file into a marketplace table; idempotent on natural keys')
    .argument('<table>', `one of ${IMPORTABLE_TABLES.join(', ')}`)
    .argument('<file>', 'the .csv or .ndjson file')
    .addOption(new Option('--format <format>', 'override the format guessed from the extension').choices(['csv', 'ndjson']))
    .option('--dry-run', 'validate and report without writing')
    .option('--strict', `exit ${STRICT_EXIT_CODE} when any row was rejected`)
    .option('--rejects <file>', 'where to write rejected rows as CSV (default <file>.rejects.csv)')
    .option('--chunk-size <n>', 'rows per upsert transaction (default 2500)', chunkSizeArg)
    .action(async function (this: Command, table: string, file: string, o: ImportCliOptions) {
      // Checked before the platform starts: a typo should not wait for a database connection.
      if (!IMPORTABLE_TABLES.includes(table)) {
        throw new ValidationError(`unknown table "${table}"; importable tables: ${IMPORTABLE_TABLES.join(', ')}`);
      }
      let size: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        throw new NotFoundError(`file not found: ${file}`, { file });
      }
      const format = formatOf(file, o.format);
      const rejectsFile = o.rejects ?? `${file}.rejects.csv`;
      const config = configFrom(this);
      const { importRows } = await import('./import-rows.js'); // drivers and parsers only for this command

      const rejects = new RejectsWriter(rejectsFile);
      const progress = await progressReporter(size);
      try {
        const report = await withPlatform(config, {}, async (platform, services) => importRows({
          db: platform.db.db, table, format, input: createReadStream(file),
          dryRun: o.dryRun ?? false, ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}), keepRejects: 0,
          onReject: (r) => rejects.write(r), onProgress: progress.update,
          audit: services.audit, actor: { type: 'cli', id: userInfo().username }, source: file,
        }));
        progress.stop();
        await rejects.close();
        const secs = Math.max(report.durationMs, 1) / 1000;
        process.stdout.write(`${report.dryRun ? '[dry run] ' : ''}${table}: ${report.rows} rows, ${report.written} ${report.dryRun ? 'valid' : 'written'}, ` +
          `${report.rejected} rejected${report.rejected ? ` (details in ${rejectsFile})` : ''}; ${secs.toFixed(1)} s, ${Math.round(report.rows / secs)} rows/s\n`);
        if (o.strict && report.rejected > 0) process.exitCode = STRICT_EXIT_CODE;
      } finally {
        progress.stop();
        await rejects.close();
      }
    });
}

/** Opened on the first reject, so a clean import leaves no empty rejects file behind. */
class RejectsWriter {
  private out: WriteStream | null = null;
  constructor(private readonly path: string) {}
  async write(r: ImportReject): Promise<void> {
    if (!this.out) {
      this.out = createWriteStream(this.path);
      this.out.write('line,field,reason\n');
    }
    if (!this.out.write(`${r.line},${csvCell(r.field)},${csvCell(r.reason)}\n`)) await once(this.out, 'drain');
  }
  async close(): Promise<void> {
    const out = this.out;
    this.out = null;
    if (out) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A bar by bytes read on a terminal (stderr); nothing until the summary line otherwise. */
async function progressReporter(totalBytes: number): Promise<{ update: (p: ImportProgress) => void; stop: () => void }> {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const started = performance.now();
  const bar = new SingleBar({
    stream: process.stderr, hideCursor: true, clearOnComplete: true,
    format: '{bar} {percentage}% | {rows} rows | {rate} rows/s | {rejected} rejected | ETA {eta_formatted}',
  }, Presets.shades_classic);
  bar.start(Math.max(totalBytes, 1), 0, { rows: 0, rate: 0, rejected: 0 });
  let stopped = false;
  return {
    update: (p) => {
      if (stopped) return;
      const secs = (performance.now() - started) / 1000;
      bar.update(Math.min(p.bytes, totalBytes), { rows: p.rows, rate: Math.round(p.rows / Math.max(secs, 0.001)), rejected: p.rejected });
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
