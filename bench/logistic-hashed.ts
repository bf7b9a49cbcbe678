// The sparse path at ads scale: L2 logistic regression by L-BFGS on hashed crosses folded into
// 2^16 (default) or 2^18 buckets, plus a few numeric columns, from a known model (seeded). The
// rows go straight from (bucket, value) pairs to CSR, as applyEncodingSparse builds them; a dense
// design of this width would need rows × buckets × 8 bytes (200,000 × 2^16: 105 GB).
// Reports the fit time, the holdout AUC against the true model's own AUC, and the artifact's
// serving width (the dense inference kernel reads every bucket: keep served models ≤ 2^14).
//   npm run bench -- bench/logistic-hashed.ts [rows=200000] [bucketsLog2=16]
import { cpus, loadavg } from 'node:os';
import { hashBucket } from '../model-registry/training/hash-features.js';
import { fitLogistic, predictLogistic } from '../model-registry/training/logistic-regression.js';
import { auc } from '../model-registry/training/metrics.js';
import { SparseBuilder, selectSparseRows } from '../model-registry/training/sparse-design.js';
import { randomSplit } from '../model-registry/training/time-split.js';
import { Random, sigmoid } from '../pipelines/synthetic/random.js';

const [ROWS = 200_000, LOG2 = 16] = process.argv.slice(2, 4).map(Number);
const BUCKETS = 2 ** LOG2, NUMERIC = 5, CROSSES = 2;
const COLS = NUMERIC + CROSSES * BUCKETS;
const rng = new Random(20261126, 'logistic-hashed');

// 5,000 advertisers × 40 placements and 4 devices × 40 placements: each cross value has its own
// true effect (most small, a few large), the numeric columns known weights.
const ADVERTISERS = 5_000, PLACEMENTS = 40, DEVICES = 4;
const effect = new Map<string, number>();
const effectOf = (key: string) => {
  let e = effect.get(key);
  if (e === undefined) { e = rng.next() < 0.1 ? rng.normal(0, 1) : rng.normal(0, 0.1); effect.set(key, e); }
  return e;
};
const wNum = [0.5, -0.3, 0.2, 0, 0.1];

let t0 = performance.now();
const b = new SparseBuilder(COLS, ROWS * (NUMERIC + CROSSES));
const y = new Float64Array(ROWS), trueP = new Float64Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  // Zipf-ish advertiser popularity: a long tail of rare crosses, as in real ad logs.
  const adv = Math.floor(ADVERTISERS * rng.next() ** 3), pl = Math.floor(rng.next() * PLACEMENTS), dev = Math.floor(rng.next() * DEVICES);
  let eta = -3;
  for (let j = 0; j < NUMERIC; j++) { const x = rng.normal(); b.add(j, x); eta += wNum[j]! * x; }
  const c1 = `${adv}x${pl}`, c2 = `${dev}x${pl}`;
  eta += effectOf(`a${c1}`) + effectOf(`d${c2}`);
  // Bucket columns in ascending order within the row (cross 1's block precedes cross 2's).
  b.add(NUMERIC + hashBucket(c1, BUCKETS), 1);
  b.add(NUMERIC + BUCKETS + hashBucket(c2, BUCKETS), 1);
  b.endRow();
  trueP[i] = sigmoid(eta);
  y[i] = rng.next() < trueP[i]! ? 1 : 0;
}
const X = b.build(Array.from({ length: COLS }, (_, j) => (j < NUMERIC ? `x${j}` : `cross${j < NUMERIC + BUCKETS ? 1 : 2}#${(j - NUMERIC) % BUCKETS}`)));
const { train, holdout } = randomSplit(ROWS, 0.2, 'logistic-hashed');
const Xtrain = selectSparseRows(X, train), Xhold = selectSparseRows(X, holdout);
const yTrain = Float64Array.from(train, (i) => y[i]!), yHold = Float64Array.from(holdout, (i) => y[i]!);
const genMs = performance.now() - t0;

t0 = performance.now();
const model = fitLogistic(Xtrain, yTrain, {
  l2: 1, standardize: 'dense',
  onProgress: (p) => { if (p.iteration % 20 === 0) console.error(`  iteration ${p.iteration}: loss ${p.loss.toFixed(6)}, max |gradient| ${p.step.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`); },
});
const fitMs = performance.now() - t0;
const p = predictLogistic(model, Xhold);

console.log(JSON.stringify({
  rows: ROWS, train: train.length, holdout: holdout.length, buckets: BUCKETS, columns: COLS,
  nonZerosPerRow: X.values.length / ROWS, distinctCrosses: effect.size,
  generateMs: Math.round(genMs), fitMs: Math.round(fitMs), iterations: model.iterations, converged: model.converged,
  msPerIteration: Math.round(fitMs / model.iterations),
  holdoutAuc: Number(auc(yHold, p).toFixed(4)), trueModelAuc: Number(auc(yHold, Float64Array.from(holdout, (i) => trueP[i]!)).toFixed(4)),
  artifactCoefficients: model.coef.length,
  node: process.version, cpus: cpus().length, load: loadavg().map((l) => l.toFixed(2)),
}, null, 2));
