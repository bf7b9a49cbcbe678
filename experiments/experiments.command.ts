// gigintel experiments list | show | create | start | stop | kill | assign | analyze | results |
// analyze-csv: experiments from the command line, over the same service as the API.
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { Value } from 'typebox/value';
import type { Actor } from '../platform/audit/audit-log.js';
import { ValidationError } from '../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../services/cli/cli-context.js';
import { analyzeCsvCommand } from './analyze-csv.command.js';
import { minimumDetectableEffect, minimumDetectableEffectForProportion, sampleSizeForProportion, sampleSizePerVariant } from './stats/power.js';
import { ExperimentIn, type ExperimentInput } from './experiment.schemas.js';
import type { Experiment, ExperimentReport, ExperimentService } from './experiment.service.js';

const cliActor = (): Actor => ({ type: 'cli', id: userInfo().username });
const out = (line: string) => process.stdout.write(`${line}\n`);
const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));
const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(digits)}%`);
const num = (x: number | null | undefined) => (x === null || x === undefined ? '-' : Math.abs(x) >= 1000 ? x.toFixed(0) : Number(x.toPrecision(4)).toString());

function numberArg(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError('must be a number');
  return x;
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const line of [head, ...rows]) out(line.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd());
}

function withExperiments(cmd: Command, fn: (x: ExperimentService) => Promise<void>): Promise<void> {
  return withPlatform(configFrom(cmd), {}, async (platform, services) => {
    await fn(services.experiments);
    await services.experiments.exposures.close(); // exposures logged by `assign` reach the queue before exit
  });
}

function printExperiment(e: Experiment): void {
  out(`${e.key}  ${e.status}${e.statusReason ? ` (${e.statusReason})` : ''}  phase ${e.phase}`);
  out(`  hypothesis: ${e.hypothesis}`);
  out(`  unit: ${e.unitType}${e.model ? `; model ${e.model}` : ''}; coverage ${pct(e.coverage, 0)}; hash v${e.hashVersion}, seed ${e.seed}${e.namespace ? `; namespace ${e.namespace.name} [${e.namespace.start}, ${e.namespace.end})` : ''}`);
  for (const v of e.variants) out(`  variant ${v.key.padEnd(16)} ${pct(v.weight, 1).padStart(7)}  ${JSON.stringify(v.payload)}`);
  out(`  primary ${e.primaryMetric}; secondary ${e.secondaryMetrics.join(', ') || '-'}; guardrails ${e.guardrails.map((g) => `${g.metric} (≤ ${pct(g.maxDegradation, 1)} worse)`).join(', ') || '-'}`);
  out(`  started ${iso(e.startedAt)}, stopped ${iso(e.stoppedAt)}`);
}

/** The analysis as a table: one row per metric and treatment. */
export function printReport(r: ExperimentReport): void {
  out(`${r.experiment} phase ${r.phase}, analysed ${iso(r.analyzedAt)}; exposures ${Object.entries(r.exposures).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (r.srm) out(`sample ratio: χ² ${r.srm.chiSquare.toFixed(2)}, p ${r.srm.pValue.toPrecision(3)}${r.srm.mismatch ? '  MISMATCH: results withheld as untrustworthy' : ''}`);
  const rows: string[][] = [];
  for (const m of r.metrics) {
    if (!m.analysis) { rows.push([m.metric, m.role, '-', '-', '-', '-', '-', '-', m.note ?? '']); continue; }
    const control = m.analysis.variants[0]!;
    for (const c of m.analysis.comparisons) {
      const v = m.analysis.variants.find((x) => x.name === c.variant)!;
      const rel = c.fixed.relative;
      rows.push([
        m.metric, m.role, `${num(control.mean)} → ${num(v.mean)}`,
        r.trustworthy ? (rel ? `${pct(rel.estimate)} [${pct(rel.ci?.[0])}, ${pct(rel.ci?.[1])}]` : '-') : 'withheld',
        r.trustworthy ? (c.adjustedPValue.absolute?.toPrecision(3) ?? '-') : '-',
        r.trustworthy && c.sequential?.relative?.ci ? `[${pct(c.sequential.relative.ci[0])}, ${pct(c.sequential.relative.ci[1])}]` : '-',
        r.trustworthy && c.bayesian?.relative ? pct(c.bayesian.relative.chanceToWin, 1) : '-',
        m.analysis.cuped ? `cuped θ ${num(m.analysis.cuped.theta)}` : '',
        c.variant,
      ]);
    }
  }
  table(['metric', 'role', 'mean (control → variant)', 'relative lift [95% CI]', 'p (adj.)', 'always-valid CI', 'chance to win', 'notes', 'variant'], rows);
  for (const g of r.guardrails) out(`guardrail ${g.message}`);
  if (r.action.rolledBack) out(`ROLLED BACK: ${r.action.reason}`);
}

export function experimentsCommand(): Command {
  const x = new Command('experiments')
    .description('A/B experiments: definitions, lifecycle, assignment, analysis with guardrails, and CSV analysis')
    .addHelpText('after', '\nExamples:\n  gigintel experiments create --file ranker-v2.json\n  gigintel experiments start ranker-v2\n  gigintel experiments analyze ranker-v2\n  gigintel experiments kill ranker-v2 --reason "revenue guardrail"\n  gigintel experiments analyze-csv ab.csv --unit user_id --variant group --metric converted --control control');

  x.command('list').description('experiments by key').option('--status <status>', 'draft, running, stopped or rolled_back').option('--json', 'one JSON object per line')
    .action(async function (this: Command, o: { status?: string; json?: boolean }) {
      await withExperiments(this, async (svc) => {
        const all = await svc.list({ ...(o.status ? { status: o.status } : {}), limit: 1000 });
        if (o.json) { for (const e of all) out(JSON.stringify(e)); return; }
        if (!all.length) { out('no experiments (gigintel experiments create --file def.json)'); return; }
        table(['key', 'status', 'phase', 'unit', 'model', 'variants', 'primary metric', 'started'], all.map((e) => [e.key, e.status, String(e.phase), e.unitType, e.model ?? '-', e.variants.map((v) => v.key).join('/'), e.primaryMetric, iso(e.startedAt)]));
      });
    });

  x.command('show').description('one experiment').argument('<key>').option('--json', 'as JSON')
    .action(async function (this: Command, key: string, o: { json?: boolean }) {
      await withExperiments(this, async (svc) => {
        const e = await svc.get(key);
        if (o.json) out(JSON.stringify({ ...e, phases: await svc.phases(key) })); else printExperiment(e);
      });
    });

  x.command('create').description('define an experiment from a JSON file (the body of POST /v1/experiments)').requiredOption('--file <path>', 'the definition')
    .action(async function (this: Command, o: { file: string }) {
      let def: unknown;
      try { def = JSON.parse(await readFile(o.file, 'utf8')); } catch (err) {
        throw new ValidationError(`${o.file}: ${(err as Error).message}`, [{ path: '--file', message: 'must be a readable JSON file' }]);
      }
      if (!Value.Check(ExperimentIn, def)) {
        const problems = [...Value.Errors(ExperimentIn, def)].slice(0, 20).map((e) => ({ path: e.instancePath || '/', message: e.message }));
        throw new ValidationError(`${o.file} is not a valid experiment: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
      }
      await withExperiments(this, async (svc) => printExperiment(await svc.create(def as ExperimentInput, cliActor())));
    });

  x.command('start').description('start a draft').argument('<key>')
    .action(async function (this: Command, key: string) { await withExperiments(this, async (svc) => printExperiment(await svc.start(key, cliActor()))); });
  x.command('stop').description('stop a running experiment').argument('<key>').requiredOption('--reason <text>', 'why')
    .action(async function (this: Command, key: string, o: { reason: string }) { await withExperiments(this, async (svc) => printExperiment(await svc.stop(key, cliActor(), o.reason))); });
  x.command('kill').description('the kill switch: roll back now, all traffic to control (recorded, webhook)').argument('<key>').requiredOption('--reason <text>', 'why')
    .action(async function (this: Command, key: string, o: { reason: string }) { await withExperiments(this, async (svc) => printExperiment(await svc.rollback(key, cliActor(), o.reason))); });

  x.command('assign').description('the variant of a unit (logs its exposure unless --no-log)').argument('<key>').argument('<unit-id>').option('--no-log', 'do not log the exposure')
    .action(async function (this: Command, key: string, unitId: string, o: { log: boolean }) {
      await withExperiments(this, async (svc) => {
        const a = await svc.assign(key, unitId, {}, { log: o.log });
        out(`${unitId}: ${a.variant.key}${a.inExperiment ? '' : ` (not in the experiment: ${a.reason})`}${a.bucket !== null ? `, bucket ${a.bucket.toFixed(4)}` : ''}`);
      });
    });

  x.command('analyze').description('analyse now: every metric, SRM, guardrails (a breach rolls a running experiment back unless --no-act)').argument('<key>').option('--no-act', 'report only, never roll back')
    .option('--rebuild', 'MySQL: compute the kept per-unit values of events.* metrics again from all facts, not only the units that changed').option('--json', 'the report as JSON')
    .action(async function (this: Command, key: string, o: { act: boolean; rebuild?: boolean; json?: boolean }) {
      await withExperiments(this, async (svc) => {
        const r = await svc.analyze(key, { trigger: 'manual', act: o.act, rebuild: o.rebuild === true, actor: cliActor() });
        if (o.json) out(JSON.stringify(r)); else printReport(r);
      });
    });

  x.command('results').description('the latest stored analysis').argument('<key>').option('--json', 'as JSON')
    .action(async function (this: Command, key: string, o: { json?: boolean }) {
      await withExperiments(this, async (svc) => {
        const r = await svc.results(key);
        if (!r) { out(`no analysis of ${key} yet (gigintel experiments analyze ${key})`); return; }
        if (o.json) out(JSON.stringify(r)); else printReport(r);
      });
    });

  x.command('power').description('sample size per variant for a minimum detectable effect, or the effect detectable with n units per variant')
    .option('--baseline <p>', 'a conversion rate (0–1): binomial metric', numberArg)
    .option('--mean <x>', 'a mean metric\'s control mean (with --variance)', numberArg)
    .option('--variance <v>', 'a mean metric\'s per-unit variance', numberArg)
    .option('--mde <effect>', 'minimum detectable effect (relative unless --absolute)', numberArg)
    .option('--absolute', 'the --mde is an absolute difference')
    .option('--n <units>', 'units per variant: print the detectable effect instead', numberArg)
    .option('--alpha <a>', 'two-sided significance level', numberArg, 0.05)
    .option('--power <p>', 'power', numberArg, 0.8)
    .action((o: { baseline?: number; mean?: number; variance?: number; mde?: number; absolute?: boolean; n?: number; alpha: number; power: number }) => {
      const levels = { alpha: o.alpha, power: o.power };
      if (o.baseline === undefined && (o.mean === undefined || o.variance === undefined)) throw new ValidationError('give --baseline (a rate) or --mean and --variance', [{ path: '--baseline', message: 'or --mean with --variance' }]);
      if (o.n !== undefined) {
        const m = o.baseline !== undefined ? minimumDetectableEffectForProportion({ ...levels, baseline: o.baseline, n: o.n }) : minimumDetectableEffect({ ...levels, mean: o.mean!, variance: o.variance!, n: o.n });
        out(`with ${o.n} units per variant: detectable ${num(m.absolute)} absolute${m.relative !== null ? ` (${pct(m.relative)} relative)` : ''} at alpha ${o.alpha}, power ${o.power}`);
        return;
      }
      if (o.mde === undefined) throw new ValidationError('give --mde (or --n for the detectable effect)', [{ path: '--mde', message: 'required without --n' }]);
      const s = o.baseline !== undefined
        ? sampleSizeForProportion({ ...levels, baseline: o.baseline, mde: o.mde, relative: !o.absolute })
        : sampleSizePerVariant({ ...levels, mean: o.mean!, variance: o.variance!, mde: o.mde, relative: !o.absolute });
      out(`${s.perVariant} units per variant (${s.exact.toFixed(1)} exact) to detect ${o.absolute ? num(o.mde) : pct(o.mde)} ${o.absolute ? 'absolute' : 'relative'} at alpha ${o.alpha}, power ${o.power}`);
    });

  x.addCommand(analyzeCsvCommand());
  return x;
}
