// Training end to end on both dialects: a seeded, biased synthetic marketplace, features
// reconstructed by a daily backfill, a matching snapshot; logistic and MLP models trained, judged
// on the latest rows, audited and registered with their lineage. A CSV with a known logistic
// relation; the CLI's help and usage errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadArtifact } from '../../model-registry/artifact.js';
import { trainModel } from '../../model-registry/training/train-model.js';
import { buildDataset, type DatasetSnapshot } from '../../pipelines/datasets/build-dataset.js';
import type { PipelineRun } from '../../pipelines/features/batch/feature-pipeline.service.js';
import { SYNTHETIC_END } from '../../pipelines/synthetic/generate-marketplace.js';
import { Random } from '../../pipelines/synthetic/random.js';
import { seedMarketplace } from '../../pipelines/synthetic/seed-marketplace.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../helpers/test-env.js';

const DAY = 86_400_000;
const actor = { type: 'cli' as const, id: 'test' };

describe.each(DIALECTS)('gigintel train on %s', (dialect) => {
  const env = useTestEnv({ dialect });
  const dataDir = mkdtempSync(join(tmpdir(), 'gigintel-train-'));
  let t: TestApp;
  let snapshot: DatasetSnapshot;

  const settle = (runs: PipelineRun[]) => vi.waitFor(async () => {
    for (const r of runs) expect((await t.services.featurePipeline.get(r.id)).status).toBe('succeeded');
  }, { timeout: 60_000, interval: 100 });

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'data.dir': dataDir }));
    await seedMarketplace(env.db.db, { providers: 300, jobs: 120, days: 12, seed: 'train', events: 12_000, bias: 1.5 });
    await t.platform.queue.startWorkers();
    await settle(await t.services.featurePipeline.backfill({ trigger: 'cli', requestedBy: 'test', from: SYNTHETIC_END - 12 * DAY, to: SYNTHETIC_END, everyMs: 2 * DAY, reconstruct: true, sets: ['provider_profile', 'job_profile', 'skill_idf', 'provider_activity'] }));
    ({ snapshot } = await buildDataset({ db: env.db.db, dataDir }, { kind: 'matching', from: SYNTHETIC_END - 10 * DAY, to: SYNTHETIC_END }));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const deps = () => ({ db: env.db.db, dataDir, registry: t.services.registry });

  it('trains a logistic matching ranker on the snapshot and registers it with its lineage, metrics and fairness', async () => {
    const phases: string[] = [];
    const r = await trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id, expectKind: 'matching' }, algo: 'logistic', l2: 1, actor, onPhase: (p) => phases.push(p) });
    expect(phases).toEqual(['load', 'split', 'encode', 'fit', 'evaluate', 'fairness', 'register']);
    const v = r.version;
    expect(v).toMatchObject({ model: 'matching-ranker', version: 1, status: 'ready', algorithm: 'logistic', dataset: { id: snapshot.id, contentHash: snapshot.contentHash } });
    expect(v.featureSets).toEqual(snapshot.featureSets);
    expect(v.hyperparameters).toMatchObject({ l2: 1, holdout: 0.2, split: 'time' });
    // The split is by label time: nothing the model trained on is later than the holdout.
    expect(r.split.kind).toBe('time');
    expect(r.split.trainMaxTime!).toBeLessThanOrEqual(r.split.holdoutMinTime!);
    expect(r.split.train + r.split.holdout).toBe(snapshot.rowCount);
    expect(v.metrics.auc).toBeGreaterThan(0.6);
    expect(v.metrics.holdoutRows).toBe(r.split.holdout);
    for (const k of ['logLoss', 'accuracy', 'ece', 'precisionAt5', 'ndcgAt5']) expect(Number.isFinite(v.metrics[k])).toBe(true);
    expect(v.calibration!.bins).toHaveLength(10);
    expect(v.calibration!.bins.reduce((s, b) => s + b.count, 0)).toBe(r.split.holdout);
    // The seeded sensitive attribute, thresholded at the base rate.
    const gender = v.fairness!.gender!;
    expect(Object.keys(gender.groups!)).toEqual(expect.arrayContaining(['f', 'm']));
    expect(gender.demographicParityDifference).toBeGreaterThanOrEqual(0);
    expect(r.notes.some((n) => n.includes('selection rate = base rate'))).toBe(true);
    expect(Object.keys(v.importance!).length).toBeGreaterThan(3);
    expect(Object.keys(v.importance!).some((f) => /_id$|_at$/.test(f))).toBe(false);   // identifiers and absolute times are not learned from
    // The artifact carries the encoding, so serving can encode raw rows as training did.
    const loaded = await t.services.registry.loadArtifact('matching-ranker', 1);
    const model = loadArtifact(loaded.bytes, loaded.sha256) as { encoding?: { columns: { name: string }[] } };
    // Importance is mean |φ| per raw feature, the features explanations speak of.
    expect(Object.keys(v.importance!).sort()).toEqual(model.encoding!.columns.map((c) => c.name).sort());
    expect(r.notes.some((n) => n.startsWith('importance: mean |φ| (shap-linear'))).toBe(true);
  }, 60_000);

  it('trains a seeded MLP with early stopping on the validation part, and importance by Integrated Gradients', async () => {
    const r = await trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'mlp', hidden: [8], epochs: 3, seed: 7, model: 'matching-mlp', actor });
    expect(r.version).toMatchObject({ model: 'matching-mlp', status: 'ready', algorithm: 'mlp', hyperparameters: { hidden: [8], seed: 7, split: 'time' } });
    expect(r.split.validation).toBeGreaterThan(0);
    expect(r.split.train + r.split.validation + r.split.holdout).toBe(snapshot.rowCount);
    expect(r.split.trainMaxTime!).toBeLessThanOrEqual(r.split.holdoutMinTime!);
    expect(Number.isFinite(r.version.metrics.auc)).toBe(true);
    expect(Object.keys(r.version.importance!).length).toBeGreaterThan(3);
    expect(r.notes.some((n) => n.startsWith('importance: mean |φ| (integrated-gradients'))).toBe(true);
    expect(r.version.fairness!.gender).toBeDefined();
  }, 60_000);

  it('trains from a CSV with a known logistic relation, mapping a two-valued label with the minority as 1', async () => {
    const rng = new Random('train-csv', 'rows');
    const lines = ['x1,x2,colour,group,outcome'];
    for (let i = 0; i < 1500; i++) {
      const x1 = rng.normal(0, 1), x2 = rng.normal(0, 1), colour = ['red', 'green', 'blue'][i % 3]!;
      const eta = -1.2 + 2 * x1 - 1.5 * x2 + (colour === 'red' ? 1 : 0);
      const yes = rng.next() < 1 / (1 + Math.exp(-eta));
      lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${colour},${i % 2 ? 'a' : 'b'},${yes ? 'yes' : 'no'}`);
    }
    const csv = join(dataDir, 'relation.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const r = await trainModel(deps(), { source: { kind: 'csv', path: csv, label: 'outcome', sensitive: 'group' }, algo: 'logistic', model: 'csv-relation', actor });
    expect(r.labelMapping).toEqual({ positive: 'yes', negative: 'no' });
    expect(r.split.kind).toBe('random');
    expect(r.version).toMatchObject({ model: 'csv-relation', status: 'ready', featureSets: [], dataset: { id: 'csv:relation.csv' } });
    expect(r.version.metrics.auc).toBeGreaterThan(0.8);
    expect(Object.keys(r.version.fairness!.group!.groups!)).toEqual(['a', 'b']);
    expect(Object.keys(r.version.importance!)).not.toContain('group');   // the sensitive column is audited, not learned from
    // Mean |φ| per raw feature: the strong numeric effects above the colour's one-hot group.
    expect(r.version.importance!.x1!).toBeGreaterThan(r.version.importance!.x2!);
    expect(r.version.importance!.x2!).toBeGreaterThan(r.version.importance!.colour!);
    expect(r.version.importance!.colour!).toBeGreaterThan(0);
  }, 30_000);

  it('reweighs the training rows by a sensitive attribute when asked (Kamiran & Calders) and records it', async () => {
    const plain = await trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'logistic', model: 'matching-reweighed', actor });
    const r = await trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'logistic', model: 'matching-reweighed', mitigate: 'reweigh', mitigateAttribute: 'gender', actor });
    const mitigation = r.version.hyperparameters.mitigation as { method: string; attribute: string; weights: { group: string; label: number; count: number; weight: number }[] };
    expect(mitigation).toMatchObject({ method: 'reweigh', attribute: 'gender' });
    expect(plain.version.hyperparameters).not.toHaveProperty('mitigation');
    expect(r.notes.some((n) => n.startsWith('mitigation: reweighing by gender'))).toBe(true);
    // Weighted, every gender has the overall hire rate, and keeps its row count.
    const cells = mitigation.weights;
    const n = cells.reduce((s, c) => s + c.count, 0), rate = cells.reduce((s, c) => s + c.count * c.label, 0) / n;
    for (const g of new Set(cells.map((c) => c.group))) {
      const mine = cells.filter((c) => c.group === g);
      const mass = mine.reduce((s, c) => s + c.count * c.weight, 0);
      expect(mass).toBeCloseTo(mine.reduce((s, c) => s + c.count, 0), 6);
      expect(mine.reduce((s, c) => s + c.count * c.weight * c.label, 0) / mass).toBeCloseTo(rate, 9);
    }
    // The same data and split; only the weights differ, so the models do.
    expect(r.split).toEqual(plain.split);
    expect(r.version.metrics.auc).not.toBe(plain.version.metrics.auc);
    // The audit records each group's positives: the support the gates judge a true positive rate on.
    const groups = r.version.fairness!.gender!.groups!;
    expect(Object.values(groups).reduce((s, g) => s + (g.positives ?? 0), 0)).toBe(r.version.metrics.holdoutPositives);
    await expect(trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'mlp', mitigate: 'reweigh', mitigateAttribute: 'gender', actor }))
      .rejects.toMatchObject({ problems: [{ path: 'mitigate' }] });
    await expect(trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'logistic', mitigate: 'reweigh', mitigateAttribute: 'shoe_size', actor }))
      .rejects.toMatchObject({ problems: [{ path: 'mitigateAttribute' }] });
  }, 60_000);

  it('rejects bad options with the field named', async () => {
    await expect(trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id }, algo: 'logistic', holdout: 0.95, actor })).rejects.toBeInstanceOf(ValidationError);
    await expect(trainModel(deps(), { source: { kind: 'dataset', datasetId: snapshot.id, expectKind: 'ads' }, algo: 'logistic', actor })).rejects.toMatchObject({ problems: [{ path: 'dataset' }] });
  });

  describe('CLI', () => {
    const run = (...args: string[]) => {
      const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_')));
      return spawnSync(process.execPath, [new URL('../../bin/gigintel.js', import.meta.url).pathname, 'train', ...args], {
        env: { ...baseEnv, GIGINTEL_DATABASE_URL: env.databaseUrl, GIGINTEL_DATA_DIR: dataDir, GIGINTEL_LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000,
      });
    };

    it('has --help; a bad --algo or a missing --dataset exits 2 with a clear message', () => {
      const help = run('--help');
      expect(help.status).toBe(0);
      expect(help.stdout).toContain('Usage: gigintel train');
      expect(help.stdout).toContain('--algo <algo>');
      const badAlgo = run('matching', '--dataset', snapshot.id, '--algo', 'forest');
      expect(badAlgo.status).toBe(2);
      expect(badAlgo.stderr).toMatch(/--algo.*forest.*logistic, mlp/s);
      const noDataset = run('matching');
      expect(noDataset.status).toBe(2);
      expect(noDataset.stderr).toContain('--dataset is required');
      expect(run('--csv', 'x.csv', '--model', 'm').stderr).toContain('--label is required with --csv');
    }, 60_000);

    it('trains through the CLI and prints the new version and a metrics summary', () => {
      const res = run('matching', '--dataset', snapshot.id, '--algo', 'logistic', '--l2', '2', '--json');
      expect([res.status, res.stderr]).toEqual([0, '']);
      const out = JSON.parse(res.stdout) as { model: string; version: number; status: string; metrics: { auc: number } };
      expect(out).toMatchObject({ model: 'matching-ranker', status: 'ready' });
      expect(out.version).toBeGreaterThanOrEqual(2);
      expect(out.metrics.auc).toBeGreaterThan(0.6);
    }, 60_000);
  });
});
