import { describe, expect, it } from 'vitest';
import { Random, sigmoid } from '../../../pipelines/synthetic/random.js';
import { designFromColumns } from '../../../model-registry/training/design.js';
import { fitLogistic, predictLogistic, rawScale } from '../../../model-registry/training/logistic-regression.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

// Rows from a known model on the raw scale: η = −0.5 + 0.8·x0 − 1.5·x1 + 0.05·x2, with columns of
// very different means and scales (so standardisation matters).
const TRUE_BIAS = -0.5;
const TRUE_W = [0.8, -1.5, 0.05];
function synthetic(n: number, seed: string) {
  const rng = new Random(seed, 'logistic');
  const cols = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cols[0]![i] = rng.normal(0, 1);
    cols[1]![i] = rng.normal(3, 0.5);
    cols[2]![i] = rng.normal(100, 20);
    const eta = TRUE_BIAS + TRUE_W[0]! * cols[0]![i]! + TRUE_W[1]! * cols[1]![i]! + TRUE_W[2]! * cols[2]![i]!;
    y[i] = rng.next() < sigmoid(eta) ? 1 : 0;
  }
  return { X: designFromColumns(cols, ['a', 'b', 'c']), cols, y };
}

describe('fitLogistic', () => {
  const { X, cols, y } = synthetic(20_000, 'recover');

  it('recovers the coefficients of the model the data came from', () => {
    const model = fitLogistic(X, y, { l2: 0 });
    expect(model.converged).toBe(true);
    expect(model.iterations).toBeLessThan(12);
    const { weights, bias } = rawScale(model);
    // Standard error of an MLE coefficient ≈ 1 / sqrt(n · Var(x) · E[p(1−p)]). Here E[p(1−p)] ≈ 0.17,
    // n = 20,000: SE ≈ 0.017 for x0 (sd 1), 0.034 for x1 (sd 0.5), 0.0009 for x2 (sd 20), and the
    // bias, dominated by −1.5·mean(x1) − 0.05·mean(x2) ≈ 9.5 in extrapolation, ≈ 0.2.
    // Tolerances of about 4 SE fail by chance with probability < 1e-4 per coefficient.
    expect(Math.abs(weights[0]! - TRUE_W[0]!)).toBeLessThan(0.07);
    expect(Math.abs(weights[1]! - TRUE_W[1]!)).toBeLessThan(0.14);
    expect(Math.abs(weights[2]! - TRUE_W[2]!)).toBeLessThan(0.004);
    expect(Math.abs(bias - TRUE_BIAS)).toBeLessThan(0.8);
  });

  it('stores the training standardisation and applies it when predicting raw rows', () => {
    const model = fitLogistic(X, y, { l2: 1 });
    cols.forEach((c, j) => {
      const mean = c.reduce((s, v) => s + v, 0) / c.length;
      const sd = Math.sqrt(c.reduce((s, v) => s + (v - mean) ** 2, 0) / c.length);
      expect(model.means[j]).toBeCloseTo(mean, 9);
      expect(model.stds[j]).toBeCloseTo(sd, 9);
    });
    expect(model.featureNames).toEqual(['a', 'b', 'c']);
    const row = [0.3, 2.5, 120];
    let eta = model.intercept;
    row.forEach((v, j) => { eta += model.coef[j]! * (v - model.means[j]!) / model.stds[j]!; });
    expect(predictLogistic(model, [row])[0]).toBeCloseTo(1 / (1 + Math.exp(-eta)), 12);
  });

  it('shrinks the coefficients as l2 grows and leaves the intercept unpenalised', () => {
    const norms = [0, 100, 1_000, 10_000].map((l2) => {
      const m = fitLogistic(X, y, { l2 });
      return Math.hypot(...m.coef);
    });
    for (let k = 1; k < norms.length; k++) expect(norms[k]).toBeLessThan(norms[k - 1]!);
    // With a huge penalty the coefficients vanish and the intercept is the base rate's log-odds.
    const flat = fitLogistic(X, y, { l2: 1e9 });
    const rate = y.reduce((s, v) => s + v, 0) / y.length;
    expect(Math.max(...flat.coef.map(Math.abs))).toBeLessThan(1e-3);
    expect(flat.intercept).toBeCloseTo(Math.log(rate / (1 - rate)), 3);
  });

  it('gives the exact maximum-likelihood answer for one binary feature', () => {
    // x = 0: 30 rows, 10 positive; x = 1: 20 rows, 15 positive. Unpenalised, the fitted
    // probabilities equal the group rates: bias = logit(1/3) = −ln 2, weight = logit(3/4) − logit(1/3) = ln 3 + ln 2 = ln 6.
    const rows: number[][] = [], labels: number[] = [];
    for (let i = 0; i < 30; i++) { rows.push([0]); labels.push(i < 10 ? 1 : 0); }
    for (let i = 0; i < 20; i++) { rows.push([1]); labels.push(i < 15 ? 1 : 0); }
    const model = fitLogistic(rows, labels, { l2: 0 });
    const { weights, bias } = rawScale(model);
    expect(bias).toBeCloseTo(-Math.log(2), 8);
    expect(weights[0]).toBeCloseTo(Math.log(6), 8);
  });

  it('treats a sample weight of 2 as a duplicated row', () => {
    const small = synthetic(300, 'weights');
    const w = Float64Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 2 : 1));
    // Duplicating changes the standardisation (means over rows), so compare on the raw scale.
    const dupRows: number[][] = [], dupY: number[] = [];
    for (let i = 0; i < 300; i++) for (let k = 0; k < w[i]!; k++) { dupRows.push([...small.X.data.subarray(i * 3, i * 3 + 3)]); dupY.push(small.y[i]!); }
    const a = rawScale(fitLogistic(small.X, small.y, { l2: 0, sampleWeight: w }));
    const b = rawScale(fitLogistic(dupRows, dupY, { l2: 0 }));
    a.weights.forEach((v, j) => expect(v).toBeCloseTo(b.weights[j]!, 6));
    expect(a.bias).toBeCloseTo(b.bias, 6);
  });

  it('reports a non-increasing loss per iteration', () => {
    const losses: number[] = [];
    fitLogistic(X, y, { l2: 1, onProgress: (p) => losses.push(p.loss) });
    expect(losses.length).toBeGreaterThan(1);
    for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeLessThanOrEqual(losses[k - 1]! + 1e-12);
  });

  it('fits collinear one-hot columns without a penalty (a tiny ridge keeps Newton solvable)', () => {
    // Two columns that always sum to 1, plus the intercept: rank-deficient without l2.
    const rows = Array.from({ length: 40 }, (_, i) => (i % 2 ? [1, 0] : [0, 1]));
    const labels = rows.map((_, i) => (i % 4 === 0 || i % 4 === 1 ? 1 : 0));
    const model = fitLogistic(rows, labels, { l2: 0 });
    const p = predictLogistic(model, [[1, 0], [0, 1]]);
    expect(p[0]).toBeCloseTo(0.5, 6);
    expect(p[1]).toBeCloseTo(0.5, 6);
  });

  it('rejects labels other than 0/1 and non-finite values with the field named', () => {
    expect(() => fitLogistic([[1], [2]], [0, 2], { l2: 1 })).toThrow(ValidationError);
    try { fitLogistic([[1], [NaN]], [0, 1], { l2: 1 }); } catch (err) {
      expect((err as ValidationError).problems[0]!.path).toBe('X/1/0');
    }
    expect(() => fitLogistic([[1], [2]], [0, 1], { l2: -1 })).toThrow(/l2/);
  });
});
