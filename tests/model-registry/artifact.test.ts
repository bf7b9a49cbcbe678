// Artifacts: exact round trip, the same bytes for the same model, tampering caught by the hash,
// and a bad shape refused with the field named.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../platform/errors/app-error.js';
import { ArtifactIntegrityError, loadArtifact, serialiseArtifact, sha256Hex } from '../../model-registry/artifact.js';
import type { LogisticModelShape, MlpNetwork } from '../../model-registry/inference/model-types.js';
import { trainMlp } from '../../model-registry/training/mlp.js';

const logistic = {
  kind: 'logistic' as const, featureNames: ['bid', 'device=ios', 'device=web'], means: [1.5, 0.25, 0.75], stds: [0.5, 0.4330127018922193, 0.4330127018922193],
  coef: [0.1234567890123, -0, 2.5e-300], intercept: -1.75, l2: 1, iterations: 7, converged: true, loss: 0.41,
  encoding: { columns: [{ name: 'device', kind: 'categorical', categories: ['ios', 'web'] }], featureNames: ['bid', 'device=ios', 'device=web'] },
};

const tiny = (): MlpNetwork => ({
  kind: 'mlp', featureNames: ['a', 'b'], means: [0, 1], stds: [1, 2],
  layers: [
    { weights: [0.1, -0.2, 0.3, 0.4, 0.5, -0.6], bias: [0, 0.1, -0.1], activation: 'tanh' },
    { weights: [1, 2, 3], bias: [0.5], activation: 'sigmoid' },
  ],
});

/** Bytes (and their true hash) of a hand-written artifact, to reach the shape checks past the hash. */
function rawArtifact(model: unknown, envelope: Record<string, unknown> = { format: 'gigintel-model', version: 1 }): { bytes: Buffer; sha: string } {
  const bytes = Buffer.from(JSON.stringify({ ...envelope, model }));
  return { bytes, sha: sha256Hex(bytes) };
}

function problemPaths(fn: () => unknown): string[] {
  try { fn(); } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems.map((p) => p.path);
  }
  throw new Error('expected a ValidationError');
}

describe('model artifacts', () => {
  it('round-trips a trained MLP and a logistic model exactly', async () => {
    const X = Array.from({ length: 60 }, (_, i) => [Math.sin(i), Math.cos(i * 0.7), i / 60]);
    const y = X.map((x) => (x[0]! + x[1]! > 0 ? 1 : 0));
    const mlp = await trainMlp(X, y, { hidden: [4, 3], epochs: 2, batchSize: 16, seed: 1 });
    for (const model of [mlp, logistic]) {
      const { bytes, sha256 } = serialiseArtifact(model as LogisticModelShape);
      expect(sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(loadArtifact(bytes, sha256)).toEqual(model);
    }
    const stored = serialiseArtifact(logistic);
    const back = loadArtifact(stored.bytes, stored.sha256) as typeof logistic;
    expect(Object.is(back.coef[1], -0)).toBe(true);   // bit-exact, sign of zero included
    expect(back.coef[2]).toBe(2.5e-300);
  });

  it('gives the same bytes for the same model whatever order its fields were built in', () => {
    const a = serialiseArtifact(tiny());
    const { layers, stds, means, featureNames, kind } = tiny();
    const b = serialiseArtifact({ layers, stds, means, featureNames, kind });
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(b.sha256).toBe(a.sha256);
    expect(a.bytes.toString()).toContain('"format":"gigintel-model"');
    expect(JSON.parse(a.bytes.toString()).model.layers[1].bias).toEqual({ $f64: Buffer.from(Float64Array.of(0.5).buffer).toString('base64') });
  });

  it('refuses tampered bytes or a wrong hash with artifact_integrity naming both hashes', () => {
    const { bytes, sha256 } = serialiseArtifact(tiny());
    const tampered = Buffer.from(bytes);
    tampered[tampered.indexOf('"tanh"') + 1] = 's'.charCodeAt(0);   // "sanh"
    const err = (() => { try { loadArtifact(tampered, sha256); } catch (e) { return e; } return null; })() as ArtifactIntegrityError;
    expect(err).toBeInstanceOf(ArtifactIntegrityError);
    expect(err.code).toBe('artifact_integrity_failed');
    expect(err.details).toEqual({ expected: sha256, actual: sha256Hex(tampered) });
    expect(err.message).toContain(sha256);
    expect(() => loadArtifact(bytes, '0'.repeat(64))).toThrow(ArtifactIntegrityError);
    expect(loadArtifact(bytes, sha256.toUpperCase())).toEqual(tiny());
  });

  it('names the field of a bad shape', () => {
    const load = (model: unknown, envelope?: Record<string, unknown>) => () => { const a = rawArtifact(model, envelope); return loadArtifact(a.bytes, a.sha); };
    const m = tiny();
    expect(problemPaths(load({ ...m, layers: [m.layers[0], { ...m.layers[1], weights: [1, 2] }] }))).toEqual(['/model/layers/1/weights']);
    expect(problemPaths(load({ ...m, layers: [m.layers[0], { ...m.layers[1], weights: [1, 2, 3, 4, 5, 6], bias: [0, 0] }] }))).toEqual(['/model/layers/1/bias']);
    expect(problemPaths(load({ ...m, layers: [{ ...m.layers[0], activation: 'swish' }, m.layers[1]] }))).toEqual(['/model/layers/0/activation']);
    expect(problemPaths(load({ ...m, means: [0], stds: [1, null] }))).toEqual(['/model/means', '/model/stds/1']);
    expect(problemPaths(load({ ...m, kind: 'forest' }))).toEqual(['/model/kind']);
    expect(problemPaths(load({ ...logistic, coef: [1, 2], intercept: 'x' }))).toEqual(['/model/coef', '/model/intercept']);
    expect(problemPaths(load({ ...m, means: { $f64: 'not base64!' } }))).toEqual(['/model/means']);
    expect(problemPaths(load(m, { format: 'onnx', version: 1 }))).toEqual(['/format']);
    expect(problemPaths(load(m, { format: 'gigintel-model', version: 2 }))).toEqual(['/version']);
    const notJson = Buffer.from('{"format":');
    expect(problemPaths(() => loadArtifact(notJson, sha256Hex(notJson)))).toEqual(['/']);
    // Writing refuses what could not be read back.
    expect(problemPaths(() => serialiseArtifact({ ...m, layers: [] }))).toEqual(['/model/layers']);
    expect(problemPaths(() => serialiseArtifact({ ...logistic, loss: NaN } as LogisticModelShape))).toEqual(['/model/loss']);
  });
});
