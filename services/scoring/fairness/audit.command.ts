// gigintel audit: fairness of predictions, two ways. `audit --csv file --label y --pred score
// --sensitive group` audits any CSV of predictions, like Fairlearn's MetricFrame (no database
// needed); `audit <model> [--version v] [--from --to]` audits the live prediction log of a model's
// versions and stores the reports, like the scheduled scoring.audit job.
import { createReadStream } from 'node:fs';
import { userInfo } from 'node:os';
import { parse } from 'csv-parse';
import { Command, InvalidArgumentError } from 'commander';
import type { Actor } from '../../../platform/audit/audit-log.js';
import { AppError, ValidationError, type FieldProblem } from '../../../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../../cli/cli-context.js';
import { classificationReport, type ClassificationFairness, type ClassificationReport } from './classification-metrics.js';
import type { RankingFairness } from './ranking-metrics.js';
import { createAuditService, type ModelAudit } from './live-audit.service.js';

const DAY_MS = 86_400_000;
const MAX_PROBLEMS = 20;

export interface CsvAuditOptions {
  label: string;
  pred: string;
  sensitive: readonly string[];
  /** Scores become decisions at this threshold; absent: 0/1 predictions are decisions, other scores use 0.5. */
  threshold?: number;
}

export interface CsvPredictions {
  yTrue: number[];
  yPred: number[];
  sensitive: Record<string, (string | null)[]>;
}

const LABELS: Record<string, number> = { 0: 0, 1: 1, false: 0, true: 1, no: 0, yes: 1 };

/** Reads the label, prediction and sensitive columns of a CSV with a header row; every bad cell is named by line and column. */
export async function readPredictionsCsv(path: string, o: CsvAuditOptions): Promise<CsvPredictions> {
  const parser = parse({ bom: true, skip_empty_lines: true, trim: true, info: true });
  const input = createReadStream(path);
  input.once('error', (err) => parser.destroy(err));
  input.pipe(parser);
  const out: CsvPredictions = { yTrue: [], yPred: [], sensitive: Object.fromEntries(o.sensitive.map((s) => [s, []])) };
  const problems: FieldProblem[] = [];
  let cols: { label: number; pred: number; sensitive: number[] } | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!cols) {
        const find = (name: string, flag: string) => {
          const i = record.indexOf(name);
          if (i < 0) problems.push({ path: flag, message: `no column "${name}" in the header (columns: ${record.join(', ')})` });
          return i;
        };
        cols = { label: find(o.label, '--label'), pred: find(o.pred, '--pred'), sensitive: o.sensitive.map((s) => find(s, '--sensitive')) };
        if (problems.length) throw new ValidationError(`${path}: missing columns`, problems);
        continue;
      }
      const line = info.lines;
      const bad = (column: string, message: string) => { if (problems.length < MAX_PROBLEMS) problems.push({ path: `line ${line}, column ${column}`, message }); };
      const labelText = record[cols.label] ?? '';
      const label = LABELS[labelText.toLowerCase()];
      if (label === undefined) bad(o.label, `label must be 0/1 (or true/false, yes/no), got "${labelText}"`);
      const predText = record[cols.pred] ?? '';
      const pred = predText === '' ? NaN : Number(predText);
      if (!Number.isFinite(pred)) bad(o.pred, `prediction must be a number, got "${predText}"`);
      out.yTrue.push(label ?? 0);
      out.yPred.push(pred);
      o.sensitive.forEach((s, j) => { const v = record[cols!.sensitive[j]!]; out.sensitive[s]!.push(v === undefined || v === '' ? null : v); });
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const e = err as NodeJS.ErrnoException & { lines?: number };
    if (e.code === 'ENOENT') throw new ValidationError(`cannot read ${path}: no such file`, [{ path: '--csv', message: 'file not found' }]);
    throw new ValidationError(`${path}: unreadable CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}`, [{ path: '--csv', message: e.message }]);
  }
  if (!cols) throw new ValidationError(`${path} is empty`, [{ path: '--csv', message: 'needs a header row and at least one row' }]);
  if (problems.length) throw new ValidationError(`${path}: ${problems.length >= MAX_PROBLEMS ? `${MAX_PROBLEMS}+` : problems.length} bad value(s)`, problems);
  if (out.yTrue.length === 0) throw new ValidationError(`${path} has a header but no rows`, [{ path: '--csv', message: 'no rows to audit' }]);
  return out;
}

/** The MetricFrame of a CSV of predictions. */
export async function auditCsv(path: string, o: CsvAuditOptions): Promise<ClassificationReport> {
  const p = await readPredictionsCsv(path, o);
  const decisions = p.yPred.every((v) => v === 0 || v === 1);
  const threshold = o.threshold ?? (decisions ? undefined : 0.5);
  return classificationReport({ yTrue: p.yTrue, yPred: p.yPred, sensitive: p.sensitive, ...(threshold !== undefined ? { threshold } : {}) });
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((line) => line.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd());
}

/** A readable table of one attribute's group metrics and disparities. */
export function formatClassification(attr: string, f: ClassificationFairness): string[] {
  const withCalibration = f.groups.some((g) => g.calibration);
  const lines = table(
    ['group', 'count', 'selection', 'TPR', 'FPR', ...(withCalibration ? ['mean pred', 'frac pos', 'ECE'] : [])],
    f.groups.map((g) => [g.group, String(g.count), fmt(g.selectionRate), fmt(g.truePositiveRate), fmt(g.falsePositiveRate),
      ...(withCalibration ? [fmt(g.calibration?.meanPredicted), fmt(g.calibration?.fractionPositive), fmt(g.calibration?.ece)] : [])]),
  );
  return [
    `${attr}:`, ...lines.map((l) => `  ${l}`),
    `  demographic parity difference ${fmt(f.demographicParityDifference)}, ratio ${fmt(f.demographicParityRatio)}`,
    `  disparate impact ratio ${fmt(f.disparateImpactRatio)}${f.fourFifthsViolated ? '  FAILS the four-fifths rule (< 0.8)' : f.fourFifthsViolated === false ? '  (four-fifths rule met)' : ''}`,
    `  equal opportunity difference ${fmt(f.equalOpportunityDifference)}, ratio ${fmt(f.equalOpportunityRatio)}`,
    `  equalized odds difference ${fmt(f.equalizedOddsDifference)}, ratio ${fmt(f.equalizedOddsRatio)}`,
    ...(f.calibrationEceDifference !== null ? [`  calibration: ECE difference between groups ${fmt(f.calibrationEceDifference)}`] : []),
  ];
}

export function formatRanking(attr: string, r: RankingFairness): string[] {
  return [
    `${attr} (rankings: ${r.rankings}, k = ${r.k}):`,
    ...table(['group', 'candidates', 'pool share', `top-${r.k} share`, `skew@${r.k}`, 'exposure share', 'mean exposure'],
      r.groups.map((g) => [g.group, String(g.candidates), fmt(g.desiredShare), fmt(g.shareTopK), g.skewAtK === null ? '-inf' : fmt(g.skewAtK), fmt(g.exposureShare), fmt(g.meanExposure)]))
      .map((l) => `  ${l}`),
    `  min skew@${r.k} ${r.minSkewAtK === null ? '-inf' : fmt(r.minSkewAtK)}, max skew@${r.k} ${fmt(r.maxSkewAtK)}, NDKL ${fmt(r.ndkl, 4)}, exposure ratio ${fmt(r.exposureRatio)}`,
  ];
}

export function formatCsvReport(r: ClassificationReport): string[] {
  return [
    `rows ${r.rows}, ${r.threshold === null ? 'predictions are 0/1 decisions' : `selected when score ≥ ${r.threshold}`}; overall selection rate ${fmt(r.overall.selectionRate)}, TPR ${fmt(r.overall.truePositiveRate)}, FPR ${fmt(r.overall.falsePositiveRate)}${r.overall.calibration ? `, ECE ${fmt(r.overall.calibration.ece)}` : ''}`,
    ...Object.entries(r.byAttribute).flatMap(([a, f]) => ['', ...formatClassification(a, f)]),
  ];
}

export function formatAudit(a: ModelAudit): string[] {
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const r = a.report;
  const lines = [
    `${a.model} v${a.version}  audit #${a.id}  ${iso(a.from)} → ${iso(a.to)}  (${a.trigger}, by ${a.createdBy})`,
    `  predictions ${r.predictions} (ranked ${r.rankings}), candidates ${r.candidates}, with a known outcome ${r.labelled}; k = ${r.k}, threshold ${r.threshold}${r.truncated ? '; TRUNCATED: more predictions than one audit reads' : ''}`,
  ];
  if (Object.keys(r.attributes).length === 0) lines.push('  no candidate has sensitive attributes: nothing to group by');
  for (const [attr, x] of Object.entries(r.attributes)) {
    lines.push('', `${attr}: ${x.known} candidate appearances with a value, ${x.unknown} without (group "unknown")`);
    if (x.ranking) lines.push(...formatRanking('ranking', x.ranking).map((l) => `  ${l}`));
    if (x.classification) lines.push(...formatClassification('outcomes (hires)', x.classification).map((l) => `  ${l}`));
    else lines.push('  outcomes: no job in the window has a hire yet');
  }
  return lines;
}

function numberArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}
function positive(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return Number(v);
}
/** Epoch milliseconds or an ISO 8601 date / time. */
export function timeArg(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be epoch milliseconds or an ISO 8601 time, e.g. 2026-11-25T00:00Z');
  return n;
}
const collect = (v: string, prev: string[]) => [...prev, v];
const out = (line: string) => process.stdout.write(`${line}\n`);

interface AuditOpts {
  csv?: string; label?: string; pred?: string; sensitive: string[]; threshold?: number;
  version?: number; from?: number; to?: number; k?: number; json?: boolean;
}

export function auditCommand(): Command {
  return new Command('audit')
    .description('fairness audit: of a CSV of predictions (like Fairlearn\'s MetricFrame), or of a model\'s live prediction log (stored, as the scheduled job does)')
    .argument('[model]', 'audit this model\'s logged predictions (omit with --csv)')
    .option('--csv <file>', 'audit a CSV of predictions with a header row instead')
    .option('--label <column>', 'with --csv: the true label column (0/1)')
    .option('--pred <column>', 'with --csv: the prediction column (0/1 decisions or scores)')
    .option('--sensitive <column>', 'with --csv: a sensitive attribute column; repeat for several (their intersection is audited too)', collect, [])
    .option('--threshold <x>', 'scores ≥ x are selected (--csv: default 0.5 unless predictions are 0/1; live: for unranked predictions)', numberArg)
    .option('--version <n>', 'live: only this version (default every version with predictions in the window)', positive)
    .option('--from <time>', 'live: window start, epoch ms or ISO 8601 (default --to minus 24 h)', timeArg)
    .option('--to <time>', 'live: window end, exclusive (default now)', timeArg)
    .option('--k <n>', 'live: top-k cut-off for selection and skew@k (default 10)', positive)
    .option('--json', 'JSON output')
    .addHelpText('after', `
Examples:
  gigintel audit --csv predictions.csv --label y --pred score --sensitive gender --sensitive age_band
  gigintel audit --csv predictions.csv --label y --pred score --sensitive group --threshold 0.7 --json
  gigintel audit matching-ranker --version 3 --from 2026-11-24T00:00Z --to 2026-11-25T00:00Z

Metrics follow Fairlearn: differences are max − min over groups, ratios min / max; a disparate impact
ratio under 0.8 fails the four-fifths rule. Live audits add skew@k, NDKL and exposure over the logged
rankings, and count a candidate of a job that has a hire as positive when hired.`)
    .action(async function (this: Command, model: string | undefined, o: AuditOpts) {
      if (o.csv !== undefined) {
        if (model !== undefined) throw new ValidationError(`give a model or --csv, not both ("${model}")`, [{ path: 'model', message: 'drop it with --csv' }]);
        const missing = [...(!o.label ? ['--label'] : []), ...(!o.pred ? ['--pred'] : []), ...(o.sensitive.length === 0 ? ['--sensitive'] : [])];
        if (missing.length) throw new ValidationError(`--csv needs ${missing.join(', ')}`, missing.map((m) => ({ path: m, message: 'is required with --csv' })));
        for (const flag of ['version', 'from', 'to', 'k'] as const) {
          if (o[flag] !== undefined) throw new ValidationError(`--${flag} applies to live audits, not --csv`, [{ path: `--${flag}`, message: 'only without --csv' }]);
        }
        const report = await auditCsv(o.csv, { label: o.label!, pred: o.pred!, sensitive: o.sensitive, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) });
        if (o.json) out(JSON.stringify(report)); else formatCsvReport(report).forEach(out);
        return;
      }
      if (model === undefined) throw new ValidationError('give a model name, or --csv <file>', [{ path: 'model', message: 'required without --csv' }]);
      for (const flag of ['label', 'pred'] as const) {
        if (o[flag] !== undefined) throw new ValidationError(`--${flag} only applies with --csv`, [{ path: `--${flag}`, message: 'only with --csv' }]);
      }
      if (o.sensitive.length) throw new ValidationError('--sensitive only applies with --csv (live audits use every declared sensitive attribute)', [{ path: '--sensitive', message: 'only with --csv' }]);
      const to = o.to ?? Date.now();
      const from = o.from ?? to - DAY_MS;
      const actor: Actor = { type: 'cli', id: userInfo().username };
      await withPlatform(configFrom(this), {}, async (platform) => {
        const audits = createAuditService({ db: platform.db.db });
        const versions = o.version !== undefined
          ? [o.version]
          : (await audits.versionsWithPredictions({ from, to, model })).map((v) => v.version);
        if (versions.length === 0) {
          if (o.json) out(JSON.stringify({ audits: [] })); else out(`no serve or canary predictions of ${model} in the window; nothing audited`);
          return;
        }
        const done: ModelAudit[] = [];
        for (const version of versions) {
          done.push(await audits.auditVersion({
            model, version, from, to, ...(o.k !== undefined ? { k: o.k } : {}), ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
          }, actor));
        }
        if (o.json) out(JSON.stringify({ audits: done }));
        else done.forEach((a, i) => { if (i) out(''); formatAudit(a).forEach(out); });
      });
    });
}
