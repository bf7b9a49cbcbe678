// Training one model version end to end: rows in (a dataset snapshot, or a CSV file), a split by
// label time (the model meets the future), an encoding fitted on the training rows only, a fit,
// holdout metrics, a fairness audit, importance, and a registered version carrying all of that
// as lineage with the artifact. Pure numerics live in the sibling files; this only wires them.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Actor } from '../../platform/audit/audit-log.js';
import { modelImportance } from '../../services/scoring/explain/global-importance.js';
import { groupFairness } from '../../services/scoring/fairness/classification-metrics.js';
import type { Db } from '../../platform/db/database.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import { loadDataset, type DatasetKind } from '../../pipelines/datasets/build-dataset.js';
import type { ColumnSpec } from '../../pipelines/datasets/point-in-time-join.js';
import { readSensitiveAttributes } from '../../pipelines/contract/sensitive-attribute.repository.js';
import { Random } from '../../pipelines/synthetic/random.js';
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, serialiseArtifact } from '../artifact.js';
import { compileModel } from '../inference/compile-model.js';
import type { MlpModel, ServableModel } from '../inference/model-types.js';
import type { Calibration, FairnessByAttributeValue, ModelVersion, RegistryService } from '../registry.service.js';
import type { VersionSpec } from '../registry.schemas.js';
import { selectRows, type Design } from './design.js';
import { applyEncoding, applyEncodingSparse, fitEncoding, type ColumnSource, type TableEncoding } from './encode-table.js';
import { coefficientImportance } from './feature-importance.js';
import { MAX_DENSE_BUCKETS, MAX_HASHED_BUCKETS } from './hash-features.js';
import { fitLogistic, MAX_NEWTON_COLS, predictLogistic, type LogisticModel } from './logistic-regression.js';
import { binaryMetrics, ndcgAtK, precisionAtK } from './metrics.js';
import { trainMlp } from './mlp.js';
import { reweighingWeights } from './reweigh.js';
import { densify, isSparseDesign, selectSparseRows, type SparseDesign } from './sparse-design.js';
import { randomSplit, timeSplit } from './time-split.js';

export const TRAIN_PHASES = ['load', 'split', 'encode', 'fit', 'evaluate', 'fairness', 'register'] as const;
export type TrainPhase = (typeof TRAIN_PHASES)[number];

export type TrainSource =
  | { kind: 'dataset'; datasetId: string; /** When given, the snapshot must be of this kind. */ expectKind?: DatasetKind }
  | { kind: 'csv'; path: string; label: string; sensitive?: string; time?: string };

export interface TrainOptions {
  source: TrainSource;
  algo: 'logistic' | 'mlp';
  /** Registered model name; default matching-ranker / ads-ctr for a snapshot, required for a CSV. */
  model?: string;
  /** L2 penalty (logistic: on standardised coefficients, default 1; mlp: on kernels, default 1e-4). */
  l2?: number;
  hidden?: number[];
  epochs?: number;
  seed?: number;
  /** Share of rows held out, the latest by label time (default 0.2). */
  holdout?: number;
  /** Share of rows before the holdout the MLP validates (early stopping) on (default 0.1; unused by logistic). */
  validation?: number;
  /**
   * Bias mitigation before the fit: 'reweigh' is Kamiran & Calders' reweighing, each training row
   * weighted P(g)·P(y) / P(g, y) for its group g of `mitigateAttribute` (logistic only).
   */
  mitigate?: 'reweigh';
  /** The sensitive attribute to reweigh by (a snapshot: e.g. gender; a CSV: the --sensitive column). */
  mitigateAttribute?: string;
  /**
   * Buckets per hashed cross column (default 256). Above MAX_DENSE_BUCKETS the design is sparse
   * and the logistic fit is L-BFGS with the bucket columns left unstandardised; serving stays a
   * dense kernel over every bucket, so keep it modest (≤ 2^14) for a model that serves.
   */
  hashBuckets?: number;
  actor: Actor;
  onPhase?: (phase: TrainPhase, step: number, steps: number) => void;
}

export interface TrainDeps { db: Db; dataDir: string; registry: Pick<RegistryService, 'ensureModel' | 'registerVersion'> }

export interface TrainResult {
  version: ModelVersion;
  split: { train: number; validation: number; holdout: number; kind: 'time' | 'random'; trainMaxTime: number | null; holdoutMinTime: number | null };
  /** How a CSV label became 0/1 (null for a snapshot: its labels are 0/1 already). */
  labelMapping: { positive: string; negative: string } | null;
  /** What the run chose or skipped, to print. */
  notes: string[];
}

const DEFAULT_MODEL: Record<DatasetKind, string> = { matching: 'matching-ranker', ads: 'ads-ctr' };
const UNKNOWN = '(unknown)';
/**
 * Identifier and absolute-timestamp features: a one-hot of client ids or a
 * raw last-active time fits the training window and says nothing about the next one. (Id lists
 * stay: they are encoded as their length, a count.)
 */
const NOT_LEARNABLE = /(_id|_at)$/;

interface Prepared {
  source: ColumnSource;
  n: number;
  columns: Pick<ColumnSpec, 'name' | 'type' | 'role'>[];
  y: Float64Array;
  times: Float64Array | null;
  groupsBy: ArrayLike<string> | null;
  kind: DatasetKind | 'csv';
  featureSets: VersionSpec['featureSets'];
  dataset: { id: string; contentHash: string };
  labelMapping: TrainResult['labelMapping'];
  /** Provider ids (matching) or the --sensitive column (CSV), for the fairness audit. */
  subjects: ArrayLike<string | null> | null;
  sensitiveName: string | null;
}

/** Trains, evaluates and registers one version; returns it with the split it was judged on. */
/** Feature columns holding hashed crosses (`<set>__<a>_x_<b>`), and how many buckets they get. */
const HASHED_CROSS = /__[a-z]+_x_[a-z]+$/;
const HASHED_BUCKETS = 256;

export async function trainModel(deps: TrainDeps, opts: TrainOptions): Promise<TrainResult> {
  const o = resolve(opts);
  const notes: string[] = [];
  const phase = (p: TrainPhase) => opts.onPhase?.(p, TRAIN_PHASES.indexOf(p), TRAIN_PHASES.length);

  phase('load');
  const data = opts.source.kind === 'dataset' ? await fromSnapshot(deps, opts.source) : await fromCsv(opts.source);
  const modelName = opts.model ?? (data.kind === 'csv' ? undefined : DEFAULT_MODEL[data.kind]);
  if (!modelName) throw new ValidationError('a model name is required when training from a CSV', [{ path: 'model', message: 'required with --csv' }]);
  if (data.n < 10) throw new ValidationError(`only ${data.n} rows to train on`, [{ path: 'dataset', message: 'needs at least 10 rows' }]);
  const skipped = data.kind === 'csv' ? [] : data.columns.filter((c) => c.role === 'id' && NOT_LEARNABLE.test(c.name) && c.name.includes('__')).map((c) => c.name);
  if (skipped.length) notes.push(`not used as features (identifiers, absolute times): ${skipped.join(', ')}`);
  if (data.labelMapping) notes.push(`label: "${data.labelMapping.positive}" → 1 (the minority), "${data.labelMapping.negative}" → 0`);

  phase('split');
  const validation = o.algo === 'mlp' ? o.validation : 0;
  let train: Int32Array, val: Int32Array, hold: Int32Array;
  let splitKind: 'time' | 'random';
  if (data.times) {
    const s = timeSplit(data.times, { holdoutFraction: o.holdout, validationFraction: validation });
    ({ train, validation: val, holdout: hold } = s);
    splitKind = 'time';
  } else {
    const outer = randomSplit(data.n, o.holdout, `${o.seed}`);
    hold = outer.holdout;
    if (validation > 0) {
      const inner = randomSplit(outer.train.length, validation / (1 - o.holdout), `${o.seed}:validation`);
      train = Int32Array.from(inner.train, (k) => outer.train[k]!);
      val = Int32Array.from(inner.holdout, (k) => outer.train[k]!);
    } else {
      train = outer.train; val = new Int32Array(0);
    }
    splitKind = 'random';
    notes.push(`no time column: seeded random split (seed ${o.seed})`);
  }
  if (train.length === 0 || hold.length === 0) throw new ValidationError('the split leaves no training or no holdout rows', [{ path: 'holdout', message: 'choose a share that leaves rows on both sides' }]);
  const maxOf = (idx: Int32Array) => (data.times && idx.length ? Math.max(...Array.from(idx, (i) => data.times![i]!)) : null);
  const minOf = (idx: Int32Array) => (data.times && idx.length ? Math.min(...Array.from(idx, (i) => data.times![i]!)) : null);

  phase('encode');
  const fitRows = Int32Array.from([...train, ...val]);
  // Fitted on the training rows only: holdout categories and means must not leak into the model.
  // Hashed crosses (ad_request's advertiser × placement, device × placement) are categories folded
  // into hashBuckets one-hot columns (default HASHED_BUCKETS), never read as magnitudes.
  const hashed = Object.fromEntries(data.columns.filter((c) => c.role === 'feature' && HASHED_CROSS.test(c.name)).map((c) => [c.name, o.hashBuckets]));
  if (Object.keys(hashed).length) notes.push(`hashed crosses one-hot in ${o.hashBuckets} buckets: ${Object.keys(hashed).join(', ')}`);
  const encoding = fitEncoding(data.source, { columns: data.columns, rows: train, hashed });
  if (encoding.featureNames.length === 0) throw new ValidationError('no feature columns to train on', [{ path: 'columns', message: 'needs at least one feature column' }]);
  // Wide hashings never become dense: CSR rows, fitted by L-BFGS on the non-zeros.
  const sparse = Object.keys(hashed).length > 0 && o.hashBuckets > MAX_DENSE_BUCKETS;
  if (sparse && o.algo !== 'logistic') throw new ValidationError(`${o.hashBuckets} hashed buckets need the logistic learner (the MLP takes ≤ ${MAX_DENSE_BUCKETS})`, [{ path: 'hashBuckets', message: `must be ≤ ${MAX_DENSE_BUCKETS} with mlp` }]);
  const fitDesign = sparse ? applyEncodingSparse(encoding, data.source, fitRows) : applyEncoding(encoding, data.source, fitRows);
  const holdDesign = sparse ? applyEncodingSparse(encoding, data.source, hold) : applyEncoding(encoding, data.source, hold);
  const yFit = Float64Array.from(fitRows, (i) => data.y[i]!);
  const yHold = Float64Array.from(hold, (i) => data.y[i]!);

  phase('fit');
  let model: LogisticModel | MlpModel;
  let hyperparameters: Record<string, unknown>;
  let mitigation: Record<string, unknown> | null = null;
  let sampleWeight: Float64Array | undefined;
  if (o.mitigate === 'reweigh') {
    const groups = (await sensitiveGroups(deps.db, data, fitRows)).get(o.mitigateAttribute!);
    if (!groups) throw new ValidationError(`no sensitive attribute "${o.mitigateAttribute}" recorded for the training rows`, [{ path: 'mitigateAttribute', message: 'must be a sensitive attribute of the training subjects' }]);
    const rw = reweighingWeights(yFit, groups);
    sampleWeight = rw.weights;
    mitigation = { method: 'reweigh', attribute: o.mitigateAttribute, weights: rw.table };
    notes.push(`mitigation: reweighing by ${o.mitigateAttribute} (Kamiran & Calders), weights ${rw.table.map((c) => `${c.group}/${c.label}=${c.weight.toFixed(3)}`).join(', ')}`);
  }
  if (o.algo === 'logistic') {
    model = fitLogistic(fitDesign, yFit, { l2: o.l2, encoding, ...(sparse ? { standardize: 'dense' as const } : {}), ...(sampleWeight ? { sampleWeight } : {}) });
    hyperparameters = { l2: o.l2, iterations: model.iterations, converged: model.converged };
    if (sparse) {
      Object.assign(hyperparameters, { solver: fitDesign.cols > MAX_NEWTON_COLS ? 'lbfgs' : 'newton', standardize: 'dense', hashBuckets: o.hashBuckets });
      notes.push(`sparse design: ${fitDesign.cols} columns; bucket columns unstandardised${fitDesign.cols > MAX_NEWTON_COLS ? '; fitted by L-BFGS' : ''}`);
    }
    if (!model.converged) notes.push(`logistic regression did not converge in ${model.iterations} iterations`);
  } else {
    const validationIndices = Int32Array.from({ length: val.length }, (_, k) => train.length + k);
    model = await trainMlp(fitDesign as Design, yFit, { hidden: o.hidden, l2: o.l2, epochs: o.epochs, seed: o.seed, encoding, ...(val.length ? { validationIndices } : { validationFraction: 0 }) });
    hyperparameters = { ...model.hyperparameters, bestEpoch: model.bestEpoch, stoppedEpoch: model.stoppedEpoch };
  }
  Object.assign(hyperparameters, { holdout: o.holdout, validation, split: splitKind, seed: o.seed, features: encoding.featureNames.length, ...(mitigation ? { mitigation } : {}) });

  phase('evaluate');
  const predict = model.kind === 'logistic'
    ? (d: Design | SparseDesign) => predictLogistic(model as LogisticModel, d)
    : ((c) => (d: Design | SparseDesign) => c.predict((d as Design).data, d.rows))(compileModel(model));
  const p = predict(holdDesign);
  const bm = binaryMetrics(yHold, p);
  const metrics: Record<string, number> = {
    auc: bm.auc, logLoss: bm.logLoss, accuracy: bm.accuracy, ece: bm.ece,
    holdoutRows: hold.length, holdoutPositives: bm.positives, trainRows: train.length, validationRows: val.length,
  };
  if (data.groupsBy) {
    const groups = Array.from(hold, (i) => data.groupsBy![i]!);
    const prec = precisionAtK(yHold, p, groups, 5), ndcg = ndcgAtK(yHold, p, groups, 5);
    Object.assign(metrics, { precisionAt5: prec.value, ndcgAt5: ndcg.value, rankedJobs: prec.groups });
  }
  for (const [k, v] of Object.entries(metrics)) {
    if (!Number.isFinite(v)) { delete metrics[k]; notes.push(`metric ${k} is undefined on this holdout (one class only?) and was left out`); }
  }
  const calibration: Calibration = {
    ece: bm.ece,
    bins: bm.reliability.map((b) => ({ lower: b.lo, upper: b.hi, count: b.count, meanPredicted: b.meanPredicted, fractionPositive: b.observedRate })),
  };

  phase('fairness');
  const fairness = await audit(deps.db, data, hold, yHold, p, notes);

  const importance = globalImportanceOf(model as ServableModel, encoding, holdDesign, o.seed, notes);

  phase('register');
  const artifact = serialiseArtifact(model as ServableModel);
  await deps.registry.ensureModel(modelName, opts.actor);
  const spec: VersionSpec = {
    algorithm: o.algo, hyperparameters, featureSets: data.featureSets, dataset: data.dataset,
    metrics, calibration, fairness, importance,
    description: `${o.algo} on ${data.dataset.id}: ${train.length} train / ${val.length} validation / ${hold.length} holdout rows (${splitKind} split)`,
  };
  const version = await deps.registry.registerVersion(modelName, spec, { ...artifact, format: `${ARTIFACT_FORMAT}/${ARTIFACT_VERSION}` }, opts.actor);
  return {
    version, labelMapping: data.labelMapping, notes,
    split: { train: train.length, validation: val.length, holdout: hold.length, kind: splitKind, trainMaxTime: maxOf(train), holdoutMinTime: minOf(hold) },
  };
}

function resolve(opts: TrainOptions) {
  const algo = opts.algo;
  const o = {
    algo, l2: opts.l2 ?? (algo === 'logistic' ? 1 : 1e-4), hidden: opts.hidden ?? [32, 16], epochs: opts.epochs ?? 20,
    seed: opts.seed ?? 42, holdout: opts.holdout ?? 0.2, validation: opts.validation ?? 0.1,
    hashBuckets: opts.hashBuckets ?? HASHED_BUCKETS, mitigate: opts.mitigate, mitigateAttribute: opts.mitigateAttribute ?? (opts.source.kind === 'csv' ? opts.source.sensitive : undefined),
  };
  const problems: { path: string; message: string }[] = [];
  if (algo !== 'logistic' && algo !== 'mlp') problems.push({ path: 'algo', message: 'must be logistic or mlp' });
  if (!(Number.isFinite(o.l2) && o.l2 >= 0)) problems.push({ path: 'l2', message: 'must be a number ≥ 0' });
  if (!(o.hidden.length > 0 && o.hidden.every((h) => Number.isInteger(h) && h > 0 && h <= 4096))) problems.push({ path: 'hidden', message: 'must be positive layer sizes, e.g. 32,16' });
  if (!(Number.isInteger(o.epochs) && o.epochs >= 1 && o.epochs <= 10_000)) problems.push({ path: 'epochs', message: 'must be a whole number from 1 to 10000' });
  if (!Number.isInteger(o.seed)) problems.push({ path: 'seed', message: 'must be an integer' });
  if (!(o.holdout > 0 && o.holdout < 0.9)) problems.push({ path: 'holdout', message: 'must be in (0, 0.9)' });
  if (!(o.validation >= 0 && o.holdout + o.validation < 0.95)) problems.push({ path: 'validation', message: 'must be ≥ 0 and leave rows to train on' });
  if (!(Number.isInteger(o.hashBuckets) && o.hashBuckets >= 2 && o.hashBuckets <= MAX_HASHED_BUCKETS)) problems.push({ path: 'hashBuckets', message: `must be an integer from 2 to ${MAX_HASHED_BUCKETS}` });
  if (o.mitigate !== undefined && o.mitigate !== 'reweigh') problems.push({ path: 'mitigate', message: 'must be reweigh' });
  if (o.mitigate && algo !== 'logistic') problems.push({ path: 'mitigate', message: 'reweighing is supported with the logistic learner only' });
  if (o.mitigate && !o.mitigateAttribute) problems.push({ path: 'mitigateAttribute', message: 'is required with mitigate (a sensitive attribute, e.g. gender)' });
  if (o.mitigate && opts.source.kind === 'csv' && o.mitigateAttribute !== opts.source.sensitive) problems.push({ path: 'mitigateAttribute', message: 'must be the --sensitive column for a CSV' });
  if (problems.length) throw new ValidationError(`invalid training options: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  return o;
}

async function fromSnapshot(deps: TrainDeps, src: Extract<TrainSource, { kind: 'dataset' }>): Promise<Prepared> {
  const { snapshot, table } = await loadDataset(deps, src.datasetId);
  if (src.expectKind && snapshot.kind !== src.expectKind) {
    throw new ValidationError(`dataset ${snapshot.id} is a ${snapshot.kind} snapshot, not ${src.expectKind}`, [{ path: 'dataset', message: `must be a ${src.expectKind} snapshot` }]);
  }
  const role = (r: ColumnSpec['role']) => snapshot.columns.find((c) => c.role === r)?.name;
  const labelCol = role('label'), timeCol = role('label_time');
  if (!labelCol || !timeCol) throw new ValidationError(`dataset ${snapshot.id} lacks a label or label time column`, [{ path: 'dataset', message: 'needs label and label_time columns' }]);
  const y = Float64Array.from(table.array(labelCol) as ArrayLike<number>);
  const has = (name: string) => snapshot.columns.some((c) => c.name === name);
  const columns = snapshot.columns.map((c) => (c.role === 'feature' && NOT_LEARNABLE.test(c.name) ? { ...c, role: 'id' as const } : c));
  return {
    source: table, n: table.numRows(), columns, y,
    times: Float64Array.from(table.array(timeCol) as ArrayLike<number>),
    groupsBy: snapshot.kind === 'matching' && has('job_id') ? table.array('job_id') as ArrayLike<string> : null,
    kind: snapshot.kind, featureSets: snapshot.featureSets.map((f) => ({ name: f.name, version: f.version, schemaHash: f.schemaHash })),
    dataset: { id: snapshot.id, contentHash: snapshot.contentHash }, labelMapping: null,
    subjects: snapshot.kind === 'matching' && has('provider_id') ? table.array('provider_id') as ArrayLike<string | null> : null,
    sensitiveName: null,
  };
}

async function fromCsv(src: Extract<TrainSource, { kind: 'csv' }>): Promise<Prepared> {
  let text: Buffer;
  try { text = await readFile(src.path); } catch (err) {
    throw new ValidationError(`cannot read ${src.path}: ${(err as Error).message}`, [{ path: 'csv', message: 'must be a readable file' }]);
  }
  const rows = parseCsv(text.toString('utf8'));
  const header = rows.shift();
  if (!header?.length) throw new ValidationError(`${src.path} has no header row`, [{ path: 'csv', message: 'needs a header row' }]);
  for (const [flag, name] of [['label', src.label], ['sensitive', src.sensitive], ['time', src.time]] as const) {
    if (name !== undefined && !header.includes(name)) throw new ValidationError(`${src.path} has no column "${name}"`, [{ path: flag, message: `must be one of: ${header.join(', ')}` }]);
  }
  const n = rows.length;
  rows.forEach((r, i) => {
    if (r.length !== header.length) throw new ValidationError(`${src.path} row ${i + 2} has ${r.length} fields, the header ${header.length}`, [{ path: `csv/${i + 2}`, message: `must have ${header.length} fields` }]);
  });
  const raw = (j: number) => rows.map((r) => (r[j] === '' ? null : r[j]!));
  const columns: Record<string, Float64Array | (string | null)[]> = {};
  const specs: Pick<ColumnSpec, 'name' | 'type' | 'role'>[] = [];
  header.forEach((name, j) => {
    const values = raw(j);
    const numeric = values.every((v) => v === null || (v.trim() !== '' && Number.isFinite(Number(v))));
    columns[name] = numeric ? Float64Array.from(values, (v) => (v === null ? NaN : Number(v))) : values;
    const isFeature = name !== src.label && name !== src.sensitive && name !== src.time;
    specs.push({ name, type: numeric ? 'float' : 'string', role: isFeature ? 'feature' : 'id' });
  });

  // Label: 0/1 as is; any other two values map to 0/1 with the rarer one as 1.
  const labels = raw(header.indexOf(src.label));
  const counts = new Map<string, number>();
  labels.forEach((v, i) => {
    if (v === null) throw new ValidationError(`row ${i + 2} has no label`, [{ path: 'label', message: 'every row needs a label' }]);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  });
  const values = [...counts.keys()];
  let y: Float64Array, labelMapping: TrainResult['labelMapping'] = null;
  if (values.every((v) => v === '0' || v === '1')) {
    y = Float64Array.from(labels, (v) => Number(v));
  } else if (values.length === 2) {
    const [a, b] = values.sort((x, z) => counts.get(x)! - counts.get(z)! || (x < z ? -1 : 1));
    labelMapping = { positive: a!, negative: b! };
    y = Float64Array.from(labels, (v) => (v === a ? 1 : 0));
  } else {
    throw new ValidationError(`label column "${src.label}" has ${values.length} distinct values`, [{ path: 'label', message: 'must be 0/1 or have exactly two values' }]);
  }

  let times: Float64Array | null = null;
  if (src.time) {
    const t = raw(header.indexOf(src.time));
    times = Float64Array.from(t, (v, i) => {
      const ms = v === null ? NaN : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Date.parse(v);
      if (!Number.isFinite(ms)) throw new ValidationError(`row ${i + 2}: "${v}" is not a time`, [{ path: 'time', message: 'must be epoch milliseconds or ISO 8601 in every row' }]);
      return ms;
    });
  }
  const id = `csv:${basename(src.path)}`.slice(0, 100);
  return {
    source: columns, n, columns: specs, y, times, groupsBy: null, kind: 'csv', featureSets: [],
    dataset: { id, contentHash: createHash('sha256').update(text).digest('hex') }, labelMapping,
    subjects: src.sensitive ? columns[src.sensitive] instanceof Float64Array ? Array.from(columns[src.sensitive] as Float64Array, (v) => (Number.isNaN(v) ? null : String(v))) : columns[src.sensitive] as (string | null)[] : null,
    sensitiveName: src.sensitive ?? null,
  };
}

/** RFC 4180: commas, double quotes ("" inside quotes), CRLF or LF; blank lines skipped. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false, i = 0;
  const endRow = () => { row.push(field); if (row.length > 1 || row[0] !== '') rows.push(row); row = []; field = ''; };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false; } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') endRow();
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length) endRow();
  return rows;
}

/**
 * Fairness of the holdout predictions by each sensitive attribute. Predictions are thresholded so
 * the share selected equals the holdout's base rate (the top-k scores, k = positives): a fixed 0.5
 * would select almost nobody on a rare label and make every rate comparison meaningless.
 */
async function audit(db: Db, data: Prepared, hold: Int32Array, y: Float64Array, p: Float64Array, notes: string[]): Promise<Record<string, FairnessByAttributeValue>> {
  if (!data.subjects) {
    notes.push(data.kind === 'csv' ? 'fairness: no --sensitive column given' : 'fairness: no sensitive attributes for this kind of dataset');
    return {};
  }
  const positives = y.reduce((s, v) => s + v, 0);
  const order = Int32Array.from({ length: p.length }, (_, k) => k).sort((a, b) => p[b]! - p[a]! || a - b);
  const selected = new Float64Array(p.length);
  for (let r = 0; r < positives; r++) selected[order[r]!] = 1;
  notes.push(`fairness: top ${positives} of ${p.length} holdout rows selected (selection rate = base rate ${(positives / Math.max(p.length, 1)).toFixed(3)})`);

  const byAttribute = await sensitiveGroups(db, data, hold);
  if (data.kind !== 'csv' && !byAttribute.size) notes.push('fairness: the holdout providers have no sensitive attributes recorded');
  const out: Record<string, FairnessByAttributeValue> = {};
  for (const [attribute, groups] of byAttribute) {
    // Fairlearn's definitions (services/scoring/fairness, shared with the live audits): a group
    // without positives counts as TPR 0 in the differences, as Fairlearn does; the gates judge
    // from the per-group rates with their support, where that group shows null.
    const r = groupFairness(y, selected, groups, { scores: p });
    out[attribute.slice(0, 64)] = {
      demographicParityDifference: r.demographicParityDifference,
      disparateImpactRatio: r.disparateImpactRatio,
      equalOpportunityDifference: r.equalOpportunityDifference,
      equalizedOddsDifference: r.equalizedOddsDifference,
      // Positives are the support of a group's true positive rate: the gates judge only groups with enough.
      groups: Object.fromEntries(r.groups.map((g) => [g.group.slice(0, 200), { count: g.count, positives: g.positives, selectionRate: g.selectionRate, truePositiveRate: g.truePositiveRate, falsePositiveRate: g.falsePositiveRate }])),
    };
  }
  return out;
}

/** Each sensitive attribute's value for `rows` (the CSV's --sensitive column, or the providers' recorded attributes). */
async function sensitiveGroups(db: Db, data: Prepared, rows: Int32Array): Promise<Map<string, string[]>> {
  const byAttribute = new Map<string, string[]>();
  if (!data.subjects) return byAttribute;
  if (data.kind === 'csv') {
    byAttribute.set(data.sensitiveName!, Array.from(rows, (i) => data.subjects![i] ?? UNKNOWN));
  } else {
    const ids = [...new Set(Array.from(rows, (i) => data.subjects![i]).filter((v): v is string => v !== null))];
    const values = new Map<string, Map<string, string>>();   // attribute → subject → value
    for (let k = 0; k < ids.length; k += 500) {
      const chunk = ids.slice(k, k + 500);
      for (const a of await readSensitiveAttributes(db, { subjectIds: chunk, limit: chunk.length * 100 })) {
        let m = values.get(a.attribute);
        if (!m) values.set(a.attribute, m = new Map());
        m.set(a.subjectId, a.value);
      }
    }
    for (const [attribute, m] of [...values].sort(([a], [b]) => (a < b ? -1 : 1))) {
      byAttribute.set(attribute, Array.from(rows, (i) => m.get(data.subjects![i] ?? '') ?? UNKNOWN));
    }
  }
  return byAttribute;
}

/** Holdout rows explained for global importance: enough for stable means, bounded in time. */
const IMPORTANCE_ROWS = 5_000;
/** Wider designs would need rows × columns of dense memory: they keep |coefficient| importance. */
const IMPORTANCE_MAX_COLS = 4_096;

/**
 * Global importance as the scoring service explains (mean |φ| per raw feature over holdout rows:
 * exact SHAP for logistic, Integrated Gradients for MLP), so the registry's importance and each
 * prediction's explanation speak of the same features in the same units (log-odds).
 */
function globalImportanceOf(model: ServableModel, encoding: TableEncoding, hold: Design | SparseDesign, seed: number, notes: string[]): Record<string, number> {
  if (hold.cols > IMPORTANCE_MAX_COLS && model.kind === 'logistic') {
    notes.push(`importance: |coefficient| on the standardised scale (${hold.cols} design columns is too wide to explain row by row)`);
    return Object.fromEntries(coefficientImportance(model as LogisticModel).slice(0, MAX_DENSE_BUCKETS).map((c) => [c.feature, c.importance]));
  }
  let rows = Int32Array.from({ length: hold.rows }, (_, i) => i);
  if (rows.length > IMPORTANCE_ROWS) {
    const rng = new Random(`${seed}`, 'importance-sample');
    for (let i = rows.length - 1; i > 0; i--) { const k = Math.floor(rng.next() * (i + 1)); const t = rows[i]!; rows[i] = rows[k]!; rows[k] = t; }
    rows = rows.slice(0, IMPORTANCE_ROWS).sort();
  }
  const dense = isSparseDesign(hold) ? densify(selectSparseRows(hold, rows)) : selectRows(hold, rows);
  const { method, features } = modelImportance({ model, encoding }, dense.data, dense.rows);
  notes.push(`importance: mean |φ| (${method}, log-odds) per raw feature over ${dense.rows} holdout rows`);
  return Object.fromEntries(features.map((f) => [f.feature.slice(0, 200), f.meanAbsPhi]));
}

