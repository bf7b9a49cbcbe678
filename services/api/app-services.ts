// The composition root for domain services: each is created once from the platform's pieces and
// handed to the routes, the CLI and the workers. Later domains add theirs here.
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createAuditLog, type AuditLog } from '../../platform/audit/audit-log.js';
import type { Config } from '../../platform/config/config.settings.js';
import type { DatabaseHandle } from '../../platform/db/database.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { JobDefinition, JobQueue } from '../../platform/queue/queue.types.js';
import { createApplyEventsJob } from '../../pipelines/events/apply-events.job.js';
import { createEventsService, type EventsService } from '../../pipelines/events/events.service.js';
import { createFeaturePipeline, featurePipelineJobs, type FeaturePipeline } from '../../pipelines/features/batch/feature-pipeline.service.js';
import { createDriftService, driftJob, type DriftService } from '../../pipelines/features/drift/drift.service.js';
import { listDatasets } from '../../pipelines/datasets/build-dataset.js';
import { FEATURE_SETS } from '../../pipelines/features/definitions/catalog.js';
import { createOnlineStore } from '../../pipelines/features/store/create-online-store.js';
import type { OnlineStore } from '../../pipelines/features/store/feature-store.types.js';
import { createRegistryService, type RegistryService } from '../../model-registry/registry.service.js';
import { registrySettingsFrom } from '../../model-registry/registry-settings.js';
import { createWebhooks, webhookDeliveryJob } from '../../model-registry/webhooks/webhook-delivery.job.js';
import { createExperimentService, type ExperimentService } from '../../experiments/experiment.service.js';
import { createApiKeyService, type ApiKeyService } from './auth/api-key.service.js';
import { createExportService, type ExportService } from '../../exports/exports.service.js';
import { exportSettingsFrom } from '../../exports/export-settings.js';
import { REPORTS } from '../../exports/reports/report-catalog.js';
import { createAuditService, scoringAuditJob, type AuditService } from '../scoring/fairness/live-audit.service.js';
import { randomBytes } from 'node:crypto';
import { createAdTracking, type AdTracking } from '../scoring/ads/ad-tracking.service.js';
import { createBudgetService, type BudgetService } from '../scoring/ads/budget/budget.service.js';
import { createPacer, type Pacer } from '../scoring/ads/budget/pacing.js';
import { createPacingStore } from '../scoring/ads/budget/pacing-store.js';
import { listBudgetedCampaigns } from '../scoring/ads/budget/pacing.repository.js';
import { createFraudService, impressionTimeFromDb, type FraudService } from '../scoring/ads/fraud/fraud.service.js';
import { createAdSelector, type AdSelector } from '../scoring/ads/selection/ad-selector.js';
import { createPlacementRuleService } from '../scoring/ads/selection/placement-rules.js';
import { createModelStore, type ModelStore } from '../scoring/model-store.js';
import { createPredictionLog, predictionLogJob, type PredictionLog } from '../scoring/prediction-log/prediction-log.js';
import { createFeatureAssembler } from '../scoring/request-features.js';
import { createScoringService, type ScoringService } from '../scoring/scoring.service.js';
import { loadedAliases, scoringSettingsFrom, type ScoringSettings } from '../scoring/scoring-settings.js';
import { createStreamFeatures } from '../../pipelines/features/stream/stream-features.job.js';

declare module '../../platform/queue/queue.types.js' {
  interface JobTypes { 'ads.pacing.slot': Record<string, never> }
}

export interface AppServices {
  audit: AuditLog;
  apiKeys: ApiKeyService;
  events: EventsService;
  /** Latest feature values per entity (Redis when configured, else the database). */
  online: OnlineStore;
  featurePipeline: FeaturePipeline;
  drift: DriftService;
  registry: RegistryService;
  /** The scoring service: its model store (started by buildApp in modes all and scoring), prediction log and use cases. */
  scoring: { service: ScoringService; store: ModelStore; predictionLog: PredictionLog; settings: ScoringSettings };
  /** Fairness audits of the live prediction log, per model version. */
  audits: AuditService;
  /** A/B experiments: definitions, assignment, exposures, analysis and guardrails. */
  experiments: ExperimentService;
  /** Ads delivery: selection, tracking, budgets and pacing, click fraud, placement rules. */
  ads: { selector: AdSelector; tracking: AdTracking; rules: ReturnType<typeof createPlacementRuleService>; fraud: FraudService; budget: BudgetService; pacer: Pacer | null };
  /** Finance and monetisation reports as streamed CSV / XLSX, export jobs and scheduled exports. */
  exports: ExportService;
  /** Every background job type the domains define; each process registers all of them. */
  jobs: JobDefinition[];
}

export interface AppServiceDeps {
  db: DatabaseHandle;
  queue: JobQueue;
  log: Logger;
  /** Redis for the stream counters and online features (the database when absent), and the metrics registry. */
  redis?: Redis | null;
  metrics?: { registry: Registry };
}

export function createAppServices(config: Readonly<Config>, deps: AppServiceDeps): AppServices {
  const audit = createAuditLog({ db: deps.db.db });
  const jobs: JobDefinition[] = [];
  // A definition's handler takes its own payload type, so the list holds them widened.
  jobs.push(createApplyEventsJob({ db: deps.db.db, queue: deps.queue, log: deps.log }) as unknown as JobDefinition);
  const online = createOnlineStore({ db: deps.db.db, redis: deps.redis ?? null, prefix: config.redis.prefix, sets: FEATURE_SETS });
  jobs.push(createStreamFeatures({ db: deps.db.db, redis: deps.redis ?? null, prefix: config.redis.prefix, queue: deps.queue, log: deps.log, registry: deps.metrics?.registry ?? null, online }).job as unknown as JobDefinition);
  const featurePipeline = createFeaturePipeline({ db: deps.db.db, queue: deps.queue, online, log: deps.log, chunkSize: config.pipeline.chunkSize });
  const drift = createDriftService({ db: deps.db.db, dataDir: config.data.dir, registry: deps.metrics?.registry ?? null });
  jobs.push(...featurePipelineJobs(featurePipeline, async (run) => {
    // Fresh values: compare them with the training snapshots, when there are any.
    if ((await listDatasets({ db: deps.db.db }, { limit: 1 })).length > 0) await deps.queue.enqueue('features.drift', {}, { jobId: `drift-${run.id}` });
  }));
  jobs.push(driftJob(drift));
  const registrySettings = registrySettingsFrom(config);
  const registry = createRegistryService({
    db: deps.db.db, audit, queue: deps.queue, gates: registrySettings.gates, gatedAliases: registrySettings.gatedAliases,
    webhooks: registrySettings.webhooks, log: deps.log,
  });
  jobs.push(webhookDeliveryJob(registrySettings.webhooks) as unknown as JobDefinition);
  const scoringSettings = scoringSettingsFrom(config);
  const store = createModelStore({
    registry, aliases: loadedAliases(scoringSettings), required: scoringSettings.serve, pollMs: scoringSettings.pollMs,
    log: deps.log, metrics: deps.metrics?.registry ?? null,
  });
  const predictionLog = createPredictionLog({ queue: deps.queue, log: deps.log, metrics: deps.metrics?.registry ?? null, enabled: scoringSettings.logPredictions });
  jobs.push(predictionLogJob({ db: deps.db.db }) as unknown as JobDefinition);
  const audits = createAuditService({ db: deps.db.db });
  const features = createFeatureAssembler({ db: deps.db.db, online, entityCacheMs: config.scoring.entityCacheMs });
  const experiments = createExperimentService({
    db: deps.db.db, audit, queue: deps.queue, log: deps.log, metrics: deps.metrics?.registry ?? null,
    webhooks: createWebhooks({ queue: deps.queue, settings: registrySettings.webhooks }),
    modelExists: (name) => registry.getModel(name).then(() => true, () => false),
    incrementalAnalysis: config.experiments.incrementalAnalysis,
  });
  jobs.push(...experiments.jobs());
  jobs.push(scoringAuditJob(audits));
  // Ads delivery. Without a configured token secret every process makes its own (dev only: tokens
  // then verify only in the process that issued them).
  const tokenSecret = config.ads.tokenSecret ?? randomBytes(32).toString('hex');
  const budget = createBudgetService({ db: deps.db.db, redis: deps.redis ?? null, prefix: config.redis.prefix });
  const pacer = config.ads.pacing.enabled ? createPacer({
    store: createPacingStore({ db: deps.db.db, redis: deps.redis ?? null, prefix: config.redis.prefix }), budgets: budget,
    slotMs: config.ads.pacing.slotMs, alpha: config.ads.pacing.alpha, campaigns: (at) => listBudgetedCampaigns(deps.db.db, at),
  }) : null;
  if (pacer) jobs.push({ name: 'ads.pacing.slot', handler: async () => pacer.updateSlot(Date.now()) } satisfies JobDefinition<'ads.pacing.slot'> as unknown as JobDefinition);
  const [capCount, capWindow] = config.ads.frequencyCap.split('/').map(Number) as [number, number];
  const selector = createAdSelector({
    db: deps.db.db, redis: deps.redis ?? null, prefix: `${config.redis.prefix}:`, store, features, online, tokenSecret, tokenTtlMs: config.ads.tokenTtlMs,
    maxScoredCreatives: config.ads.maxScoredCreatives, defaultFrequencyCap: { count: capCount, windowMs: capWindow },
    budget: { remaining: async (ids, at) => new Map([...await budget.remaining(ids, at)].map(([id, b]) => [id, b.remainingMinor])) },
    ...(pacer ? { pacer: { passThrough: (ids) => pacer.rates(ids) } } : {}),
  });
  const fraud = createFraudService({
    db: deps.db.db, redis: deps.redis ?? null, prefix: config.redis.prefix, metrics: deps.metrics?.registry ?? null, audit,
    rules: { blockedIps: config.ads.fraud.blockedIps, blockedUserAgents: config.ads.fraud.blockedUserAgents, minClickDelayMs: config.ads.fraud.minClickDelayMs },
    impressionAt: impressionTimeFromDb(deps.db.db),
  });
  const events = createEventsService({ queue: deps.queue, maxBatch: config.ingest.maxBatch, stream: config.features.stream });
  const ads = {
    selector, fraud, budget, pacer,
    rules: createPlacementRuleService({ db: deps.db.db, onChange: () => { void selector.refresh(); } }),
    tracking: createAdTracking({ db: deps.db.db, tokenSecret, selector, fraud, budget, events }),
  };
  const scoringService = createScoringService({
    db: deps.db.db, store, predictionLog, settings: scoringSettings, log: deps.log, experiments,
    features,
  });
  const exportService = createExportService({ db: deps.db, queue: deps.queue, log: deps.log, settings: exportSettingsFrom(config), reports: REPORTS });
  jobs.push(...exportService.jobs());
  const services: AppServices = {
    audit,
    online,
    featurePipeline,
    drift,
    registry,
    scoring: { service: scoringService, store, predictionLog, settings: scoringSettings },
    audits,
    experiments,
    apiKeys: createApiKeyService({ db: deps.db.db, audit, cacheTtlMs: config.auth.cacheTtlMs }),
    events,
    ads,
    exports: exportService,
    jobs,
  };
  for (const job of jobs) deps.queue.register(job);
  return services;
}
