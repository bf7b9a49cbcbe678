// A full app on a test env: platform (database, queue, Redis when asked), services and the
// Fastify instance, ready for app.inject(). Close it in afterAll.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../platform/config/config.settings.js';
import type { Logger } from '../../platform/logging/logger.js';
import { createPlatform, type Platform } from '../../platform/platform.js';
import { buildApp, type ServeMode } from '../../services/api/app.js';
import { createAppServices, type AppServices } from '../../services/api/app-services.js';

export const TEST_ADMIN_KEY = 'gi_test_admin_key_0123456789abcdef';

export interface TestApp {
  app: FastifyInstance;
  platform: Platform;
  services: AppServices;
  config: Readonly<Config>;
  adminAuth: { authorization: string };
  close(): Promise<void>;
}

export async function startTestApp(
  config: Readonly<Config>, opts: { mode?: ServeMode; configure?: (app: FastifyInstance) => void; logger?: Logger } = {},
): Promise<TestApp> {
  const cfg = { ...config, auth: { ...config.auth, adminKey: config.auth.adminKey ?? TEST_ADMIN_KEY } };
  const platform = await createPlatform(cfg, opts.logger ? { logger: opts.logger } : {});
  const services = createAppServices(cfg, platform);
  await services.apiKeys.ensureAdminKey(cfg.auth.adminKey);
  const app = await buildApp(cfg, { ...platform, services }, { mode: opts.mode ?? 'all' });
  opts.configure?.(app);
  await app.ready();
  platform.lifecycle.onStop('http', () => app.close());
  return {
    app, platform, services, config: cfg,
    adminAuth: { authorization: `Bearer ${cfg.auth.adminKey}` },
    async close() { await platform.lifecycle.stop(); },
  };
}
