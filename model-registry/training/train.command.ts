// gigintel train matching|ads --dataset <id> | train --csv <file> --label <col>: fit a model,
// evaluate it on the latest rows, audit its fairness and register it as a new version.
import { userInfo } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ValidationError } from '../../platform/errors/app-error.js';
import { configFrom, withPlatform } from '../../services/cli/cli-context.js';
import { TRAIN_PHASES, type TrainOptions, type TrainPhase, type TrainResult, type TrainSource } from './train-model.js';

function number(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError('must be a number');
  return x;
}

function wholeNumber(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
}

function share(v: string): number {
  const x = number(v);
  if (!(x > 0 && x < 0.9)) throw new InvalidArgumentError('must be a share between 0 and 0.9, e.g. 0.2');
  return x;
}

function layers(v: string): number[] {
  if (!/^\d+(,\d+)*$/.test(v) || v.split(',').some((h) => Number(h) < 1)) throw new InvalidArgumentError('must be layer sizes like 32,16');
  return v.split(',').map(Number);
}

interface TrainFlags {
  dataset?: string; csv?: string; label?: string; sensitive?: string; time?: string; model?: string;
  algo: 'logistic' | 'mlp'; l2?: number; hidden?: number[]; epochs?: number; seed?: number; holdout?: number; json?: boolean;
  mitigate?: 'reweigh'; mitigateAttribute?: string; hashBuckets?: number;
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a model on a dataset snapshot (or a CSV file), evaluate it on held-out rows and register it as a new version')
    .argument('[kind]', 'the snapshot\'s kind: matching or ads (omit with --csv)')
    .option('--dataset <id>', 'the dataset snapshot to train on (gigintel dataset list)')
    .option('--csv <file>', 'train on a CSV file instead: header row; numeric columns become numbers, others categories')
    .option('--label <column>', 'with --csv: the label column (0/1, or two values: the rarer becomes 1)')
    .option('--sensitive <column>', 'with --csv: audit fairness by this column (it is not used as a feature)')
    .option('--time <column>', 'with --csv: split by this time column (epoch ms or ISO 8601); default a seeded random split')
    .addOption(new Option('--algo <algo>', 'the learner').choices(['logistic', 'mlp']).default('logistic'))
    .option('--l2 <n>', 'L2 penalty (logistic default 1, mlp default 1e-4)', number)
    .option('--hidden <sizes>', 'mlp: hidden layer sizes (default 32,16)', layers)
    .option('--epochs <n>', 'mlp: maximum epochs (default 20)', wholeNumber)
    .option('--seed <n>', 'seed for the mlp and the random split (default 42)', wholeNumber)
    .option('--holdout <share>', 'share of rows held out, the latest by label time (default 0.2)', share)
    .addOption(new Option('--mitigate <method>', 'bias mitigation: reweigh (Kamiran & Calders sample weights; logistic only)').choices(['reweigh']))
    .option('--mitigate-attribute <name>', 'the sensitive attribute to mitigate by, e.g. gender (with --csv: the --sensitive column, the default)')
    .option('--hash-buckets <n>', 'ads: buckets per hashed cross (default 256; above 1024 a sparse design fitted by L-BFGS, up to 262144)', wholeNumber)
    .option('--model <name>', 'registered model name (default matching-ranker or ads-ctr; required with --csv)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', `
Rows are split by label time: the model trains on the past and is judged on the latest rows, as it
will meet them. The encoding (means, categories) is fitted on the training rows only. Fairness is
audited on the holdout with predictions thresholded so the share selected equals the base rate.

Examples:
  gigintel train matching --dataset ds_matching_20261101T0000_20261111T0000_ab12cd --algo logistic --l2 1
  gigintel train ads --dataset <id> --algo mlp --hidden 32,16 --epochs 20 --seed 7
  gigintel train matching --dataset <id> --mitigate reweigh --mitigate-attribute gender
  gigintel train --csv adult.csv --label income --sensitive sex --model adult-income`)
    .action(async function (this: Command, kind: string | undefined, o: TrainFlags) {
      const source = sourceOf(kind, o);
      const config = configFrom(this);
      await withPlatform(config, {}, async (platform, services) => {
        const { trainModel } = await import('./train-model.js');
        const bar = await phaseBar();
        let result: TrainResult;
        try {
          const opts: TrainOptions = {
            source, algo: o.algo, actor: { type: 'cli', id: userInfo().username }, onPhase: bar.update,
            ...(o.model !== undefined ? { model: o.model } : {}), ...(o.l2 !== undefined ? { l2: o.l2 } : {}),
            ...(o.hidden ? { hidden: o.hidden } : {}), ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
            ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.holdout !== undefined ? { holdout: o.holdout } : {}),
            ...(o.mitigate ? { mitigate: o.mitigate } : {}), ...(o.mitigateAttribute ? { mitigateAttribute: o.mitigateAttribute } : {}),
            ...(o.hashBuckets !== undefined ? { hashBuckets: o.hashBuckets } : {}),
          };
          result = await trainModel({ db: platform.db.db, dataDir: config.data.dir, registry: services.registry }, opts);
        } finally {
          bar.stop();
        }
        print(result, o.json === true);
      });
    });
}

function sourceOf(kind: string | undefined, o: TrainFlags): TrainSource {
  const bad = (path: string, message: string) => new ValidationError(`--${path} ${message}`, [{ path, message }]);
  if (o.csv !== undefined) {
    if (kind !== undefined) throw bad('csv', `trains on a file: drop the kind "${kind}"`);
    if (o.dataset !== undefined) throw bad('dataset', 'conflicts with --csv');
    if (!o.label) throw bad('label', 'is required with --csv');
    if (!o.model) throw bad('model', 'is required with --csv');
    return { kind: 'csv', path: o.csv, label: o.label, ...(o.sensitive ? { sensitive: o.sensitive } : {}), ...(o.time ? { time: o.time } : {}) };
  }
  for (const flag of ['label', 'sensitive', 'time'] as const) if (o[flag] !== undefined) throw bad(flag, 'only applies with --csv');
  if (kind !== 'matching' && kind !== 'ads') throw new ValidationError(`give a kind (matching or ads) with --dataset, or --csv <file>${kind ? `; "${kind}" is not a kind` : ''}`, [{ path: 'kind', message: 'must be matching or ads' }]);
  if (!o.dataset) throw bad('dataset', 'is required: the snapshot id (gigintel dataset list)');
  return { kind: 'dataset', datasetId: o.dataset, expectKind: kind };
}

/** Phases as a bar on a terminal; nothing otherwise (pipes and logs get the summary only). */
async function phaseBar(): Promise<{ update: (p: TrainPhase, step: number, steps: number) => void; stop: () => void }> {
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar({ format: 'train [{bar}] {value}/{total} {phase}', stream: process.stderr }, Presets.shades_classic);
  bar.start(TRAIN_PHASES.length, 0, { phase: '' });
  return { update: (phase, step) => bar.update(step, { phase }), stop: () => { bar.update(TRAIN_PHASES.length, { phase: 'done' }); bar.stop(); } };
}

function print(r: TrainResult, json: boolean): void {
  const v = r.version;
  if (json) {
    process.stdout.write(`${JSON.stringify({ model: v.model, version: v.version, status: v.status, metrics: v.metrics, split: r.split, labelMapping: r.labelMapping, notes: r.notes })}\n`);
    return;
  }
  const f = (x: number | undefined, d = 4) => (x === undefined ? '-' : x.toFixed(d));
  const m = v.metrics;
  const lines = [
    `${v.model} v${v.version} ${v.status}${v.statusReason ? ` (${v.statusReason})` : ''}: ${v.algorithm} on ${v.dataset?.id ?? '-'}`,
    `split (${r.split.kind}): ${r.split.train} train / ${r.split.validation} validation / ${r.split.holdout} holdout rows`,
    `holdout: AUC ${f(m.auc)}  log loss ${f(m.logLoss)}  accuracy ${f(m.accuracy)}  ECE ${f(m.ece)}`
      + (m.precisionAt5 !== undefined ? `  P@5 ${f(m.precisionAt5)}  NDCG@5 ${f(m.ndcgAt5)} (${m.rankedJobs} jobs)` : ''),
    ...Object.entries(v.fairness ?? {}).map(([a, x]) => `fairness ${a}: demographic parity diff ${f(x.demographicParityDifference, 3)}, disparate impact ${x.disparateImpactRatio === null ? '-' : f(x.disparateImpactRatio, 3)}, equalized odds diff ${f(x.equalizedOddsDifference, 3)}`),
    ...r.notes.map((n) => `note: ${n}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
