// The composition root for domain services: each is created once from the platform's pieces and
// handed to the routes, the CLI and the workers. Later domains add theirs here.
import { createAuditLog, type AuditLog } from '../../platform/audit/audit-log.js';
import type { Config } from '../../platform/config/config.settings.js';
import type { DatabaseHandle } from '../../platform/db/database.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { JobDefinition, JobQueue } from '../../platform/queue/queue.types.js';
import { createApplyEventsJob } from '../../pipelines/events/apply-events.job.js';
import { createEventsService, type EventsService } from '../../pipelines/events/events.service.js';
import { createApiKeyService, type ApiKeyService } from './auth/api-key.service.js';

export interface AppServices {
  audit: AuditLog;
  apiKeys: ApiKeyService;
  events: EventsService;
  /** Every background job type the domains define; each process registers all of them. */
  jobs: JobDefinition[];
}

export interface AppServiceDeps {
  db: DatabaseHandle;
  queue: JobQueue;
  log: Logger;
}

export function createAppServices(config: Readonly<Config>, deps: AppServiceDeps): AppServices {
  const audit = createAuditLog({ db: deps.db.db });
  const jobs: JobDefinition[] = [];
  jobs.push(createApplyEventsJob({ db: deps.db.db, queue: deps.queue, log: deps.log }));
  const services: AppServices = {
    audit,
    apiKeys: createApiKeyService({ db: deps.db.db, audit, cacheTtlMs: config.auth.cacheTtlMs }),
    events: createEventsService({ queue: deps.queue, maxBatch: config.ingest.maxBatch }),
    jobs,
  };
  for (const job of jobs) deps.queue.register(job);
  return services;
}
