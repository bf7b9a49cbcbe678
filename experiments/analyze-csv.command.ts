// gigintel experiments analyze-csv: the experiment statistics over a CSV of unit-level outcomes
// (an exported experiment, a partner's data) without creating an experiment. The file is streamed
// (plain or .gz) into per-variant sufficient statistics, so its size is bounded by the unit-id set
// used to catch duplicates, not by the rows.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AppError, ValidationError, type FieldProblem } from '../platform/errors/app-error.js';
import { analyzeExperiment, type ExperimentAnalysis } from './stats/analyze-experiment.js';
import type { Correction } from './stats/multiple-testing.js';
import { addUnit, emptyStats, type VariantStats } from './stats/variant-stats.js';
import type { Lift } from './stats/welch-test.js';

const MAX_PROBLEMS = 20;
const MAX_DUPLICATES_LISTED = 10;

/** Rows whose `column` is not the value expected for their variant are dropped (e.g. landing_page vs group). */
export interface Expectation {
  column: string;
  values: Record<string, string>;
}

export interface CsvAggregateOptions {
  unit: string;
  variant: string;
  metric: string;
  covariate?: string;
  ratioDenominator?: string;
  /** 'error' (default): a repeated unit id is an error; 'first': the unit's first row counts, later ones are skipped. */
  dedupe?: 'error' | 'first';
  expect?: readonly Expectation[];
}

export interface CsvAggregate {
  /** Per variant, in order of first appearance. */
  stats: Record<string, VariantStats>;
  rows: number;
  droppedMismatched: number;
  droppedDuplicates: number;
}

export interface CsvAnalyzeOptions extends CsvAggregateOptions {
  control?: string;
  /** A plain list (control first, then the other variants in order of first appearance) or name=weight pairs. */
  weights?: string;
  alpha?: number;
  sequential?: boolean;
  tuning?: number;
  bayesian?: boolean;
  lowerIsBetter?: boolean;
  correction?: Correction;
}

export interface CsvAnalysis {
  file: string;
  metricColumn: string;
  rows: number;
  units: number;
  droppedMismatched: number;
  droppedDuplicates: number;
  analysis: ExperimentAnalysis;
}

function openCsv(path: string): Readable {
  const file = createReadStream(path);
  if (!/\.gz$/i.test(path)) return file;
  // Gunzip as a stream: a 4 MB .csv.gz never becomes a 20 MB string.
  const gunzip = createGunzip();
  file.once('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

/** Streams the CSV into sufficient statistics per variant; every bad cell is named by line and column. */
export async function aggregateCsv(path: string, o: CsvAggregateOptions): Promise<CsvAggregate> {
  const parser = parse({ bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: true });
  const input = openCsv(path);
  input.once('error', (err) => parser.destroy(err));
  input.pipe(parser);

  const stats = new Map<string, VariantStats>();
  const seen = new Map<string, number>();
  const duplicates: FieldProblem[] = [];
  const problems: FieldProblem[] = [];
  let problemCount = 0;
  let header: string[] | null = null;
  let col: { unit: number; variant: number; metric: number; covariate: number; denominator: number; expect: number[] } | null = null;
  let rows = 0; let droppedMismatched = 0; let droppedDuplicates = 0;

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!col) {
        header = record;
        const find = (name: string, flag: string) => {
          const i = record.indexOf(name);
          if (i < 0) problems.push({ path: flag, message: `no column "${name}" in the header (columns: ${record.join(', ')})` });
          return i;
        };
        col = {
          unit: find(o.unit, '--unit'), variant: find(o.variant, '--variant'), metric: find(o.metric, '--metric'),
          covariate: o.covariate !== undefined ? find(o.covariate, '--covariate') : -1,
          denominator: o.ratioDenominator !== undefined ? find(o.ratioDenominator, '--ratio-denominator') : -1,
          expect: (o.expect ?? []).map((e) => find(e.column, '--expect')),
        };
        if (problems.length) throw new ValidationError(`${path}: missing columns`, problems);
        continue;
      }
      rows++;
      const line = info.lines;
      const cell = (i: number) => record[i] ?? '';
      const variant = cell(col.variant);
      if (variant === '') {
        if (problemCount++ < MAX_PROBLEMS) problems.push({ path: `line ${line}, column ${o.variant}`, message: 'empty variant' });
        continue;
      }
      const mismatch = (o.expect ?? []).some((e, j) => e.values[variant] !== undefined && cell(col!.expect[j]!) !== e.values[variant]);
      if (mismatch) { droppedMismatched++; continue; }

      const unit = cell(col.unit);
      if (unit === '') {
        if (problemCount++ < MAX_PROBLEMS) problems.push({ path: `line ${line}, column ${o.unit}`, message: 'empty unit id' });
        continue;
      }
      const firstLine = seen.get(unit);
      if (firstLine !== undefined) {
        droppedDuplicates++;
        if (duplicates.length < MAX_DUPLICATES_LISTED) duplicates.push({ path: `line ${line}, column ${o.unit}`, message: `unit "${unit}" already seen on line ${firstLine}` });
        continue;
      }
      seen.set(unit, line);

      const number = (i: number, column: string): number => {
        const text = cell(i);
        const v = text === '' ? NaN : text === 'true' || text === 'false' ? Number(text === 'true') : Number(text);
        if (!Number.isFinite(v) && problemCount++ < MAX_PROBLEMS) {
          problems.push({ path: `line ${line}, column ${column}`, message: `must be a number (or true/false), got "${text}"` });
        }
        return v;
      };
      const x = number(col.metric, o.metric);
      const y = col.denominator >= 0 ? number(col.denominator, o.ratioDenominator!) : undefined;
      const c = col.covariate >= 0 ? number(col.covariate, o.covariate!) : undefined;
      if (problemCount > 0) continue;   // keep scanning to report more bad cells, but stop summing
      let s = stats.get(variant);
      if (!s) { s = emptyStats({ ratio: y !== undefined, covariate: c !== undefined }); stats.set(variant, s); }
      addUnit(s, x, { ...(y !== undefined ? { y } : {}), ...(c !== undefined ? { c } : {}) });
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const e = err as NodeJS.ErrnoException & { lines?: number };
    if (e.code === 'ENOENT') throw new ValidationError(`cannot read ${path}: no such file`, [{ path: 'file', message: 'file not found' }]);
    if (e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR') throw new ValidationError(`${path}: not a valid gzip file (${e.message})`, [{ path: 'file', message: e.message }]);
    throw new ValidationError(`${path}: unreadable CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}`, [{ path: 'file', message: e.message }]);
  }
  if (!header) throw new ValidationError(`${path} is empty`, [{ path: 'file', message: 'needs a header row and at least one row' }]);
  if (problemCount) throw new ValidationError(`${path}: ${problemCount > MAX_PROBLEMS ? `${problemCount} bad values, the first ${MAX_PROBLEMS}` : `${problemCount} bad value(s)`}`, problems);
  if (droppedDuplicates && (o.dedupe ?? 'error') === 'error') {
    throw new ValidationError(
      `${path}: ${droppedDuplicates} row(s) repeat a unit id in column "${o.unit}" (one row per unit expected; --dedupe first keeps each unit's first row)`,
      duplicates,
    );
  }
  if (rows === 0) throw new ValidationError(`${path} has a header but no rows`, [{ path: 'file', message: 'no rows to analyse' }]);
  return { stats: Object.fromEntries(stats), rows, droppedMismatched, droppedDuplicates };
}

/** Parses --weights against the variants (control first, then the others in order of first appearance). */
export function parseWeights(text: string, ordered: readonly string[]): Record<string, number> {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const named = parts.every((p) => p.includes('='));
  const bad = (message: string) => new ValidationError(`--weights "${text}": ${message}`, [{ path: '--weights', message }]);
  const out: Record<string, number> = {};
  if (named) {
    for (const p of parts) {
      const [name, w] = p.split('=') as [string, string];
      out[name.trim()] = Number(w);
    }
  } else {
    if (parts.length !== ordered.length) throw bad(`${parts.length} weight(s) for ${ordered.length} variants (${ordered.join(', ')}); give one each, or name=weight pairs`);
    parts.forEach((p, i) => { out[ordered[i]!] = Number(p); });
  }
  for (const [name, w] of Object.entries(out)) if (!(w > 0) || !Number.isFinite(w)) throw bad(`weight of "${name}" must be a positive number`);
  return out;
}

export async function analyzeCsv(path: string, o: CsvAnalyzeOptions): Promise<CsvAnalysis> {
  const agg = await aggregateCsv(path, o);
  const names = Object.keys(agg.stats);
  const control = o.control ?? (names.includes('control') ? 'control' : names[0]!);
  if (!names.includes(control)) {
    throw new ValidationError(`no rows of control variant "${control}" in column "${o.variant}" (variants: ${names.join(', ')})`, [{ path: '--control', message: `one of ${names.join(', ')}` }]);
  }
  const ordered = [control, ...names.filter((n) => n !== control)];
  const stats = Object.fromEntries(ordered.map((n) => [n, agg.stats[n]!]));
  const analysis = analyzeExperiment(stats, {
    control,
    metric: o.ratioDenominator !== undefined ? 'ratio' : 'mean',
    cuped: o.covariate !== undefined,
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
    ...(o.weights !== undefined ? { weights: parseWeights(o.weights, ordered) } : {}),
    ...(o.sequential ? { sequential: o.tuning !== undefined ? { tuning: o.tuning } : true } : {}),
    ...(o.bayesian ? { bayesian: true } : {}),
    ...(o.lowerIsBetter ? { lowerIsBetter: true } : {}),
    ...(o.correction ? { correction: o.correction } : {}),
  });
  return {
    file: path, metricColumn: o.metric, rows: agg.rows, units: analysis.variants.reduce((a, v) => a + v.n, 0),
    droppedMismatched: agg.droppedMismatched, droppedDuplicates: agg.droppedDuplicates, analysis,
  };
}

const num = (x: number | null | undefined, digits = 4) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const sig = (x: number, digits = 6) => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : '-');
const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(digits)}%`);
const pval = (p: number | null | undefined) => (p === null || p === undefined ? '-' : p < 0.0001 ? p.toExponential(1) : p.toFixed(4));
const count = (n: number) => n.toLocaleString('en-US');

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((line) => line.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd());
}

function liftLine(label: string, l: Lift | null, level: string, asPercent: boolean, adjusted?: number | null): string {
  if (!l) return `  ${label}: not defined (control mean is 0)`;
  const f = asPercent ? (x: number) => pct(x) : (x: number) => sig(x, 4);
  const ci = l.ci ? `[${f(l.ci[0])}, ${f(l.ci[1])}]` : '-';
  return `  ${label.padEnd(15)} ${f(l.estimate).padStart(10)}  ${level} CI ${ci.padEnd(24)}  p ${pval(l.pValue)}${adjusted !== undefined ? `  (adjusted ${pval(adjusted)})` : ''}`;
}

/** A readable report of a CSV analysis. */
export function formatCsvAnalysis(r: CsvAnalysis, opts: { showUntrustworthy?: boolean } = {}): string[] {
  const a = r.analysis;
  const level = `${Math.round((1 - a.alpha) * 1000) / 10}%`;
  const lines = [
    `${r.file}: ${count(r.rows)} rows, ${count(r.units)} units analysed` +
      (r.droppedMismatched ? `; ${count(r.droppedMismatched)} row(s) dropped by --expect` : '') +
      (r.droppedDuplicates ? `; ${count(r.droppedDuplicates)} repeated unit row(s) skipped (--dedupe first)` : ''),
    `metric "${r.metricColumn}" (${a.metric === 'ratio' ? 'ratio of sums, delta method' : a.cuped ? `mean per unit, CUPED θ = ${sig(a.cuped.theta, 4)}` : 'mean per unit'}), control "${a.control}", alpha ${a.alpha}` +
      (a.comparisons.length > 1 ? `, ${a.correction === 'bh' ? 'Benjamini–Hochberg' : a.correction === 'holm' ? 'Holm–Bonferroni' : 'no correction'} across ${a.comparisons.length} comparisons` : ''),
    '',
    ...table(
      ['variant', 'units', 'share', 'expected', a.metric === 'ratio' ? 'ratio' : 'mean', 'std error', ...(a.cuped ? ['unadjusted', 'var. reduction'] : [])],
      a.variants.map((v) => [v.name, count(v.n), num(v.share), num(v.expectedShare), sig(v.mean), sig(v.stdError, 4),
        ...(a.cuped ? [sig(v.unadjustedMean ?? NaN), pct(v.varianceReduction, 1)] : [])]),
    ),
    '',
    a.srm.mismatch
      ? `SAMPLE RATIO MISMATCH: chi² ${a.srm.chiSquare.toFixed(2)}, p ${pval(a.srm.pValue)} < 0.001 — the split does not match the weights; results are untrustworthy until the cause (assignment, logging, filtering) is found`
      : `sample ratio: chi² ${a.srm.chiSquare.toFixed(3)}, p ${pval(a.srm.pValue)} (no mismatch)`,
  ];
  if (!a.trustworthy && !opts.showUntrustworthy) {
    lines.push('lifts withheld (--show-untrustworthy prints them anyway)');
    return lines;
  }
  for (const c of a.comparisons) {
    lines.push('', `${c.variant} vs ${a.control}${c.significant ? '  SIGNIFICANT' : ''}:`);
    lines.push(liftLine('absolute lift', c.fixed.absolute, level, false, a.comparisons.length > 1 ? c.adjustedPValue.absolute : undefined));
    lines.push(liftLine('relative lift', c.fixed.relative, level, true, a.comparisons.length > 1 ? c.adjustedPValue.relative : undefined));
    if (c.sequential) {
      lines.push(`  sequential (always valid, tuning ${c.sequential.tuning}):`);
      lines.push(liftLine('absolute lift', c.sequential.absolute, level, false).replace(/^ {2}/, '    '));
      lines.push(liftLine('relative lift', c.sequential.relative, level, true).replace(/^ {2}/, '    '));
    }
    if (c.bayesian) {
      const b = c.bayesian.relative ?? c.bayesian.absolute;
      const rel = c.bayesian.relative !== null;
      if (b) {
        lines.push(`  Bayesian (${rel ? 'relative' : 'absolute'} lift, flat prior): chance to win ${pct(b.chanceToWin, 1)}, expected loss ${rel ? pct(b.expectedLoss, 3) : sig(b.expectedLoss, 4)} if shipped, ${rel ? pct(b.expectedLossControl, 3) : sig(b.expectedLossControl, 4)} if kept`);
      }
    }
  }
  return lines;
}

function numberArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}
function alphaArg(v: string): number {
  const n = numberArg(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
}
function positiveArg(v: string): number {
  const n = numberArg(v);
  if (!(n > 0)) throw new InvalidArgumentError('must be > 0');
  return n;
}
/** --expect landing_page=control:old_page,treatment:new_page */
export function expectationArg(v: string, prev: Expectation[] = []): Expectation[] {
  const m = /^([^=]+)=(.+)$/.exec(v);
  const pairs = m ? m[2]!.split(',').map((p) => p.trim().split(':')) : [];
  if (!m || pairs.length === 0 || pairs.some((p) => p.length !== 2 || p[0] === '' || p[1] === '')) {
    throw new InvalidArgumentError('expected <column>=<variant>:<value>[,<variant>:<value>…], e.g. landing_page=control:old_page,treatment:new_page');
  }
  return [...prev, { column: m[1]!.trim(), values: Object.fromEntries(pairs.map(([k, val]) => [k!.trim(), val!.trim()])) }];
}

const out = (line: string) => process.stdout.write(`${line}\n`);

interface CommandOpts {
  unit: string; variant: string; metric: string; control?: string; covariate?: string; ratioDenominator?: string;
  weights?: string; dedupe: 'error' | 'first'; expect?: Expectation[]; alpha?: number; correction?: Correction;
  sequential?: boolean; tuning?: number; bayesian?: boolean; lowerIsBetter?: boolean; showUntrustworthy?: boolean; json?: boolean;
}

export function analyzeCsvCommand(): Command {
  return new Command('analyze-csv')
    .description('analyse a CSV (or .csv.gz) of unit-level outcomes with the experiment statistics, without creating an experiment')
    .argument('<file>', 'CSV with a header row, one row per unit (.gz is decompressed on the fly)')
    .requiredOption('--unit <column>', 'the unit id column (user, session, …)')
    .requiredOption('--variant <column>', 'the variant column')
    .requiredOption('--metric <column>', 'the outcome column (0/1 for conversion; the numerator of a ratio metric)')
    .option('--control <name>', 'the control variant (default "control" if present, else the first variant in the file)')
    .option('--covariate <column>', 'a pre-exposure covariate: CUPED-adjusted means')
    .option('--ratio-denominator <column>', 'a ratio metric Σmetric / Σdenominator (CTR, revenue per session, ROAS), delta method')
    .option('--weights <list>', 'configured weights for the SRM check: 0.5,0.5 (control first, then the others in file order) or control=0.5,treatment=0.5 (default equal)')
    .addOption(new Option('--dedupe <mode>', 'a repeated unit id: "error" lists them, "first" keeps each unit\'s first row').choices(['error', 'first']).default('error'))
    .option('--expect <rule>', 'drop rows whose column disagrees with their variant, e.g. landing_page=control:old_page,treatment:new_page (repeatable)', expectationArg)
    .option('--alpha <a>', 'significance level (default 0.05)', alphaArg)
    .addOption(new Option('--correction <method>', 'multiple-testing correction across treatment variants').choices(['holm', 'bh', 'none']))
    .option('--sequential', 'add always-valid confidence sequences (safe to peek)')
    .option('--tuning <n>', 'with --sequential: the total units at which the sequence is tightest (default 5000)', positiveArg)
    .option('--bayesian', 'add Bayesian chance to win and expected loss')
    .option('--lower-is-better', 'the metric should go down (cost, latency): flips chance to win')
    .option('--show-untrustworthy', 'print lifts even when the sample ratio mismatches')
    .option('--json', 'JSON output')
    .addHelpText('after', `
Examples:
  gigintel experiments analyze-csv ab_data.csv.gz --unit user_id --variant group --metric converted \\
      --expect landing_page=control:old_page,treatment:new_page --dedupe first
  gigintel experiments analyze-csv clicks.csv --unit user --variant arm --metric clicks --ratio-denominator impressions --sequential
  gigintel experiments analyze-csv revenue.csv --unit user --variant v --metric revenue --covariate revenue_before --weights 0.2,0.8 --json

Welch's t-test for absolute and relative lift (delta method); the sample-ratio check is a chi-square
test against the weights, flagged at p < 0.001. Sequential intervals are the asymptotic confidence
sequences of Waudby-Smith et al. (as in GrowthBook); Bayesian numbers use GrowthBook's normal
approximation with a flat prior.`)
    .action(async (file: string, o: CommandOpts) => {
      if (o.tuning !== undefined && !o.sequential) throw new ValidationError('--tuning only applies with --sequential', [{ path: '--tuning', message: 'add --sequential' }]);
      if (o.covariate !== undefined && o.ratioDenominator !== undefined) {
        throw new ValidationError('--covariate (CUPED) and --ratio-denominator cannot be combined yet', [{ path: '--covariate', message: 'drop one of them' }]);
      }
      const r = await analyzeCsv(file, {
        unit: o.unit, variant: o.variant, metric: o.metric, dedupe: o.dedupe,
        ...(o.control !== undefined ? { control: o.control } : {}),
        ...(o.covariate !== undefined ? { covariate: o.covariate } : {}),
        ...(o.ratioDenominator !== undefined ? { ratioDenominator: o.ratioDenominator } : {}),
        ...(o.weights !== undefined ? { weights: o.weights } : {}),
        ...(o.expect ? { expect: o.expect } : {}),
        ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
        ...(o.correction ? { correction: o.correction } : {}),
        ...(o.sequential ? { sequential: true } : {}),
        ...(o.tuning !== undefined ? { tuning: o.tuning } : {}),
        ...(o.bayesian ? { bayesian: true } : {}),
        ...(o.lowerIsBetter ? { lowerIsBetter: true } : {}),
      });
      if (o.json) out(JSON.stringify(r));
      else formatCsvAnalysis(r, { showUntrustworthy: o.showUntrustworthy ?? false }).forEach(out);
    });
}
