// gigintel's logistic regression against scikit-learn's on UCI Adult (../shared/datasets/adult.csv),
// in the same run: the same seeded 75/25 split (indices written to a temp file for the peer), the
// same one-hot encoding of the categorical columns, the same standardised L2 objective (C = 1/l2).
// Reports holdout AUC and log loss of both, ΔAUC (target |ΔAUC| ≤ 0.003) and both fit times, and
// the model's fairness by sex on the holdout.
//   npm run bench -- bench/logistic-adult.ts [l2=1] [path to adult.csv]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { applyEncoding, fitEncoding } from '../model-registry/training/encode-table.js';
import { fitLogistic, predictLogistic } from '../model-registry/training/logistic-regression.js';
import { auc, logLoss } from '../model-registry/training/metrics.js';
import { randomSplit } from '../model-registry/training/time-split.js';
import { pick } from '../model-registry/training/design.js';
import { groupFairness } from '../services/scoring/fairness/classification-metrics.js';

const ROOT = new URL('..', import.meta.url).pathname;
const L2 = Number(process.argv[2] ?? 1);
const CSV = process.argv[3] ?? join(ROOT, '../shared/datasets/adult.csv');
const NAMES = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation',
  'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income'];
const NUMERIC = new Set(['age', 'fnlwgt', 'education_num', 'capital_gain', 'capital_loss', 'hours_per_week']);

const rows = (parse(readFileSync(CSV), { trim: true, skip_empty_lines: true }) as string[][]);
const columns: Record<string, unknown[]> = {};
NAMES.forEach((name, j) => { columns[name] = rows.map((r) => (NUMERIC.has(name) ? Number(r[j]) : r[j])); });
const y = Float64Array.from(rows, (r) => (r[14] === '>50K' ? 1 : 0));

const { train, holdout } = randomSplit(rows.length, 0.25, 'adult');
const dir = mkdtempSync(join(tmpdir(), 'logistic-adult-'));
const splitPath = join(dir, 'split.json');
writeFileSync(splitPath, JSON.stringify({ train: Array.from(train), holdout: Array.from(holdout) }));

// topK 100 exceeds every column's category count (native_country has 42): a full one-hot, as the peer's.
const specs = NAMES.slice(0, 14).map((name) => ({ name, type: NUMERIC.has(name) ? 'float' as const : 'string' as const, role: 'feature' as const }));
let t0 = performance.now();
const encoding = fitEncoding(columns, { columns: specs, topK: 100, rows: train });
const Xtrain = applyEncoding(encoding, columns, train);
const Xhold = applyEncoding(encoding, columns, holdout);
const encodeMs = performance.now() - t0;

t0 = performance.now();
const model = fitLogistic(Xtrain, pick(y, train), { l2: L2, encoding });
const fitMs = performance.now() - t0;
const yHold = pick(y, holdout);
const p = predictLogistic(model, Xhold);
const ours = { fitMs: Math.round(fitMs), encodeMs: Math.round(encodeMs), iterations: model.iterations, converged: model.converged,
  auc: auc(yHold, p), logLoss: logLoss(yHold, p), features: Xtrain.cols };

const peer = spawnSync('/usr/bin/python3', [join(ROOT, 'bench/logistic-adult-peer.py'), CSV, splitPath, String(L2)], { encoding: 'utf8' });
rmSync(dir, { recursive: true, force: true });
if (peer.status !== 0) throw new Error(`peer failed:\n${peer.stderr}`);
const sk = JSON.parse(peer.stdout) as Record<string, { fit_ms: number; n_iter: number; auc: number; log_loss: number; p_head: number[] }> & { sklearn: string; features: number };
const exact = sk['newton-cholesky']!, lbfgs = sk.lbfgs!;
const maxHeadDiff = Math.max(...exact.p_head.map((q, i) => Math.abs(q - p[i]!)));
const fair = groupFairness(yHold, Float64Array.from(p, (q) => (q >= 0.5 ? 1 : 0)), Array.from(holdout, (i) => String(columns.sex![i])));

const deltaAuc = ours.auc - exact.auc;
console.log(JSON.stringify({
  rows: rows.length, train: train.length, holdout: holdout.length, l2: L2,
  gigintel: ours,
  sklearn: { version: sk.sklearn, features: sk.features, newtonCholesky: exact, lbfgs },
  deltaAuc: Number(deltaAuc.toExponential(3)), deltaAucLbfgs: Number((ours.auc - lbfgs.auc).toExponential(3)),
  maxAbsProbabilityDiffFirst5: Number(maxHeadDiff.toExponential(2)),
  fitTimeRatio: Number((fitMs / exact.fit_ms).toFixed(2)),
  pass: Math.abs(deltaAuc) <= 0.003,
  fairnessBySex: { groups: fair.groups, demographicParityDifference: fair.demographicParityDifference, demographicParityRatio: fair.demographicParityRatio, equalizedOddsDifference: fair.equalizedOddsDifference },
  node: process.version, cpus: cpus().length, load: loadavg().map((l) => l.toFixed(2)),
}, null, 2));
