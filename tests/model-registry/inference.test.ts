// The serving kernel against TensorFlow.js's own forward pass (tfjs computes in float32, the
// kernel in float64: they agree to float32 rounding, checked at 1e-6), against the logistic
// formula, and batch against row by row.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../platform/errors/app-error.js';
import { compileModel } from '../../model-registry/inference/compile-model.js';
import type { Activation, LogisticModelShape, MlpNetwork } from '../../model-registry/inference/model-types.js';
import { trainMlp } from '../../model-registry/training/mlp.js';
import { buildTfjsModel, extractLayers, loadTf, type Tf } from '../../model-registry/training/mlp-tfjs.js';
import { uniform } from '../../pipelines/synthetic/random.js';


/** tfjs's predictions for raw rows: standardised in float64 here, then handed to tfjs as float32. */
function tfjsPredict(tf: Tf, net: MlpNetwork, raw: Float64Array, n: number): Float32Array {
  const d = net.featureNames.length;
  const z = Float32Array.from(raw, (v, i) => (v - net.means[i % d]!) / net.stds[i % d]!);
  const model = buildTfjsModel(tf, net);
  try {
    return tf.tidy(() => (model.predict(tf.tensor2d(z, [n, d])) as ReturnType<Tf['tensor2d']>).dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

describe('compileModel', () => {
  it('equals TensorFlow.js on random networks of several shapes and activations', async () => {
    const tf = await loadTf();
    const shapes: { d: number; units: number[]; activations: Activation[] }[] = [
      { d: 3, units: [1], activations: ['sigmoid'] },
      { d: 5, units: [8, 1], activations: ['tanh', 'sigmoid'] },
      { d: 30, units: [32, 16, 1], activations: ['relu', 'relu', 'sigmoid'] },
      { d: 7, units: [4, 6, 5, 1], activations: ['relu', 'linear', 'sigmoid', 'linear'] },
    ];
    for (const [s, { d, units, activations }] of shapes.entries()) {
      const r = uniform(100 + s);
      // Built and initialised by tfjs itself (random biases too), then read out as plain arrays.
      const tfModel = tf.sequential();
      units.forEach((u, i) => tfModel.add(tf.layers.dense({
        units: u, activation: activations[i],
        kernelInitializer: tf.initializers.glorotUniform({ seed: 10 * s + i }),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 50 + 10 * s + i }),
        ...(i === 0 ? { inputShape: [d] } : {}),
      })));
      const net: MlpNetwork = {
        kind: 'mlp',
        featureNames: Array.from({ length: d }, (_, k) => `f${k}`),
        means: Array.from({ length: d }, () => r() * 10 - 5),
        stds: Array.from({ length: d }, () => 0.5 + r() * 3),
        layers: extractLayers(tfModel, activations),
      };
      const n = 64;
      const raw = Float64Array.from({ length: n * d }, (_, i) => net.means[i % d]! + (r() * 4 - 2) * net.stds[i % d]!);
      const z = Float32Array.from(raw, (v, i) => (v - net.means[i % d]!) / net.stds[i % d]!);
      const expected = tf.tidy(() => (tfModel.predict(tf.tensor2d(z, [n, d])) as ReturnType<Tf['tensor2d']>).dataSync());
      tfModel.dispose();
      const got = compileModel(net).predict(raw, n);
      for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected[i]!)));
    }
  });

  it('equals TensorFlow.js on a trained MLP', async () => {
    const tf = await loadTf();
    const r = uniform(1);
    const n = 400;
    const X = Array.from({ length: n }, () => [r() * 100, r() - 0.5, r() * 2, r()]);
    const y = X.map((x) => (x[0]! / 100 + x[1]! * x[2]! > 0.5 ? 1 : 0));
    const model = await trainMlp(X, y, { hidden: [16, 8], activation: 'tanh', epochs: 5, batchSize: 32, learningRate: 0.01, seed: 3 });
    const raw = Float64Array.from(X.slice(0, 100).flat());
    const expected = tfjsPredict(tf, model, raw, 100);
    const got = compileModel(model).predict(raw, 100);
    for (let i = 0; i < 100; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-6);
  });

  it('serves a logistic model as standardise, dot, sigmoid', () => {
    const model: LogisticModelShape & { l2: number } = {
      kind: 'logistic', featureNames: ['a', 'b', 'c'],
      means: [1, -2, 50], stds: [2, 0.5, 10], coef: [0.8, -1.5, 0.3], intercept: -0.2, l2: 1,
    };
    const rows = [[1, -2, 50], [3, -1, 70], [-10, 4, 0], [400, -300, 1e4]];   // the last saturates
    const kernel = compileModel(model);
    const got = kernel.predict(Float64Array.from(rows.flat()), rows.length);
    rows.forEach((x, i) => {
      let eta = model.intercept;
      for (let k = 0; k < 3; k++) eta += model.coef[k]! * (x[k]! - model.means[k]!) / model.stds[k]!;
      const p = 1 / (1 + Math.exp(-eta));
      expect(got[i]).toBeCloseTo(p, 14);
      expect(kernel.predictOne(x)).toBe(got[i]);
    });
    expect(got[0]).toBeCloseTo(1 / (1 + Math.exp(0.2)), 15);
    expect(kernel.featureNames).toEqual(['a', 'b', 'c']);
  });

  it('scores a batch exactly as row by row, into a caller buffer, across batch sizes', () => {
    const r = uniform(9);
    const d = 6;
    const net: MlpNetwork = {
      kind: 'mlp', featureNames: ['a', 'b', 'c', 'd', 'e', 'f'], means: [0, 1, 2, 3, 4, 5], stds: [1, 1, 2, 2, 3, 3],
      layers: [
        { weights: Array.from({ length: d * 5 }, () => r() - 0.5), bias: Array.from({ length: 5 }, () => r() - 0.5), activation: 'relu' },
        { weights: Array.from({ length: 5 }, () => r() - 0.5), bias: [0.1], activation: 'sigmoid' },
      ],
    };
    const kernel = compileModel(net);
    for (const n of [1, 50, 500, 3]) {   // grows its buffers once, then reuses them for smaller batches
      const rows = Float64Array.from({ length: n * d }, () => r() * 10 - 5);
      const out = new Float64Array(n + 2);
      expect(kernel.predict(rows, n, out)).toBe(out);
      for (let i = 0; i < n; i++) expect(kernel.predictOne(rows.subarray(i * d, (i + 1) * d))).toBe(out[i]);
      expect(out[n]).toBe(0);
    }
    expect(kernel.predict(new Float64Array(0), 0)).toHaveLength(0);
  });

  it('refuses a network whose layer sizes do not chain, and a wrong-sized row, naming the field', () => {
    const bad: MlpNetwork = {
      kind: 'mlp', featureNames: ['a', 'b'], means: [0, 0], stds: [1, 1],
      layers: [
        { weights: [1, 2, 3, 4, 5, 6], bias: [0, 0, 0], activation: 'relu' },
        { weights: [1, 2], bias: [0], activation: 'sigmoid' },   // needs 3 × 1
      ],
    };
    const err = (() => { try { compileModel(bad); } catch (e) { return e; } return null; })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems).toEqual([{ path: '/model/layers/1/weights', message: 'must have 3 values, has 2' }]);
    const ok = compileModel({ ...bad, layers: [bad.layers[0]!, { ...bad.layers[1]!, weights: [1, 2, 3] }] });
    expect(() => ok.predictOne([1, 2, 3])).toThrow(ValidationError);
    expect(() => ok.predict(new Float64Array(3), 2)).toThrow(ValidationError);
  });
});
