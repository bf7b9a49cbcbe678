// Exact SHAP for logistic models: additive to the logit to 1e-9 on random models and rows (one-hot
// groups, missing indicators, hashed buckets and constant columns included), equal to Shapley
// values computed by brute force over every coalition, and consistent with the serving kernel.
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../../../model-registry/inference/compile-model.js';
import { fitLogistic } from '../../../../model-registry/training/logistic-regression.js';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { createLogisticShap, sigmoid } from '../../../../services/scoring/explain/shap-logistic.js';
import { randomBatch, randomLogistic, rowsAround } from './explain-fixtures.js';

/** The logit straight from the formula, independently of the explainer. */
function logitOf(m: { means: number[]; stds: number[]; coef: number[]; intercept: number }, x: ArrayLike<number>, at: number): number {
  let eta = m.intercept;
  for (let k = 0; k < m.coef.length; k++) eta += (m.coef[k]! * (x[at + k]! - m.means[k]!)) / (m.stds[k]! > 0 ? m.stds[k]! : 1);
  return eta;
}

describe('createLogisticShap', () => {
  it('adds up to the logit to 1e-9 on random models over encoded rows with one-hots and missing indicators', () => {
    let checked = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const batch = randomBatch(seed, 50);
      const names = batch.encoding.featureNames;
      expect(names.some((c) => c.endsWith('__missing'))).toBe(true);
      expect(names.some((c) => c.includes('='))).toBe(true);
      const model = randomLogistic(seed, names);
      const shap = createLogisticShap(model);
      const d = names.length;
      const phi = new Float64Array(batch.n * d);
      const logits = new Float64Array(batch.n);
      const scores = new Float64Array(batch.n);
      shap.explain(batch.rows, batch.n, { phi, logits, scores });
      const kernel = compileModel(model).predict(batch.rows, batch.n);
      expect(shap.base).toBe(model.intercept);
      for (let r = 0; r < batch.n; r++) {
        let sum = shap.base;
        for (let k = 0; k < d; k++) sum += phi[r * d + k]!;
        const expected = logitOf(model, batch.rows, r * d);
        expect(Math.abs(sum - expected)).toBeLessThan(1e-9);
        expect(Math.abs(logits[r]! - expected)).toBeLessThan(1e-9);
        // The explained score is the served score.
        expect(Math.abs(scores[r]! - kernel[r]!)).toBeLessThan(1e-15);
        checked++;
      }
    }
    expect(checked).toBe(1000);
  });

  it('adds up exactly on a model fitted to encoded data, including rows far from the training data', () => {
    const batch = randomBatch(77, 300);
    const y = Float64Array.from({ length: batch.n }, (_, i) => (batch.raw[i]!.match_pair__past_client_work ? 1 : 0) ^ (i % 5 === 0 ? 1 : 0));
    const model = fitLogistic({ rows: batch.n, cols: batch.encoding.featureNames.length, data: batch.rows, names: batch.encoding.featureNames }, y, { l2: 1 });
    const shap = createLogisticShap(model);
    const d = model.featureNames.length;
    const rows = rowsAround(5, model, 100);
    rows[3] = 1e6;   // an extreme value: large φ, the sum still exact
    const phi = new Float64Array(100 * d);
    const logits = new Float64Array(100);
    shap.explain(rows, 100, { phi, logits });
    for (let r = 0; r < 100; r++) {
      let sum = shap.base;
      for (let k = 0; k < d; k++) sum += phi[r * d + k]!;
      const expected = logitOf(model, rows, r * d);
      expect(Math.abs(sum - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
    }
  });

  it('equals the Shapley values computed over every coalition (features absent at their training means)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const model = randomLogistic(3, names);
    const d = names.length;
    const x = rowsAround(4, model, 1);
    const value = (mask: number) => {   // the logit with the features outside the coalition at their means
      const z = Float64Array.from(model.means);
      for (let k = 0; k < d; k++) if (mask & (1 << k)) z[k] = x[k]!;
      return logitOf(model, z, 0);
    };
    const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
    const phi = new Float64Array(d);
    createLogisticShap(model).explain(x, 1, { phi, logits: new Float64Array(1) });
    for (let i = 0; i < d; i++) {
      let shapley = 0;
      for (let mask = 0; mask < 1 << d; mask++) {
        if (mask & (1 << i)) continue;
        let size = 0;
        for (let k = 0; k < d; k++) if (mask & (1 << k)) size++;
        shapley += ((fact(size) * fact(d - size - 1)) / fact(d)) * (value(mask | (1 << i)) - value(mask));
      }
      expect(phi[i]).toBeCloseTo(shapley, 12);
    }
    expect(sigmoid(-800)).toBeGreaterThanOrEqual(0);
    expect(sigmoid(800)).toBe(1);
  });

  it('gives a feature at its training mean no contribution', () => {
    const model = randomLogistic(8, ['a', 'b', 'c']);
    const x = Float64Array.from(model.means);
    x[1] = model.means[1]! + 2;
    const phi = new Float64Array(3);
    createLogisticShap(model).explain(x, 1, { phi, logits: new Float64Array(1) });
    expect(phi[0]).toBe(0);
    expect(phi[2]).toBe(0);
    expect(phi[1]).not.toBe(0);
  });

  it('refuses an MLP and buffers too short for the batch, naming the field', () => {
    expect(() => createLogisticShap({ kind: 'mlp' } as never)).toThrow(ValidationError);
    const shap = createLogisticShap(randomLogistic(1, ['a', 'b']));
    const err = (() => { try { shap.explain(new Float64Array(4), 2, { phi: new Float64Array(3), logits: new Float64Array(2) }); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).problems[0]!.path).toBe('phi');
    expect(() => shap.explain(new Float64Array(3), 2, { phi: new Float64Array(4), logits: new Float64Array(2) })).toThrow(/rows holds 3/);
  });
});
