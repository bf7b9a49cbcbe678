// Explanations over raw features: design columns grouped back to the feature that produced them
// (one-hots, missing indicators, hashed buckets, list lengths), φ summed per feature, the top K
// with readable reasons (the pair features' own texts), for logistic and MLP models.
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { compileModel } from '../../../../model-registry/inference/compile-model.js';
import type { LogisticModelShape } from '../../../../model-registry/inference/model-types.js';
import { encodeTable, encodeValues } from '../../../../model-registry/training/encode-table.js';
import { computePairFeatures } from '../../../../pipelines/features/definitions/matching-features.js';
import type { FeatureValues } from '../../../../pipelines/features/feature-set.js';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import { ExplanationOut } from '../../../../services/scoring/explain/explain.schemas.js';
import { createExplainer, explainRows, genericReason } from '../../../../services/scoring/explain/explanation.js';
import { featureLabel, groupDesignColumns, rawFeatureOf } from '../../../../services/scoring/explain/feature-groups.js';
import { createLogisticShap } from '../../../../services/scoring/explain/shap-logistic.js';
import { fittedTo, randomBatch, randomLogistic, randomMlp } from './explain-fixtures.js';

describe('groupDesignColumns', () => {
  const batch = randomBatch(1, 40);
  const names = batch.encoding.featureNames;

  it('maps every design column to its raw feature through the encoding, and the naming agrees', () => {
    const groups = groupDesignColumns(names, batch.encoding);
    expect(groups.features).toEqual(batch.encoding.columns.map((c) => c.name));
    const featureOf = (col: string) => groups.features[groups.groupOf[names.indexOf(col)]!];
    expect(featureOf('provider_profile__smoothed_rating__missing')).toBe('provider_profile__smoothed_rating');
    expect(featureOf('provider_profile__country=__other__')).toBe('provider_profile__country');
    expect(featureOf('provider_profile__skill_ids__len')).toBe('provider_profile__skill_ids');
    expect(featureOf('ads__advertiser_x_placement#7')).toBe('ads__advertiser_x_placement');
    expect(names.filter((c) => featureOf(c) === 'provider_profile__country').length).toBe(5);   // top 4 + other
    expect(groups.labels[groups.features.indexOf('match_pair__required_skill_coverage')]).toBe('required skill coverage');
    const byName = groupDesignColumns(names);
    expect(byName.features).toEqual(groups.features);
    expect(Array.from(byName.groupOf)).toEqual(Array.from(groups.groupOf));
    expect(groups.valueColumn[groups.features.indexOf('provider_profile__smoothed_rating')]).toBe(names.indexOf('provider_profile__smoothed_rating'));
    expect(groups.missingColumn[groups.features.indexOf('provider_profile__smoothed_rating')]).toBe(names.indexOf('provider_profile__smoothed_rating__missing'));
  });

  it('prefers the encoding where the naming alone would mislead', () => {
    // A numeric feature that happens to be called `…__len` is its own feature, not a list's length.
    const { encoding } = encodeTable({ 'a__len': [1, 2, 3], 'b': [[1], [], [2, 3]] });
    expect(encoding.featureNames).toEqual(['a__len', 'b__len']);
    expect(groupDesignColumns(encoding.featureNames, encoding).features).toEqual(['a__len', 'b']);
    expect(groupDesignColumns(encoding.featureNames).features).toEqual(['a', 'b']);
    expect(rawFeatureOf('a__b=x=y')).toBe('a__b');
    expect(rawFeatureOf('plain')).toBe('plain');
    expect(featureLabel('provider_profile__smoothed_rating')).toBe('smoothed rating');
    expect(featureLabel('hourly_rate')).toBe('hourly rate');
  });
});

/** Sums of the design-level SHAP values per raw feature, computed independently of the explainer. */
function shapByFeature(model: LogisticModelShape, rows: Float64Array, n: number, featureOf: (col: string) => string): Map<string, number>[] {
  const d = model.featureNames.length;
  const phi = new Float64Array(n * d);
  createLogisticShap(model).explain(rows, n, { phi, logits: new Float64Array(n) });
  return Array.from({ length: n }, (_, r) => {
    const m = new Map<string, number>();
    model.featureNames.forEach((c, j) => m.set(featureOf(c), (m.get(featureOf(c)) ?? 0) + phi[r * d + j]!));
    return m;
  });
}

describe('explainRows', () => {
  it('lists the top K raw features by |φ|, each the sum over its columns, all of them adding up to the logit', () => {
    const batch = randomBatch(2, 60);
    const model = { ...randomLogistic(2, batch.encoding.featureNames), encoding: batch.encoding };
    const explanations = explainRows({ model }, batch.rows, batch.n, { topK: 4, rawValues: batch.raw });
    const expected = shapByFeature(model, batch.rows, batch.n, (c) => batch.encoding.columns.find((e) => c === e.name || c.startsWith(`${e.name}=`) || c.startsWith(`${e.name}#`) || c.startsWith(`${e.name}__`))!.name);
    const served = compileModel(model).predict(batch.rows, batch.n);
    explanations.forEach((e, r) => {
      expect(e.method).toBe('shap-linear');
      expect(e.completenessError).toBeUndefined();
      expect(e.base).toBe(model.intercept);
      expect(Math.abs(e.score - served[r]!)).toBeLessThan(1e-15);
      expect(e.contributions).toHaveLength(4);
      const ranked = [...expected[r]!].filter(([, p]) => p !== 0).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
      e.contributions.forEach((c, i) => {
        expect(c.feature).toBe(ranked[i]![0]);
        expect(Math.abs(c.phi - ranked[i]![1])).toBeLessThan(1e-12);
        expect(c.direction).toBe(c.phi > 0 ? 'up' : 'down');
        expect(c.value).toEqual(batch.raw[r]![c.feature] ?? null);
      });
      let sum = e.base;
      for (const p of expected[r]!.values()) sum += p;
      expect(Math.abs(sum - e.logit)).toBeLessThan(1e-9);
    });
    // Every feature's φ (not only the top K) adds up to the logit.
    const all = createExplainer({ model }).attributions(batch.rows, batch.n);
    const g = all.phi.length / batch.n;
    for (let r = 0; r < batch.n; r++) {
      let sum = all.base;
      for (let f = 0; f < g; f++) sum += all.phi[r * g + f]!;
      expect(Math.abs(sum - all.logits[r]!)).toBeLessThan(1e-9);
    }
  });

  it('gives pair features the texts of computePairFeatures and the others a generic reason', () => {
    const provider: FeatureValues = {
      provider_id: 'p1', skill_ids: ['a', 'b', 'c', 'd', 'e'], hourly_rate_minor: 4500, currency: 'USD', smoothed_rating: 4.71,
    };
    const job: FeatureValues = {
      required_skill_ids: ['a', 'b', 'c', 'd', 'e', 'f'], nice_skill_ids: [], currency: 'USD', client_id: 'c1',
      hourly_budget_min_minor: 4000, hourly_budget_max_minor: 6000, estimated_hours: 30,
    };
    const pair = computePairFeatures(provider, job, { idf: new Map() });
    expect(pair.explanations.required_skill_coverage).toBe('5 of 6 required skills');
    const raw: FeatureValues = {
      match_pair__required_skill_coverage: pair.values.required_skill_coverage!,
      match_pair__price_fit: pair.values.price_fit!,
      provider_profile__smoothed_rating: provider.smoothed_rating!,
      provider_profile__country: 'DE',
    };
    const { encoding } = encodeTable({
      match_pair__required_skill_coverage: [0.2, 0.5, null, 1], match_pair__price_fit: [0.3, 1, 0.8, 1],
      provider_profile__smoothed_rating: [4.5, 4.9, 3.9, 4.2], provider_profile__country: ['DE', 'FR', 'DE', 'US'],
    });
    const model: LogisticModelShape = {
      kind: 'logistic', featureNames: encoding.featureNames,
      means: encoding.featureNames.map((c) => (c.endsWith('rating') ? 4.5 : 0.5)), stds: encoding.featureNames.map(() => 1),
      coef: encoding.featureNames.map((c) => (c === 'match_pair__required_skill_coverage' ? 3 : c.startsWith('match_pair__price') ? 1 : c.endsWith('rating') ? 0.5 : c.endsWith('=DE') ? -0.2 : 0)),
      intercept: -1,
    };
    const x = encodeValues(encoding, raw);
    const [e] = explainRows({ model, encoding }, x, 1, { topK: 10, rawValues: [raw], reasons: [pair.explanations] });
    const by = new Map(e!.contributions.map((c) => [c.feature, c]));
    expect(by.get('match_pair__required_skill_coverage')!.reason).toBe('5 of 6 required skills');
    expect(by.get('match_pair__price_fit')!.reason).toBe(pair.explanations.price_fit);
    expect(by.get('match_pair__price_fit')!.reason).toMatch(/^rate \$45\/h within budget/);
    expect(by.get('provider_profile__smoothed_rating')!.reason).toBe('smoothed rating 4.71 raises the score');
    expect(by.get('provider_profile__smoothed_rating')!.label).toBe('smoothed rating');
    expect(by.get('provider_profile__country')!.reason).toBe('country DE lowers the score');
    expect(by.get('provider_profile__country')!.value).toBe('DE');
    expect(e!.contributions[0]!.feature).toBe('match_pair__required_skill_coverage');
    // What the routes and the prediction log serve: the response schema holds it, through JSON.
    expect(Value.Check(ExplanationOut, JSON.parse(JSON.stringify(e)))).toBe(true);
    // A reason keyed by the full name wins; a generic reason otherwise, even for a pair feature.
    const [f] = explainRows({ model, encoding }, x, 1, { topK: 10, rawValues: [raw], reasons: [{ 'match_pair__price_fit': 'custom' }] });
    expect(f!.contributions.find((c) => c.feature === 'match_pair__price_fit')!.reason).toBe('custom');
    expect(f!.contributions.find((c) => c.feature === 'match_pair__required_skill_coverage')!.reason).toBe('required skill coverage 0.83 raises the score');
  });

  it('reads plain values back from the design without rawValues, and leaves zero contributions out', () => {
    const { encoding, design } = encodeTable({ a__x: [1, null, 3], a__y: [2, 2, 2], a__c: ['u', 'v', 'u'] });
    const model: LogisticModelShape = {
      kind: 'logistic', featureNames: encoding.featureNames, means: encoding.featureNames.map(() => 0),
      stds: encoding.featureNames.map(() => 1), coef: encoding.featureNames.map((c) => (c === 'a__y' ? 0 : 1)), intercept: 0,
    };
    const out = explainRows({ model, encoding }, design.data, 3, { topK: 10 });
    const x0 = out[0]!.contributions.find((c) => c.feature === 'a__x')!;
    expect(x0.value).toBe(1);
    expect(x0.reason).toBe('x 1 raises the score');
    expect(out[1]!.contributions.find((c) => c.feature === 'a__x')!.value).toBeNull();
    expect(out[0]!.contributions.find((c) => c.feature === 'a__c')!.value).toBeNull();   // a one-hot group has no single number
    expect(out[0]!.contributions.find((c) => c.feature === 'a__c')!.reason).toBe('c raises the score');
    expect(out.every((e) => e.contributions.every((c) => c.feature !== 'a__y'))).toBe(true);
    expect(explainRows({ model, encoding }, design.data, 3, { topK: 0 })[0]!.contributions).toEqual([]);
  });

  it('explains an MLP by Integrated Gradients, complete to 1e-3 over raw features', () => {
    const batch = randomBatch(3, 40);
    const net = { ...fittedTo(randomMlp(3, batch.encoding.featureNames, [16, 8], ['tanh', 'relu', 'sigmoid']), batch.rows, batch.n), encoding: batch.encoding };
    const explainer = createExplainer({ model: net });
    expect(explainer.method).toBe('integrated-gradients');
    const all = explainer.attributions(batch.rows, batch.n);
    const served = compileModel(net).predict(batch.rows, batch.n);
    const g = explainer.groups.features.length;
    const explanations = explainRows({ model: net }, batch.rows, batch.n, { rawValues: batch.raw });
    for (let r = 0; r < batch.n; r++) {
      let sum = all.base;
      for (let f = 0; f < g; f++) sum += all.phi[r * g + f]!;
      expect(Math.abs(sum - all.logits[r]!)).toBeLessThanOrEqual(1e-3);
      expect(all.completenessErrors![r]).toBeCloseTo(Math.abs(sum - all.logits[r]!), 12);
      const e = explanations[r]!;
      expect(e.method).toBe('integrated-gradients');
      expect(e.completenessError).toBe(all.completenessErrors![r]);
      expect(e.score).toBe(served[r]);
      expect(e.contributions).toHaveLength(5);
      expect(Value.Check(ExplanationOut, e)).toBe(true);
      const abs = e.contributions.map((c) => Math.abs(c.phi));
      expect([...abs].sort((a, b) => b - a)).toEqual(abs);
    }
  });

  it('refuses per-row lists shorter than the batch and a bad topK', () => {
    const batch = randomBatch(4, 5);
    const model = randomLogistic(4, batch.encoding.featureNames);
    expect(() => explainRows({ model }, batch.rows, 5, { rawValues: batch.raw.slice(0, 4) })).toThrow(ValidationError);
    expect(() => explainRows({ model }, batch.rows, 5, { topK: -1 })).toThrow(ValidationError);
    expect(() => explainRows({ model }, batch.rows, 6)).toThrow(ValidationError);
  });
});

describe('genericReason', () => {
  it('reads numbers, booleans, lists, missing and unknown values', () => {
    expect(genericReason('smoothed rating', 4.7123, 'up')).toBe('smoothed rating 4.71 raises the score');
    expect(genericReason('completion rate', 0.04567, 'down')).toBe('completion rate 0.046 lowers the score');
    expect(genericReason('past client work', true, 'up')).toBe('past client work: yes raises the score');
    expect(genericReason('skill ids', ['a', 'b'], 'up')).toBe('skill ids: 2 listed raises the score');
    expect(genericReason('response rate', null, 'down')).toBe('response rate missing lowers the score');
    expect(genericReason('country', undefined, 'down')).toBe('country lowers the score');
  });
});
