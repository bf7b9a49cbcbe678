// Fitting L2 logistic regression by Newton/IRLS on 1,000,000 rows × 30 features (target < 20 s).
// The rows come from a known logistic model (seeded), so the run also reports how far the fitted
// raw-scale weights are from the true ones. Data generation is not timed.
//   npm run bench -- bench/logistic-1m.ts [rows=1000000] [features=30]
import { cpus, loadavg } from 'node:os';
import { Random, sigmoid } from '../pipelines/synthetic/random.js';
import { fitLogistic, rawScale } from '../model-registry/training/logistic-regression.js';

const [ROWS = 1_000_000, D = 30] = process.argv.slice(2, 4).map(Number);
const rng = new Random(20261125, 'logistic-1m');

// True weights in [−1, 1] on columns of assorted means and scales.
const trueW = Array.from({ length: D }, () => rng.next() * 2 - 1);
const mean = Array.from({ length: D }, () => rng.normal(0, 50));
const sd = Array.from({ length: D }, () => Math.exp(rng.normal(0, 1)));
const trueBias = -0.3;

let t0 = performance.now();
const data = new Float64Array(ROWS * D);
const y = new Float64Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  let eta = trueBias;
  for (let j = 0; j < D; j++) {
    const z = rng.normal();
    data[i * D + j] = mean[j]! + sd[j]! * z;
    eta += trueW[j]! * z * 0.3;   // ×0.3: a signal that keeps p away from 0/1 (AUC ≈ 0.85)
  }
  y[i] = rng.next() < sigmoid(eta) ? 1 : 0;
}
const genMs = performance.now() - t0;

t0 = performance.now();
const model = fitLogistic({ rows: ROWS, cols: D, data, names: Array.from({ length: D }, (_, j) => `x${j}`) }, y, {
  l2: 1,
  onProgress: (p) => console.error(`  iteration ${p.iteration}: loss ${p.loss.toFixed(6)}, step ${p.step.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`),
});
const fitMs = performance.now() - t0;

// The true raw-scale weight of column j is trueW[j] · 0.3 / sd[j].
const { weights } = rawScale(model);
let maxErrStd = 0;
for (let j = 0; j < D; j++) maxErrStd = Math.max(maxErrStd, Math.abs(weights[j]! * sd[j]! - trueW[j]! * 0.3));

console.log(JSON.stringify({
  rows: ROWS, features: D, generateMs: Math.round(genMs), fitMs: Math.round(fitMs),
  iterations: model.iterations, converged: model.converged, msPerIteration: Math.round(fitMs / model.iterations),
  maxAbsErrorPerSd: Number(maxErrStd.toFixed(4)), targetMs: 20_000, pass: fitMs < 20_000,
  node: process.version, cpus: cpus().length, load: loadavg().map((l) => l.toFixed(2)),
}, null, 2));
