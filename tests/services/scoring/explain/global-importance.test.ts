// Global importance: mean |φ| per raw feature over a set of rows, by hand and from a model.
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import type { LogisticModelShape } from '../../../../model-registry/inference/model-types.js';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { globalImportance, modelImportance } from '../../../../services/scoring/explain/global-importance.js';
import { createExplainer } from '../../../../services/scoring/explain/explanation.js';
import { GlobalImportanceOut } from '../../../../services/scoring/explain/explain.schemas.js';
import { fittedTo, randomBatch, randomLogistic, randomMlp } from './explain-fixtures.js';

describe('globalImportance', () => {
  it('averages |φ| and φ per feature and ranks by mean |φ|', () => {
    const groups = { features: ['a', 'b', 'c'], labels: ['a', 'b', 'c'] };
    // rows: a = 1, −3; b = 0.5, 0.5; c = 2, −2
    const phi = [1, 0.5, 2, -3, 0.5, -2];
    expect(globalImportance(groups, phi, 2)).toEqual([
      { feature: 'a', label: 'a', meanAbsPhi: 2, meanPhi: -1 },
      { feature: 'c', label: 'c', meanAbsPhi: 2, meanPhi: 0 },
      { feature: 'b', label: 'b', meanAbsPhi: 0.5, meanPhi: 0.5 },
    ]);
    expect(globalImportance(groups, [], 0).map((f) => f.meanAbsPhi)).toEqual([0, 0, 0]);
    expect(() => globalImportance(groups, phi, 3)).toThrow(ValidationError);
  });

  it('on a logistic model, is the mean |coef·z| of each feature, with its one-hot columns summed first', () => {
    const model: LogisticModelShape = {
      kind: 'logistic', featureNames: ['p__x', 'p__c=u', 'p__c=__other__'], means: [1, 0.5, 0.5], stds: [2, 0.5, 0.5], coef: [1, 0.4, -0.4], intercept: 0,
    };
    const rows = Float64Array.from([3, 1, 0, -1, 0, 1, 1, 1, 0]);
    const { method, features } = modelImportance({ model }, rows, 3);
    expect(method).toBe('shap-linear');
    // x: z = 1, −1, 0 → |φ| 1, 1, 0; c: u → 0.4·1 + (−0.4)·(−1) = 0.8, other → −0.8, u → 0.8
    expect(features.map((f) => f.feature)).toEqual(['p__c', 'p__x']);
    expect(features[0]!.meanAbsPhi).toBeCloseTo(0.8, 14);
    expect(features[0]!.meanPhi).toBeCloseTo(0.8 / 3, 14);
    expect(features[1]!.meanAbsPhi).toBeCloseTo(2 / 3, 14);
    expect(features[1]!.label).toBe('x');
  });

  it('on a holdout larger than one chunk, equals the explainer’s attributions averaged by hand', () => {
    const batch = randomBatch(9, 1500);
    for (const model of [
      fittedTo(randomLogistic(9, batch.encoding.featureNames), batch.rows, batch.n),
      fittedTo(randomMlp(9, batch.encoding.featureNames, [8], ['relu', 'sigmoid']), batch.rows, batch.n),
    ]) {
      const loaded = { model, encoding: batch.encoding };
      const got = modelImportance(loaded, batch.rows, batch.n);
      const all = createExplainer(loaded).attributions(batch.rows, batch.n);
      const features = createExplainer(loaded).groups.features;
      expect(got.rows).toBe(1500);
      expect(Value.Check(GlobalImportanceOut, got)).toBe(true);
      for (const f of got.features) {
        const i = features.indexOf(f.feature);
        let abs = 0;
        for (let r = 0; r < batch.n; r++) abs += Math.abs(all.phi[r * features.length + i]!);
        expect(f.meanAbsPhi).toBeCloseTo(abs / batch.n, 12);
      }
      expect(got.features.map((f) => f.feature).sort()).toEqual([...features].sort());
    }
  });
});
