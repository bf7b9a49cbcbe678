// The quick start's first models: once the demo marketplace's features are computed, build a
// matching and an ads training set over the seeded period, train a logistic model on each,
// register them, and promote each to champion through the gates (never forced: a version that
// fails a gate stays unpromoted, and the log says which check failed). A version blocked by a
// fairness gate gets one retry: the same data reweighed by that attribute, a second version.
import type { Actor } from '../platform/audit/audit-log.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logging/logger.js';
import { buildDataset, type DatasetKind } from '../pipelines/datasets/build-dataset.js';
import type { FeaturePipeline, PipelineRun } from '../pipelines/features/batch/feature-pipeline.service.js';
import type { GateCheck } from './gates.js';
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
  const trainDeps = { db: deps.db, dataDir: deps.dataDir, registry: deps.registry };
  for (const kind of ['matching', 'ads'] as const) {
    const { snapshot } = await buildDataset({ db: deps.db, dataDir: deps.dataDir }, { kind, ...windows[kind] });
    const source = { kind: 'dataset' as const, datasetId: snapshot.id, expectKind: kind };
    let { version } = await trainModel(trainDeps, { source, algo: 'logistic', actor: ACTOR });
    let failed = await promoteThroughGates(deps, version.model, version.version, 'demo start: first model');
    // Blocked on fairness: train once more with reweighing by the first attribute that failed and
    // offer that version to the gates (a story `gigintel models history` shows), never forcing.
    const attribute = failed?.map((c) => /^fairness\.([^.]+)\./.exec(c.name)?.[1]).find((a): a is string => a !== undefined);
    if (attribute) {
      deps.log.info({ model: version.model, blocked: version.version, attribute }, `demo ${version.model} v${version.version} blocked by the ${attribute} fairness gate: retraining with reweighing by ${attribute}`);
      ({ version } = await trainModel(trainDeps, { source, algo: 'logistic', actor: ACTOR, mitigate: 'reweigh', mitigateAttribute: attribute }));
      failed = await promoteThroughGates(deps, version.model, version.version, `demo start: v${version.version - 1} failed the ${attribute} fairness gate; reweighed by ${attribute}`);
    }
    const promoted = failed === null;
    const outcome = !promoted ? 'not promoted: a gate failed (see the warning above)'
      : attribute ? `promoted after reweighing by ${attribute} (v${version.version - 1} was blocked)` : 'promoted as trained (no mitigation needed)';
    deps.log.info({
      model: version.model, version: version.version, dataset: snapshot.id, auc: version.metrics.auc, promoted, outcome,
      mitigation: version.hyperparameters.mitigation ?? null,
    }, 'demo model trained');
    out.push({ model: version.model, version: version.version, promoted });
  }
  return out;
}

/** Promotes to champion through the gates; null when promoted, else the failed checks (logged). */
async function promoteThroughGates(deps: DemoModelDeps, model: string, version: number, reason: string): Promise<GateCheck[] | null> {
  try {
    await deps.registry.promote({ model, alias: 'champion', version, reason }, ACTOR);
    return null;
  } catch (err) {
    if (!(err instanceof GateFailedError)) throw err;
    const failed = (err.details as { failed: GateCheck[] }).failed;
    deps.log.warn({ model, version, failed }, `demo ${model} v${version} not promoted: ${err.message}`);
    return failed;
  }
}
