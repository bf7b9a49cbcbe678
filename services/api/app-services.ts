// The composition root for domain services: each is created once from the platform's pieces and
// handed to the routes, the CLI and the workers. Later domains add theirs here.
import { createAuditLog, type AuditLog } from '../../platform/audit/audit-log.js';
import type { Config } from '../../platform/config/config.settings.js';
import type { Db } from '../../platform/db/database.js';
import { createApiKeyService, type ApiKeyService } from './auth/api-key.service.js';

export interface AppServices {
  audit: AuditLog;
  apiKeys: ApiKeyService;
}

export function createAppServices(config: Readonly<Config>, deps: { db: Db }): AppServices {
  const audit = createAuditLog({ db: deps.db });
  return {
    audit,
    apiKeys: createApiKeyService({ db: deps.db, audit, cacheTtlMs: config.auth.cacheTtlMs }),
  };
}
