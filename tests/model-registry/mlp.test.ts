// The MLP trainer: learns what a linear model cannot, is reproducible by seed, stops early and
// keeps the best epoch's weights, standardises on training rows only, leaks no tensors.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../platform/errors/app-error.js';
import { compileModel } from '../../model-registry/inference/compile-model.js';
import { trainMlp } from '../../model-registry/training/mlp.js';
import { loadTf } from '../../model-registry/training/mlp-tfjs.js';
import { uniform } from '../../pipelines/synthetic/random.js';


/** XOR-like data: y = 1 when x0 and x1 have the same sign (plus noise columns, one constant). */
function xorData(n: number, seed: number, flip = 0): { X: number[][]; y: number[] } {
  const r = uniform(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = r() * 2 - 1;
    const b = r() * 2 - 1;
    X.push([a * 3 + 10, b, r(), 7]);
    const label = a * b > 0 ? 1 : 0;
    y.push(r() < flip ? 1 - label : label);
  }
  return { X, y };
}

function logLoss(p: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - 1e-7, Math.max(1e-7, p[i]!));
    s -= y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q);
  }
  return s / y.length;
}

describe('trainMlp', () => {
  it('learns a non-linear boundary that no linear model can', async () => {
    const { X, y } = xorData(600, 1);
    const model = await trainMlp(X, y, { hidden: [16, 8], epochs: 40, batchSize: 32, learningRate: 0.02, patience: 5, seed: 7 });
    const kernel = compileModel(model);
    const holdout = xorData(400, 2);
    const p = kernel.predict(Float64Array.from(holdout.X.flat()), holdout.X.length);
    const accuracy = holdout.y.filter((label, i) => (p[i]! > 0.5 ? 1 : 0) === label).length / holdout.y.length;
    expect(accuracy).toBeGreaterThan(0.9);   // a linear boundary gets ~0.5 on XOR
    expect(model.layers.map((l) => [l.weights.length, l.bias.length, l.activation])).toEqual([[4 * 16, 16, 'relu'], [16 * 8, 8, 'relu'], [8, 1, 'sigmoid']]);
    expect(model.backend).toBe('cpu');
  });

  it('gives the same weights for the same seed and different ones for another seed', async () => {
    const { X, y } = xorData(300, 3);
    const opts = { hidden: [8, 4], epochs: 3, batchSize: 32, seed: 11 };
    const a = await trainMlp(X, y, opts);
    const b = await trainMlp(X, y, opts);
    const c = await trainMlp(X, y, { ...opts, seed: 12 });
    expect(b.layers).toEqual(a.layers);
    expect(b.history).toEqual(a.history);
    expect(c.layers[0]!.weights).not.toEqual(a.layers[0]!.weights);
  });

  it('stops when the validation loss stops improving and keeps the best epoch\'s weights', async () => {
    // Few noisy rows, a wide net and a high learning rate: it overfits within a few epochs.
    const { X, y } = xorData(200, 4, 0.3);
    const model = await trainMlp(X, y, { hidden: [64, 64], epochs: 200, batchSize: 16, learningRate: 0.02, l2: 0, patience: 4, seed: 5 });
    const valLosses = model.history.map((h) => h.valLoss!);
    const best = valLosses.indexOf(Math.min(...valLosses)) + 1;
    expect(model.stoppedEpoch).toBeLessThan(200);
    expect(model.bestEpoch).toBe(best);
    expect(model.stoppedEpoch - model.bestEpoch).toBe(4);
    expect(model.history).toHaveLength(model.stoppedEpoch);
    // The returned weights reproduce the best epoch's validation loss (the last 20% of rows).
    const val = X.slice(160);
    const p = compileModel(model).predict(Float64Array.from(val.flat()), val.length);
    expect(logLoss(p, y.slice(160))).toBeCloseTo(valLosses[best - 1]!, 5);
  });

  it('standardises with the training rows only and validates on the last rows or the given ones', async () => {
    const { X, y } = xorData(100, 5);
    const model = await trainMlp(X, y, { hidden: [4], epochs: 1, validationFraction: 0.25, seed: 1 });
    expect([model.trainRows, model.validationRows]).toEqual([75, 25]);
    const mean0 = X.slice(0, 75).reduce((s, r) => s + r[0]!, 0) / 75;
    expect(model.means[0]).toBeCloseTo(mean0, 12);
    expect(model.stds[3]).toBe(1);   // the constant column is only centred
    expect(model.means[3]).toBe(7);

    const even = Array.from({ length: 50 }, (_, i) => 2 * i);
    const byIndex = await trainMlp(Float64Array.from(X.flat()), y, { featureNames: ['a', 'b', 'c', 'd'], hidden: [4], epochs: 1, validationIndices: even, seed: 1 });
    expect([byIndex.trainRows, byIndex.validationRows]).toEqual([50, 50]);
    const oddMean = X.filter((_, i) => i % 2 === 1).reduce((s, r) => s + r[0]!, 0) / 50;
    expect(byIndex.means[0]).toBeCloseTo(oddMean, 12);
    expect(byIndex.featureNames).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports each epoch and leaves no tensors behind', async () => {
    const tf = await loadTf();
    const { X, y } = xorData(200, 6);
    const seen: number[] = [];
    await trainMlp(X, y, { hidden: [8], epochs: 2, seed: 2 });   // warm-up: backend-level constants
    const before = tf.memory().numTensors;
    await trainMlp(X, y, { hidden: [8], epochs: 3, seed: 2, patience: 10, onProgress: (p) => seen.push(p.epoch) });
    await trainMlp(X, y, { hidden: [8, 8], epochs: 2, seed: 3, l2: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('refuses bad input and options, naming the field', async () => {
    const { X, y } = xorData(20, 7);
    const problem = async (p: Promise<unknown>) => {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).problems[0]!.path;
    };
    expect(await problem(trainMlp(X, y, { hidden: [0] }))).toBe('hidden');
    expect(await problem(trainMlp(X, y, { validationFraction: 1 }))).toBe('validationFraction');
    expect(await problem(trainMlp(X, y.slice(1)))).toBe('y');
    expect(await problem(trainMlp(X, y.map((v, i) => (i === 3 ? 2 : v))))).toBe('y/3');
    expect(await problem(trainMlp(X.map((r, i) => (i === 5 ? [r[0]!, NaN, r[2]!, r[3]!] : r)), y))).toBe('X/5/1');
    expect(await problem(trainMlp(Float64Array.from(X.flat()), y))).toBe('featureNames');
    // Steps of 1e30 overflow float32 in the L2 term: refused, not returned as a NaN model.
    expect(await problem(trainMlp(X, y, { hidden: [4], epochs: 3, learningRate: 1e30, l2: 0.01, validationFraction: 0 }))).toBe('learningRate');
  });
});
