// The serving kernel: a stored model (logistic or MLP) compiled into a typed-array forward pass.
// Weights live in Float64Arrays and a batch of candidates goes through each layer in one loop
// nest over preallocated buffers, so scoring allocates nothing per row (buffers grow only when a
// larger batch than any before arrives). Computes in float64; tfjs trains in float32, so scores
// differ from tfjs's own by float32 rounding (~1e-7), not more.
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Activation, ServableModel } from './model-types.js';
import { validateModel } from './validate-model.js';

export interface CompiledModel {
  readonly featureNames: readonly string[];
  readonly inputSize: number;
  /**
   * Scores `n` rows given row-major (n × inputSize, in featureNames order). Writes into `out`
   * when given (length ≥ n), else returns a new array of n scores.
   */
  predict(rows: ArrayLike<number>, n: number, out?: Float64Array): Float64Array;
  /** Scores one row. */
  predictOne(x: ArrayLike<number>): number;
}

export interface CompiledLayer { inputs: number; units: number; weights: Float64Array; bias: Float64Array; activation: Activation }

/** Row-major inputs × units → units × inputs. */
function transpose(w: readonly number[], inputs: number, units: number): Float64Array {
  const t = new Float64Array(inputs * units);
  for (let i = 0; i < inputs; i++) for (let j = 0; j < units; j++) t[j * inputs + i] = w[i * units + j]!;
  return t;
}

export function sigmoid(z: number): number {
  // Split by sign so exp never overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function activate(buf: Float64Array, length: number, activation: Activation): void {
  switch (activation) {
    case 'relu': for (let i = 0; i < length; i++) if (buf[i]! < 0) buf[i] = 0; break;
    case 'tanh': for (let i = 0; i < length; i++) buf[i] = Math.tanh(buf[i]!); break;
    case 'sigmoid': for (let i = 0; i < length; i++) buf[i] = sigmoid(buf[i]!); break;
    case 'linear': break;
  }
}

/**
 * dst = src · W + b for n rows (pre-activation). Weights are held unit-major (transposed at
 * compile time): each unit is one contiguous dot product accumulated in a register.
 */
export function denseForward(layer: CompiledLayer, src: Float64Array, dst: Float64Array, n: number): void {
  const { inputs, units, weights, bias } = layer;
  for (let r = 0; r < n; r++) {
    const inBase = r * inputs;
    const outBase = r * units;
    for (let j = 0, w = 0; j < units; j++) {
      let acc = bias[j]!;
      for (let i = 0; i < inputs; i++, w++) acc += src[inBase + i]! * weights[w]!;
      dst[outBase + j] = acc;
    }
  }
}

/** The serving shape of a validated model: input standardisation and unit-major layers (a logistic model is one sigmoid unit). */
export function compileLayers(m: ServableModel): { d: number; means: Float64Array; invStds: Float64Array; layers: CompiledLayer[] } {
  const d = m.featureNames.length;
  const means = Float64Array.from(m.means);
  // A constant feature was stored with std 0 (or 1): either way it only shifts, never scales.
  const invStds = Float64Array.from(m.stds, (s) => (s > 0 ? 1 / s : 1));
  const layers: CompiledLayer[] = m.kind === 'logistic'
    ? [{ inputs: d, units: 1, weights: Float64Array.from(m.coef), bias: Float64Array.of(m.intercept), activation: 'sigmoid' }]
    : m.layers.map((l, i) => ({
      inputs: i === 0 ? d : m.layers[i - 1]!.bias.length,
      units: l.bias.length,
      weights: transpose(l.weights, i === 0 ? d : m.layers[i - 1]!.bias.length, l.bias.length),
      bias: Float64Array.from(l.bias),
      activation: l.activation,
    }));
  return { d, means, invStds, layers };
}

/** Validates `model` and compiles it; a logistic model becomes one dense layer with a sigmoid. */
export function compileModel(model: unknown): CompiledModel {
  const m = validateModel(model);
  const { d, means, invStds, layers } = compileLayers(m);
  const widest = Math.max(d, ...layers.map((l) => l.units));

  // Two ping-pong buffers of capacity × widest values; grown (never shrunk) on a bigger batch.
  let capacity = 0;
  let bufA = new Float64Array(0);
  let bufB = new Float64Array(0);
  const ensure = (n: number) => {
    if (n <= capacity) return;
    capacity = Math.max(n, capacity * 2, 16);
    bufA = new Float64Array(capacity * widest);
    bufB = new Float64Array(capacity * widest);
  };

  /** Runs n rows through the network; returns the buffer holding the n scores (one per row). */
  function forward(rows: ArrayLike<number>, n: number): Float64Array {
    ensure(n);
    let src = bufA;
    let dst = bufB;
    for (let r = 0, o = 0; r < n; r++) {
      for (let k = 0; k < d; k++, o++) src[o] = (rows[o]! - means[k]!) * invStds[k]!;
    }
    for (const layer of layers) {
      denseForward(layer, src, dst, n);
      activate(dst, n * layer.units, layer.activation);
      const t = src; src = dst; dst = t;
    }
    return src;
  }

  return {
    featureNames: m.featureNames,
    inputSize: d,
    predict(rows, n, out) {
      if (!Number.isInteger(n) || n < 0) throw new ValidationError('n must be a non-negative integer', [{ path: 'n', message: 'must be a non-negative integer' }]);
      if (rows.length < n * d) throw new ValidationError(`rows holds ${rows.length} values, ${n} rows need ${n * d}`, [{ path: 'rows', message: `must hold n × ${d} values` }]);
      const result = out ?? new Float64Array(n);
      if (result.length < n) throw new ValidationError(`out holds ${result.length} scores, needs ${n}`, [{ path: 'out', message: 'too short' }]);
      const scores = forward(rows, n);
      for (let r = 0; r < n; r++) result[r] = scores[r]!;
      return result;
    },
    predictOne(x) {
      if (x.length !== d) throw new ValidationError(`a row has ${d} features, got ${x.length}`, [{ path: 'x', message: `must hold ${d} values` }]);
      return forward(x, 1)[0]!;
    },
  };
}
