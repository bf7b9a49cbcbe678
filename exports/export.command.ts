// gigintel export list | gigintel export <report> --format csv|xlsx --out file [--<param> value…]:
// the report catalog and downloads from the command line, over the same service as the API.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { ValidationError } from '../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../services/cli/cli-context.js';
import { REPORTS } from './reports/report-catalog.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** `--from 2026-01-01 --grain=week` and `--param from=2026-01-01`, in the order given. */
export function reportParamsFromArgs(args: readonly string[], sets: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new ValidationError(`unexpected argument ${JSON.stringify(a)}: report parameters are given as --name value`, [{ path: a, message: 'is not an option' }]);
    const eq = a.indexOf('=');
    if (eq > 0) { params[a.slice(2, eq)] = a.slice(eq + 1); continue; }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new ValidationError(`${a} needs a value`, [{ path: a.slice(2), message: 'needs a value' }]);
    params[a.slice(2)] = value;
    i += 1;
  }
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ValidationError(`--param ${s}: expected name=value`, [{ path: 'param', message: 'must be name=value' }]);
    params[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return params;
}

function format(v: string): 'csv' | 'xlsx' {
  if (v !== 'csv' && v !== 'xlsx') throw new InvalidArgumentError('must be csv or xlsx');
  return v;
}

/** Rows written so far on a terminal (the total is unknown until the query ends); nothing elsewhere. */
async function rowCounter(): Promise<{ update: (rows: number) => void; stop: () => void }> {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const started = performance.now();
  const bar = new SingleBar({ stream: process.stderr, hideCursor: true, clearOnComplete: true, format: 'exporting {value} rows  {rate} rows/s' }, Presets.shades_classic);
  bar.start(0, 0, { rate: 0 });
  return {
    update: (rows) => bar.update(rows, { rate: Math.round(rows / Math.max((performance.now() - started) / 1000, 0.001)) }),
    stop: () => bar.stop(),
  };
}

function listCommand(): Command {
  return new Command('list').description('the reports and their parameters').option('--json', 'one JSON object per report')
    .action(function (this: Command, opts: { json?: boolean }) {
      for (const r of REPORTS) {
        const params = r.params.map((p) => ({ name: p.name, type: p.type, description: p.description, ...(p.required ? { required: true } : {}), ...(p.values ? { values: [...p.values] } : {}), ...(p.default !== undefined ? { default: p.default } : {}) }));
        if (opts.json) { out(JSON.stringify({ key: r.key, title: r.title, description: r.description, params })); continue; }
        out(`${r.key}  ${r.title}`);
        out(`  ${r.description}`);
        for (const p of params) {
          const kind = p.values ? p.values.join('|') : p.type;
          out(`  --${p.name.padEnd(14)} ${kind}${p.default !== undefined ? ` (default ${p.default})` : ''}${p.required ? ' (required)' : ''}  ${p.description}`);
        }
      }
    });
}

export function exportCommand(): Command {
  const cmd = new Command('export')
    .description('Finance and monetisation reports as CSV or XLSX files (`gigintel export list` shows the reports)')
    .argument('[report]', 'the report key (see `gigintel export list`)')
    .option('--format <format>', 'csv or xlsx', format, 'csv')
    .option('--out <file>', 'where to write the file (default: the report\'s own file name in the current directory)')
    .option('--param <name=value>', 'a report parameter (repeatable); --<name> <value> works too', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--bom', 'CSV: start with a UTF-8 byte order mark (for Excel)')
    .option('--raw-ids', 'write user ids as they are rather than pseudonymised (what an admin key gets)')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', '\nExamples:\n  gigintel export list\n  gigintel export finance-summary --format xlsx --out finance.xlsx --from 2026-11-01 --to 2026-12-01 --grain week\n  gigintel export transactions --format csv --bom --currency USD --from -7d')
    .action(async function (this: Command, report: string | undefined, opts: { format: 'csv' | 'xlsx'; out?: string; param: string[]; bom?: boolean; rawIds?: boolean }) {
      if (!report) { this.help({ error: true }); return; }
      const params = reportParamsFromArgs(this.args.slice(1), opts.param);
      await withPlatform(configFrom(this), {}, async (_platform, services) => {
        const opened = await services.exports.open(report, opts.format, params, { keyId: null, admin: opts.rawIds === true }, { bom: opts.bom === true });
        const target = opts.out ?? opened.fileName;
        const part = `${target}.part`;
        const file = createWriteStream(part);
        const progress = await rowCounter();
        try {
          const res = await opened.write(file, { onProgress: progress.update });
          await rename(part, target);
          progress.stop();
          out(`${target}: ${res.rows} rows${res.suppressed ? `, ${res.suppressed} small groups suppressed` : ''}`);
        } catch (err) {
          progress.stop();
          file.destroy();
          await rm(part, { force: true });
          throw err;
        }
      });
    });
  cmd.addCommand(listCommand());
  return cmd;
}
