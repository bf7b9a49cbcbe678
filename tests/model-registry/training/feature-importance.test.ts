import { describe, expect, it } from 'vitest';
import { Random, sigmoid } from '../../../pipelines/synthetic/random.js';
import { designFromColumns } from '../../../model-registry/training/design.js';
import { coefficientImportance, permutationImportance } from '../../../model-registry/training/feature-importance.js';
import { fitLogistic } from '../../../model-registry/training/logistic-regression.js';

// strong (−2 per sd), weak (+0.5 per sd, on a large raw scale), noise (0).
function data(n: number, seed: string) {
  const rng = new Random(seed, 'importance');
  const cols = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cols[0]![i] = rng.normal(); cols[1]![i] = rng.normal(1_000, 100); cols[2]![i] = rng.normal();
    y[i] = rng.next() < sigmoid(-2 * cols[0]![i]! + 0.5 * (cols[1]![i]! - 1_000) / 100) ? 1 : 0;
  }
  return { X: designFromColumns(cols, ['strong', 'weak', 'noise']), y };
}

describe('feature importance', () => {
  const train = data(5_000, 'train');
  const model = fitLogistic(train.X, train.y, { l2: 1 });

  it('ranks by |coefficient| on the standardised scale, keeping the sign', () => {
    const imp = coefficientImportance(model);
    expect(imp.map((f) => f.feature)).toEqual(['strong', 'weak', 'noise']);
    expect(imp[0]!.coef).toBeLessThan(0);
    expect(imp[0]!.importance).toBeCloseTo(2, 0);
    // The raw weight of "weak" is 0.005 per unit; standardised it is ≈ 0.5, comparable with the others.
    expect(imp[1]!.importance).toBeCloseTo(0.5, 0);
  });

  it('permutation importance on a holdout drops AUC most for the strong feature, seeded', () => {
    const holdout = data(2_000, 'holdout');
    const a = permutationImportance(model, holdout.X, holdout.y, { seed: 1, repeats: 3 });
    expect(a.map((f) => f.feature)).toEqual(['strong', 'weak', 'noise']);
    expect(a[0]!.aucDrop).toBeGreaterThan(0.1);
    expect(Math.abs(a[2]!.aucDrop)).toBeLessThan(0.01);
    expect(permutationImportance(model, holdout.X, holdout.y, { seed: 1, repeats: 3 })).toEqual(a);
  });
});
