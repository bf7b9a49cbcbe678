// Figures for issue #5/#6: kernel throughput (500 × 30 through [32,16]) and MLP training time
// (100k × 30, 10 epochs, pure tfjs). Run: npm run bench -- bench/mlp-kernel.ts
import { performance } from 'node:perf_hooks';
import { compileModel } from '../model-registry/inference/compile-model.js';
import type { MlpNetwork } from '../model-registry/inference/model-types.js';
import { trainMlp } from '../model-registry/training/mlp.js';
import { buildTfjsModel, loadTf, type Tf } from '../model-registry/training/mlp-tfjs.js';
import { uniform } from '../pipelines/synthetic/random.js';

const r = uniform(1);
const d = 30;
const layer = (i: number, o: number, activation: 'relu' | 'sigmoid') => ({ weights: Array.from({ length: i * o }, () => (r() - 0.5) * 0.4), bias: Array.from({ length: o }, () => (r() - 0.5) * 0.1), activation });
const net: MlpNetwork = {
  kind: 'mlp', featureNames: Array.from({ length: d }, (_, k) => `f${k}`),
  means: Array.from({ length: d }, () => r()), stds: Array.from({ length: d }, () => 0.5 + r()),
  layers: [layer(d, 32, 'relu'), layer(32, 16, 'relu'), layer(16, 1, 'sigmoid')],
};
const n = 500;
const rows = Float64Array.from({ length: n * d }, () => r() * 2);
const kernel = compileModel(net);
const out = new Float64Array(n);
for (let i = 0; i < 500; i++) kernel.predict(rows, n, out);
const rounds: number[] = [];
for (let round = 0; round < 7; round++) {
  const iters = 1000;
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) kernel.predict(rows, n, out);
  rounds.push(((performance.now() - t0) * 1000) / iters);
}
rounds.sort((a, b) => a - b);
console.log(`kernel 500x30 [32,16]: median ${rounds[3]!.toFixed(1)} µs/batch (min ${rounds[0]!.toFixed(1)}, max ${rounds[6]!.toFixed(1)}), ${(rounds[3]! * 1000 / n).toFixed(0)} ns/candidate`);

const tf: Tf = await loadTf();
const tfModel = buildTfjsModel(tf, net);
const z = Float32Array.from(rows, (v, i) => (v - net.means[i % d]!) / net.stds[i % d]!);
const tfOnce = () => tf.tidy(() => (tfModel.predict(tf.tensor2d(z, [n, d])) as ReturnType<Tf['tensor2d']>).dataSync());
for (let i = 0; i < 50; i++) tfOnce();
const t1 = performance.now();
for (let i = 0; i < 300; i++) tfOnce();
console.log(`tfjs (cpu) predict same batch: ${(((performance.now() - t1) * 1000) / 300).toFixed(1)} µs/batch`);
tfModel.dispose();

const N = 100_000;
const X = new Float64Array(N * d);
const y = new Float64Array(N);
const w = Array.from({ length: d }, () => r() * 2 - 1);
for (let i = 0; i < N; i++) {
  let eta = 0;
  for (let k = 0; k < d; k++) { const v = r() * 2 - 1; X[i * d + k] = v; eta += w[k]! * v; }
  eta += 2 * X[i * d]! * X[i * d + 1]!;
  y[i] = r() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
}
for (const batchSize of [256]) {
  const t2 = performance.now();
  const m = await trainMlp(X, y, { featureNames: net.featureNames, hidden: [32, 16], epochs: 10, batchSize, patience: 100, seed: 1 });
  const s = (performance.now() - t2) / 1000;
  console.log(`train 100k x 30 [32,16] 10 epochs batch ${batchSize} (80k train / 20k val, backend ${m.backend}): ${s.toFixed(1)} s, ${(s / 10).toFixed(2)} s/epoch, final loss ${m.history.at(-1)!.loss.toFixed(4)} valLoss ${m.history.at(-1)!.valLoss!.toFixed(4)}`);
}
