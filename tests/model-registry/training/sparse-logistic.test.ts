// The sparse path of the logistic trainer: CSR designs from the encoder, the Newton fit on
// non-zeros equal to the dense fit, L-BFGS equal to Newton, unstandardised bucket columns, and
// sample weights equal to duplicated rows.
import { describe, expect, it } from 'vitest';
import { designFromRows } from '../../../model-registry/training/design.js';
import { applyEncoding, applyEncodingSparse, encodeValues, fitEncoding } from '../../../model-registry/training/encode-table.js';
import { lbfgs } from '../../../model-registry/training/lbfgs.js';
import { fitLogistic, MAX_NEWTON_COLS, predictLogistic, rawScale } from '../../../model-registry/training/logistic-regression.js';
import { densify, selectSparseRows, sparseFromDesign } from '../../../model-registry/training/sparse-design.js';
import { Random, sigmoid } from '../../../pipelines/synthetic/random.js';

// Rows with two numeric columns (one with a large mean) and a one-hot of 12 categories, labels
// from a known model.
function oneHotData(n: number, seed: string) {
  const rng = new Random(seed, 'sparse-logistic');
  const rows: number[][] = [], y: number[] = [];
  const effect = Array.from({ length: 12 }, (_, c) => (c - 5.5) / 4);
  for (let i = 0; i < n; i++) {
    const a = rng.normal(0, 1), b = rng.normal(1000, 50), c = Math.floor(rng.next() * rng.next() * 12);
    rows.push([a, b, ...Array.from({ length: 12 }, (_, k) => (k === c ? 1 : 0))]);
    y.push(rng.next() < sigmoid(-1 + 0.7 * a + 0.01 * (b - 1000) + effect[c]!) ? 1 : 0);
  }
  return { X: designFromRows(rows), y: Float64Array.from(y) };
}

describe('sparse logistic regression', () => {
  const { X, y } = oneHotData(3_000, 'equal');

  it('fits the same standardised model on the non-zeros as the dense Newton pass (to 1e-8)', () => {
    const sparse = sparseFromDesign(X);
    expect(sparse.values.length).toBeLessThan(X.data.length / 4);
    expect(densify(sparse).data).toEqual(X.data);
    for (const l2 of [0.5, 5]) {
      const dense = fitLogistic(X, y, { l2, tol: 1e-12, sparse: false });
      const viaSparse = fitLogistic(sparse, y, { l2, tol: 1e-12 });
      expect(viaSparse.converged).toBe(true);
      viaSparse.coef.forEach((c, j) => expect(c).toBeCloseTo(dense.coef[j]!, 8));
      expect(viaSparse.intercept).toBeCloseTo(dense.intercept, 8);
      viaSparse.means.forEach((m, j) => expect(m).toBeCloseTo(dense.means[j]!, 9));
      viaSparse.stds.forEach((s, j) => expect(s).toBeCloseTo(dense.stds[j]!, 9));
      const p = predictLogistic(viaSparse, sparse), q = predictLogistic(viaSparse, X);
      p.forEach((v, i) => expect(v).toBeCloseTo(q[i]!, 12));
    }
  });

  it('L-BFGS reaches the Newton solution (to 1e-6)', () => {
    const newton = fitLogistic(X, y, { l2: 1, solver: 'newton', tol: 1e-12 });
    const quasi = fitLogistic(X, y, { l2: 1, solver: 'lbfgs', tol: 1e-9, maxIter: 2_000 });
    expect(quasi.converged).toBe(true);
    quasi.coef.forEach((c, j) => expect(Math.abs(c - newton.coef[j]!)).toBeLessThan(1e-6));
    expect(Math.abs(quasi.intercept - newton.intercept)).toBeLessThan(1e-6);
    expect(quasi.loss).toBeCloseTo(newton.loss, 10);
  });

  it('leaves sparse columns unstandardised with standardize "dense" (mean 0, std 1 stored)', () => {
    const m = fitLogistic(X, y, { l2: 1, standardize: 'dense' });
    expect(m.means.slice(2)).toEqual(new Array(12).fill(0));
    expect(m.stds.slice(2)).toEqual(new Array(12).fill(1));
    expect(m.means[1]).toBeGreaterThan(900);
    // The penalty now acts on the raw 0/1 coefficients, so they differ from the all-standardised fit.
    const all = fitLogistic(X, y, { l2: 1 });
    expect(Math.max(...m.coef.slice(2).map((c, j) => Math.abs(c - all.coef[j + 2]!)))).toBeGreaterThan(1e-3);
  });

  it('treats an integer sample weight as duplicated rows on the sparse path too', () => {
    const small = oneHotData(400, 'weights');
    const w = Float64Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 3 : i % 4 === 1 ? 0 : 1));
    const dupRows: number[][] = [], dupY: number[] = [];
    for (let i = 0; i < 400; i++) {
      for (let k = 0; k < w[i]!; k++) { dupRows.push([...small.X.data.subarray(i * 14, (i + 1) * 14)]); dupY.push(small.y[i]!); }
    }
    // Duplicating changes the (unweighted) standardisation, so fit unpenalised; the one-hot is
    // collinear with the intercept, so compare what is identified: the fitted probabilities.
    const a = fitLogistic(sparseFromDesign(small.X), small.y, { l2: 0, sampleWeight: w, tol: 1e-12 });
    const b = fitLogistic(sparseFromDesign(designFromRows(dupRows)), dupY, { l2: 0, tol: 1e-12 });
    const pa = predictLogistic(a, small.X), pb = predictLogistic(b, small.X);
    pa.forEach((p, i) => expect(p).toBeCloseTo(pb[i]!, 6));
  });

  it('picks L-BFGS beyond MAX_NEWTON_COLS and refuses Newton there', () => {
    const rng = new Random('wide', 'sparse-logistic');
    const n = 2_000, cols = MAX_NEWTON_COLS + 200;
    const rows: number[][] = [], labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = new Array<number>(cols).fill(0);
      const b = Math.floor(rng.next() * cols);
      row[b] = 1;
      rows.push(row);
      labels.push(rng.next() < (b % 2 ? 0.7 : 0.2) ? 1 : 0);
    }
    const sparse = sparseFromDesign(designFromRows(rows));
    const m = fitLogistic(sparse, labels, { l2: 1, standardize: 'dense' });
    expect(m.coef).toHaveLength(cols);
    expect(m.converged).toBe(true);
    const { weights } = rawScale(m);
    const odd = weights.filter((_, j) => j % 2 === 1).reduce((s, v) => s + v, 0), even = weights.filter((_, j) => j % 2 === 0).reduce((s, v) => s + v, 0);
    expect(odd).toBeGreaterThan(even);
    expect(() => fitLogistic(sparse, labels, { l2: 1, solver: 'newton' })).toThrow(/at most 1024 columns/);
  });

  it('selects rows of a CSR design', () => {
    const s = sparseFromDesign(X);
    const part = selectSparseRows(s, [5, 0, 7]);
    expect(Array.from(densify(part).data)).toEqual([
      ...X.data.subarray(5 * 14, 6 * 14), ...X.data.subarray(0, 14), ...X.data.subarray(7 * 14, 8 * 14),
    ]);
  });
});

describe('applyEncodingSparse', () => {
  const source = {
    rate: Float64Array.from([10, NaN, 20, 30, 5]),
    country: ['DE', 'FR', null, 'DE', 'US'],
    'ad__advertiser_x_placement': [123456789, 42, null, 7, 123456789],
  };
  const encoding = fitEncoding(source, { topK: 2, hashed: { 'ad__advertiser_x_placement': 64 } });

  it('holds the same values as the dense encoding, and serves rows like encodeValues', () => {
    const sparse = applyEncodingSparse(encoding, source);
    expect(sparse.names).toEqual(encoding.featureNames);
    expect(densify(sparse).data).toEqual(applyEncoding(encoding, source).data);
    const part = applyEncodingSparse(encoding, source, [4, 1]);
    expect(Array.from(densify(part).data.subarray(0, part.cols))).toEqual(Array.from(encodeValues(encoding, { rate: 5, country: 'US', 'ad__advertiser_x_placement': 123456789 })));
  });

  it('takes hashings wider than a dense design allows, which applyEncoding refuses', () => {
    const wide = fitEncoding(source, { hashed: { 'ad__advertiser_x_placement': 2 ** 16 } });
    const s = applyEncodingSparse(wide, source);
    expect(s.cols).toBe(wide.featureNames.length);
    expect(s.indices).toContain(wide.featureNames.indexOf(`ad__advertiser_x_placement#${123456789 % 2 ** 16}`));
    expect(() => applyEncoding(wide, source)).toThrow(/applyEncodingSparse/);
  });
});

describe('lbfgs', () => {
  it('minimises an ill-conditioned quadratic', () => {
    const scales = [1, 10, 100, 1000];
    const r = lbfgs((x, g) => {
      let f = 0;
      scales.forEach((s, j) => { const d = x[j]! - (j + 1); f += 0.5 * s * d * d; g[j] = s * d; });
      return f;
    }, new Float64Array(4), { gtol: 1e-10 });
    expect(r.converged).toBe(true);
    r.x.forEach((v, j) => expect(v).toBeCloseTo(j + 1, 8));
  });
});
