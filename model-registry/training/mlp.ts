// A small dense network (hidden layers + one sigmoid unit) trained with TensorFlow.js on binary
// labels. Everything random is seeded — weight initialisers and the per-epoch shuffle, which is
// ours (tfjs's fit() would shuffle with Math.random) — so one seed gives one model. Early
// stopping watches the validation loss and keeps the best epoch's weights. The result is plain
// arrays (see ../inference/model-types.ts): nothing downstream needs tfjs.
import { ValidationError, type FieldProblem } from '../../platform/errors/app-error.js';
import type { Activation, MlpHistoryEntry, MlpModel } from '../inference/model-types.js';
import type { Design } from './design.js';
import type { TableEncoding } from './encode-table.js';
import { extractLayers, loadTf, type Tf } from './mlp-tfjs.js';
import { uniform } from '../../pipelines/synthetic/random.js';

export interface MlpProgress { epoch: number; epochs: number; loss: number; valLoss: number | null; bestEpoch: number }

export interface MlpOptions {
  /** Required when X is one flat row-major array; defaults to x0, x1, … for an array of rows. */
  featureNames?: string[];
  /** Units of each hidden layer. Default [32, 16]. */
  hidden?: number[];
  /** Hidden activation. Default 'relu'. */
  activation?: 'relu' | 'tanh';
  /** L2 penalty on every kernel (added to the loss as l2 · Σw²). Default 1e-4. */
  l2?: number;
  /** Adam's learning rate. Default 1e-3. */
  learningRate?: number;
  /** Maximum epochs. Default 20. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /**
   * Share of rows held out for validation, taken from the END: callers pass rows in time order,
   * so the model validates on later rows than it trains on. Default 0.2; 0 turns early stopping off.
   */
  validationFraction?: number;
  /** Explicit validation rows (e.g. a time split made by the caller); overrides validationFraction. */
  validationIndices?: ArrayLike<number>;
  /** Epochs without a better validation loss before stopping. Default 3. */
  patience?: number;
  /** Default 42. */
  seed?: number;
  onProgress?: (p: MlpProgress) => void;
  /** How raw rows became X (from encodeTable), kept in the model so serving encodes alike. */
  encoding?: TableEncoding;
}

const DEFAULTS = {
  hidden: [32, 16], activation: 'relu', l2: 1e-4, learningRate: 1e-3, epochs: 20, batchSize: 256,
  validationFraction: 0.2, patience: 3, seed: 42,
} as const;

/** Mulberry32: a tiny seeded PRNG, enough for shuffling. */

function shuffleInPlace(a: Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!; a[i] = a[j]!; a[j] = t;
  }
}

/** Binary cross-entropy with Keras's clipping, in float64. */
function logLoss(p: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  const eps = 1e-7;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i]!));
    s -= y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q);
  }
  return s / n;
}

interface Resolved {
  hidden: number[]; activation: 'relu' | 'tanh'; l2: number; learningRate: number; epochs: number;
  batchSize: number; validationFraction: number; patience: number; seed: number;
}

function resolveOptions(o: MlpOptions): Resolved {
  const r: Resolved = {
    hidden: o.hidden ?? [...DEFAULTS.hidden], activation: o.activation ?? DEFAULTS.activation,
    l2: o.l2 ?? DEFAULTS.l2, learningRate: o.learningRate ?? DEFAULTS.learningRate,
    epochs: o.epochs ?? DEFAULTS.epochs, batchSize: o.batchSize ?? DEFAULTS.batchSize,
    validationFraction: o.validationFraction ?? DEFAULTS.validationFraction,
    patience: o.patience ?? DEFAULTS.patience, seed: o.seed ?? DEFAULTS.seed,
  };
  const problems: FieldProblem[] = [];
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  if (!Array.isArray(r.hidden) || !r.hidden.every(posInt)) problems.push({ path: 'hidden', message: 'must be positive integers' });
  if (r.activation !== 'relu' && r.activation !== 'tanh') problems.push({ path: 'activation', message: "must be 'relu' or 'tanh'" });
  if (!(r.l2 >= 0 && Number.isFinite(r.l2))) problems.push({ path: 'l2', message: 'must be ≥ 0' });
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate))) problems.push({ path: 'learningRate', message: 'must be > 0' });
  if (!posInt(r.epochs)) problems.push({ path: 'epochs', message: 'must be a positive integer' });
  if (!posInt(r.batchSize)) problems.push({ path: 'batchSize', message: 'must be a positive integer' });
  if (!(r.validationFraction >= 0 && r.validationFraction < 1)) problems.push({ path: 'validationFraction', message: 'must be in [0, 1)' });
  if (!posInt(r.patience)) problems.push({ path: 'patience', message: 'must be a positive integer' });
  if (!Number.isInteger(r.seed)) problems.push({ path: 'seed', message: 'must be an integer' });
  if (problems.length) throw new ValidationError(`invalid MLP options: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  return r;
}

/** X as one flat row-major Float64Array plus its shape. */
function flatten(X: MlpInput, featureNames: string[] | undefined): { flat: Float64Array; n: number; d: number; names: string[] } {
  if (!(X instanceof Float64Array) && !Array.isArray(X)) {
    const design = X as Design;
    return { flat: design.data, n: design.rows, d: design.cols, names: featureNames ?? design.names };
  }
  if (X instanceof Float64Array) {
    if (!featureNames?.length) throw new ValidationError('featureNames is required with a flat X', [{ path: 'featureNames', message: 'required when X is a flat Float64Array' }]);
    const d = featureNames.length;
    if (X.length % d !== 0) throw new ValidationError(`X holds ${X.length} values, not a multiple of ${d} features`, [{ path: 'X', message: `length must be a multiple of ${d}` }]);
    return { flat: X, n: X.length / d, d, names: featureNames };
  }
  const rows = X as readonly ArrayLike<number>[];
  const n = rows.length;
  const d = featureNames?.length ?? rows[0]?.length ?? 0;
  if (d === 0) throw new ValidationError('X has no features', [{ path: 'X', message: 'needs at least one feature' }]);
  const flat = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const row = rows[r]!;
    if (row.length !== d) throw new ValidationError(`row ${r} has ${row.length} features, expected ${d}`, [{ path: `X/${r}`, message: `must have ${d} values` }]);
    for (let k = 0; k < d; k++) flat[r * d + k] = row[k]!;
  }
  return { flat, n, d, names: featureNames ?? Array.from({ length: d }, (_, k) => `x${k}`) };
}

/** A design (as the logistic trainer takes), one flat row-major array (with featureNames), or rows. */
export type MlpInput = Design | Float64Array | readonly ArrayLike<number>[];

/** Trains a dense binary classifier; y holds labels in [0, 1] (normally 0/1), one per row of X. */
export async function trainMlp(
  X: MlpInput, y: ArrayLike<number>, options: MlpOptions = {},
): Promise<MlpModel> {
  const o = resolveOptions(options);
  const { flat, n, d, names } = flatten(X, options.featureNames);
  if (y.length !== n) throw new ValidationError(`y has ${y.length} labels for ${n} rows`, [{ path: 'y', message: `must have ${n} values` }]);
  for (let i = 0; i < n; i++) if (!(y[i]! >= 0 && y[i]! <= 1)) throw new ValidationError(`label ${i} is ${y[i]}`, [{ path: `y/${i}`, message: 'must be in [0, 1]' }]);
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) throw new ValidationError(`X row ${Math.floor(i / d)} feature ${names[i % d]} is not finite`, [{ path: `X/${Math.floor(i / d)}/${i % d}`, message: 'must be finite' }]);
  }

  // Split: explicit indices, else the last share of rows.
  const isVal = new Uint8Array(n);
  if (options.validationIndices) {
    for (let k = 0; k < options.validationIndices.length; k++) {
      const i = options.validationIndices[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new ValidationError(`validation index ${i} out of range`, [{ path: `validationIndices/${k}`, message: `must be an integer in [0, ${n})` }]);
      isVal[i] = 1;
    }
  } else {
    for (let i = n - Math.floor(n * o.validationFraction); i < n; i++) isVal[i] = 1;
  }
  const trainIdx: number[] = [];
  const valIdx: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? valIdx : trainIdx).push(i);
  if (trainIdx.length === 0) throw new ValidationError('no rows left to train on', [{ path: 'validationIndices', message: 'leaves no training rows' }]);

  // Standardisation from the training rows only (validation must not leak into it).
  const means = new Array<number>(d).fill(0);
  const stds = new Array<number>(d).fill(0);
  for (const i of trainIdx) for (let k = 0; k < d; k++) means[k]! += flat[i * d + k]!;
  for (let k = 0; k < d; k++) means[k] = means[k]! / trainIdx.length;
  for (const i of trainIdx) for (let k = 0; k < d; k++) stds[k]! += (flat[i * d + k]! - means[k]!) ** 2;
  for (let k = 0; k < d; k++) {
    const s = Math.sqrt(stds[k]! / trainIdx.length);
    stds[k] = s > 1e-12 ? s : 1;   // a constant feature is only centred
  }
  const standardise = (idx: number[]) => {
    const out = new Float32Array(idx.length * d);
    idx.forEach((i, r) => { for (let k = 0; k < d; k++) out[r * d + k] = (flat[i * d + k]! - means[k]!) / stds[k]!; });
    return out;
  };
  const xTrain = standardise(trainIdx);
  const yTrain = Float32Array.from(trainIdx, (i) => y[i]!);
  const xVal = standardise(valIdx);
  const yVal = Float64Array.from(valIdx, (i) => y[i]!);

  const tf = await loadTf();
  const activations: Activation[] = [...o.hidden.map(() => o.activation), 'sigmoid'];
  const model = tf.sequential();
  [...o.hidden, 1].forEach((units, i) => {
    model.add(tf.layers.dense({
      units,
      activation: activations[i],
      kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + i }),
      biasInitializer: 'zeros',
      ...(o.l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2: o.l2 }) } : {}),
      ...(i === 0 ? { inputShape: [d] } : {}),
    }));
  });
  const optimizer = tf.train.adam(o.learningRate);
  model.compile({ optimizer, loss: 'binaryCrossentropy' });

  const history: MlpHistoryEntry[] = [];
  let best = { valLoss: Infinity, epoch: 0, layers: extractLayers(model, activations) };
  const random = uniform(o.seed, 'mlp-shuffle');
  const order = Int32Array.from(trainIdx.keys());
  const xBatch = new Float32Array(o.batchSize * d);
  const yBatch = new Float32Array(o.batchSize);
  let stoppedEpoch = 0;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      shuffleInPlace(order, random);
      let lossSum = 0;
      for (let start = 0; start < order.length; start += o.batchSize) {
        const m = Math.min(o.batchSize, order.length - start);
        for (let r = 0; r < m; r++) {
          const i = order[start + r]!;
          xBatch.set(xTrain.subarray(i * d, (i + 1) * d), r * d);
          yBatch[r] = yTrain[i]!;
        }
        const xs = tf.tensor2d(xBatch.subarray(0, m * d), [m, d]);
        const ys = tf.tensor2d(yBatch.subarray(0, m), [m, 1]);
        try {
          const loss = await model.trainOnBatch(xs, ys);
          lossSum += (Array.isArray(loss) ? loss[0]! : loss) * m;
        } finally {
          tf.dispose([xs, ys]);
        }
      }
      if (!Number.isFinite(lossSum)) {
        throw new ValidationError(`training diverged at epoch ${epoch} (loss ${lossSum}); lower the learning rate`, [{ path: 'learningRate', message: 'too high: the loss diverged' }]);
      }
      const valLoss = valIdx.length > 0 ? validationLoss(tf, model, xVal, yVal, d) : null;
      history.push({ epoch, loss: lossSum / order.length, valLoss });
      stoppedEpoch = epoch;
      // Without a validation set the last epoch is the best one.
      if (valLoss === null || valLoss < best.valLoss) {
        best = { valLoss: valLoss ?? Infinity, epoch, layers: extractLayers(model, activations) };
      }
      options.onProgress?.({ epoch, epochs: o.epochs, loss: lossSum / order.length, valLoss, bestEpoch: best.epoch });
      if (valLoss !== null && epoch - best.epoch >= o.patience) break;
    }
  } finally {
    model.dispose();
    optimizer.dispose();   // an optimizer we passed in is ours to dispose (its Adam moments)
  }

  return {
    kind: 'mlp',
    featureNames: [...names],
    means,
    stds,
    layers: best.layers,
    hyperparameters: { ...o, hidden: [...o.hidden], validationFraction: options.validationIndices ? null : o.validationFraction },
    history,
    stoppedEpoch,
    bestEpoch: best.epoch,
    trainRows: trainIdx.length,
    validationRows: valIdx.length,
    backend: tf.getBackend(),
    ...(options.encoding ? { encoding: options.encoding } : {}),
  };
}

function validationLoss(tf: Tf, model: ReturnType<Tf['sequential']>, xVal: Float32Array, yVal: Float64Array, d: number): number {
  const p = tf.tidy(() => (model.predict(tf.tensor2d(xVal, [yVal.length, d])) as ReturnType<Tf['tensor2d']>).dataSync());
  return logLoss(p, yVal, yVal.length);
}
