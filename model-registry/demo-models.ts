// The quick start's first models: once the demo marketplace's features are computed, build a
// matching and an ads training set over the seeded period, train a logistic model on each,
// register them, and promote each to champion through the gates (never forced: a version that
// fails a gate stays unpromoted, and the log says which check failed).
import type { Actor } from '../platform/audit/audit-log.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logging/logger.js';
import { buildDataset, type DatasetKind } from '../pipelines/datasets/build-dataset.js';
import type { FeaturePipeline, PipelineRun } from '../pipelines/features/batch/feature-pipeline.service.js';
import { GateFailedError } from './registry.errors.js';
import type { RegistryService } from './registry.service.js';
import { trainModel } from './training/train-model.js';

const DAY = 86_400_000;
const ACTOR: Actor = { type: 'system', id: 'demo' };

export interface DemoModelDeps { db: Db; dataDir: string; registry: RegistryService; featurePipeline: FeaturePipeline; log: Logger }

/** Waits for the runs, then trains and promotes; returns what became champion. */
export async function bootstrapDemoModels(
  deps: DemoModelDeps, runs: readonly PipelineRun[], window: { from: number; to: number }, timeoutMs = 10 * 60_000,
): Promise<{ model: string; version: number; promoted: boolean }[]> {
  const until = Date.now() + timeoutMs;
  for (const run of runs) {
    for (;;) {
      const r = await deps.featurePipeline.get(run.id);
      if (r.status === 'succeeded') break;
      if (r.status === 'failed') throw new Error(`demo feature run ${r.id} failed: ${r.error}`);
      if (Date.now() > until) throw new Error(`demo feature run ${r.id} did not finish in time`);
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  const out: { model: string; version: number; promoted: boolean }[] = [];
  // Ads: the last week (impressions are many); matching: the whole period after its first days.
  const windows: Record<DatasetKind, { from: number; to: number }> = {
    matching: { from: window.from + 2 * DAY, to: window.to },
    ads: { from: window.to - 7 * DAY, to: window.to },
  };
  for (const kind of ['matching', 'ads'] as const) {
    const { snapshot } = await buildDataset({ db: deps.db, dataDir: deps.dataDir }, { kind, ...windows[kind] });
    const { version } = await trainModel({ db: deps.db, dataDir: deps.dataDir, registry: deps.registry }, {
      source: { kind: 'dataset', datasetId: snapshot.id, expectKind: kind }, algo: 'logistic', actor: ACTOR,
    });
    let promoted = false;
    try {
      await deps.registry.promote({ model: version.model, alias: 'champion', version: version.version, reason: 'demo start: first model' }, ACTOR);
      promoted = true;
    } catch (err) {
      if (!(err instanceof GateFailedError)) throw err;
      deps.log.warn({ model: version.model, version: version.version, failed: (err.details as { failed: unknown }).failed }, `demo ${version.model} v${version.version} not promoted: ${err.message}`);
    }
    deps.log.info({ model: version.model, version: version.version, dataset: snapshot.id, auc: version.metrics.auc, promoted }, 'demo model trained');
    out.push({ model: version.model, version: version.version, promoted });
  }
  return out;
}
