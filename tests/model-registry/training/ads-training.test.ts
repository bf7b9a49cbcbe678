// Training the ads click model on a seeded synthetic marketplace: hashed crosses are categories
// (one-hot buckets), a wide hashing takes the sparse design and L-BFGS and still serves through
// the dense kernel, the sparse fit equals the dense one on a small problem, and the model beats
// ranking by the creative's prior CTR on the holdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadArtifact } from '../../../model-registry/artifact.js';
import { compileModel } from '../../../model-registry/inference/compile-model.js';
import type { LogisticModelShape } from '../../../model-registry/inference/model-types.js';
import { applyEncoding, applyEncodingSparse, encodeValues, fitEncoding } from '../../../model-registry/training/encode-table.js';
import { fitLogistic, predictLogistic, type LogisticModel } from '../../../model-registry/training/logistic-regression.js';
import { auc } from '../../../model-registry/training/metrics.js';
import { timeSplit } from '../../../model-registry/training/time-split.js';
import { trainModel } from '../../../model-registry/training/train-model.js';
import { buildDataset, loadDataset, type DatasetSnapshot } from '../../../pipelines/datasets/build-dataset.js';
import type { PipelineRun } from '../../../pipelines/features/batch/feature-pipeline.service.js';
import { SYNTHETIC_END } from '../../../pipelines/synthetic/generate-marketplace.js';
import { seedMarketplace } from '../../../pipelines/synthetic/seed-marketplace.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { useTestEnv } from '../../helpers/test-env.js';

const DAY = 86_400_000;
const actor = { type: 'cli' as const, id: 'test' };
const CROSSES = ['ad_request__advertiser_x_placement', 'ad_request__device_x_placement'];

describe('ads training', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  const dataDir = mkdtempSync(join(tmpdir(), 'gigintel-ads-training-'));
  let t: TestApp;
  let snapshot: DatasetSnapshot;

  const settle = (runs: PipelineRun[]) => vi.waitFor(async () => {
    for (const r of runs) expect((await t.services.featurePipeline.get(r.id)).status).toBe('succeeded');
  }, { timeout: 90_000, interval: 100 });

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'queue.pollIntervalMs': 20, 'data.dir': dataDir }));
    await seedMarketplace(env.db.db, { providers: 300, jobs: 120, days: 10, seed: 'ads-training', events: 30_000 });
    await t.platform.queue.startWorkers();
    await settle(await t.services.featurePipeline.backfill({ trigger: 'cli', requestedBy: 'test', from: SYNTHETIC_END - 10 * DAY, to: SYNTHETIC_END, everyMs: DAY, reconstruct: true }));
    ({ snapshot } = await buildDataset({ db: env.db.db, dataDir }, { kind: 'ads', from: SYNTHETIC_END - 8 * DAY, to: SYNTHETIC_END }));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const deps = () => ({ db: env.db.db, dataDir, registry: t.services.registry });
  const source = () => ({ kind: 'dataset' as const, datasetId: snapshot.id, expectKind: 'ads' as const });

  it('reads the hashed crosses as one-hot buckets, never as magnitudes', async () => {
    const { version, notes } = await trainModel(deps(), { source: source(), algo: 'logistic', actor });
    const stored = await t.services.registry.loadArtifact('ads-ctr', version.version);
    const model = loadArtifact(stored.bytes, stored.sha256) as LogisticModelShape;
    for (const cross of CROSSES) {
      expect(model.featureNames).not.toContain(cross);
      expect(model.featureNames.filter((f) => f.startsWith(`${cross}#`))).toHaveLength(256);
    }
    expect(notes.join('\n')).toContain('hashed crosses one-hot in 256 buckets');
    expect(version.hyperparameters).not.toHaveProperty('solver');
  }, 60_000);

  it('fits a wide hashing on the sparse design by L-BFGS, serves it through the dense kernel, and beats the prior-CTR baseline', async () => {
    const { version, split } = await trainModel(deps(), { source: source(), algo: 'logistic', actor, hashBuckets: 4096 });
    expect(version.hyperparameters).toMatchObject({ solver: 'lbfgs', standardize: 'dense', hashBuckets: 4096, converged: true });
    const stored = await t.services.registry.loadArtifact('ads-ctr', version.version);
    const model = loadArtifact(stored.bytes, stored.sha256) as LogisticModel;
    expect(model.featureNames.filter((f) => f.startsWith(`${CROSSES[0]}#`))).toHaveLength(4096);
    // Bucket columns stay on their 0/1 scale: stored as mean 0, std 1.
    const b0 = model.featureNames.indexOf(`${CROSSES[0]}#0`);
    expect([model.means[b0], model.stds[b0]]).toEqual([0, 1]);

    // The holdout as training cut it: the latest 20% by label time.
    const { table } = await loadDataset({ db: env.db.db, dataDir }, snapshot.id);
    const hold = timeSplit(table.array('label_at') as ArrayLike<number>, { holdoutFraction: 0.2 }).holdout;
    expect(hold.length).toBe(split.holdout);
    const y = table.array('label') as ArrayLike<number>;
    const yHold = Float64Array.from(hold, (i) => y[i]!);

    // The sparse rows and the served (dense, one row at a time) kernel give the same scores.
    const sparseHold = applyEncodingSparse(model.encoding!, table, hold);
    const p = predictLogistic(model, sparseHold);
    const kernel = compileModel(model);
    const names = table.columnNames();
    for (const k of [0, 17, hold.length - 1]) {
      const row = Object.fromEntries(names.map((n) => [n, table.get(n, hold[k]!)]));
      expect(kernel.predictOne(encodeValues(model.encoding!, row))).toBeCloseTo(p[k]!, 12);
    }
    expect(auc(yHold, p)).toBeCloseTo(version.metrics.auc!, 12);

    // Baseline: rank by the creative's smoothed 7-day CTR (the prior a CTR model starts from).
    const prior = table.array('creative_ctr__ctr_7d') as ArrayLike<number>;
    const priorAuc = auc(yHold, Float64Array.from(hold, (i) => (Number.isFinite(prior[i]!) ? prior[i]! : 0)));
    expect(version.metrics.auc).toBeGreaterThan(priorAuc);
    expect(version.metrics.auc).toBeGreaterThan(0.55);
  }, 90_000);

  it('fits the same coefficients on the sparse design as on the dense one (a small problem, to 1e-6)', async () => {
    const { table } = await loadDataset({ db: env.db.db, dataDir }, snapshot.id);
    const rows = Int32Array.from({ length: 4_000 }, (_, i) => i);
    const columns = ['creative_ctr__ctr_7d', 'placement_ctr__ctr_7d', 'ad_request__hour_of_day', 'ad_request__device', ...CROSSES]
      .map((name) => ({ name, type: name === 'ad_request__device' ? 'string' as const : 'float' as const, role: 'feature' as const }));
    const encoding = fitEncoding(table, { columns, rows, hashed: Object.fromEntries(CROSSES.map((c) => [c, 32])) });
    const dense = applyEncoding(encoding, table, rows), sparse = applyEncodingSparse(encoding, table, rows);
    const y = Float64Array.from(rows, (i) => (table.array('label') as ArrayLike<number>)[i]!);
    // Newton on the non-zeros: the dense pass's answer to rounding.
    const viaDense = fitLogistic(dense, y, { l2: 1, sparse: false, tol: 1e-12 });
    const viaSparseNewton = fitLogistic(sparse, y, { l2: 1, tol: 1e-12 });
    viaSparseNewton.coef.forEach((c, j) => expect(Math.abs(c - viaDense.coef[j]!)).toBeLessThan(1e-8));
    // L-BFGS stops on the gradient (its rounding floor here is ~5e-10), so its coefficients are off
    // by about gradient / curvature; the flattest direction (bucket one-hots summing to the
    // intercept) has curvature l2 / rows, so compare at l2 = 20: 1e-9 · 4,000 / 20 = 2e-7.
    const denseL2 = fitLogistic(dense, y, { l2: 20, sparse: false, tol: 1e-12 });
    const viaLbfgs = fitLogistic(sparse, y, { l2: 20, solver: 'lbfgs', tol: 1e-9, maxIter: 5_000 });
    expect(viaLbfgs.converged).toBe(true);
    viaLbfgs.coef.forEach((c, j) => expect(Math.abs(c - denseL2.coef[j]!)).toBeLessThan(1e-6));
    expect(Math.abs(viaLbfgs.intercept - denseL2.intercept)).toBeLessThan(1e-6);
  }, 60_000);
});
