// buildApp(config, deps): the whole HTTP surface as a Fastify instance, without listening, so
// tests drive it with app.inject() and the CLI decides where it listens.
import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { eventsRoutes } from '../../pipelines/events/events.routes.js';
import { registryRoutes } from '../../model-registry/registry.routes.js';
import { featuresRoutes } from '../../pipelines/features/features.routes.js';
import { pipelineRunsRoutes } from '../../pipelines/features/batch/pipeline-runs.routes.js';
import { importRoutes } from '../../pipelines/import/import.routes.js';
import type { Config } from '../../platform/config/config.settings.js';
import type { DatabaseHandle } from '../../platform/db/database.js';
import type { MigrationRunner } from '../../platform/db/migrator.js';
import { RateLimitedError } from '../../platform/errors/app-error.js';
import { runWithCorrelation } from '../../platform/logging/correlation.js';
import type { Logger } from '../../platform/logging/logger.js';
import type { Metrics } from '../../platform/metrics/metrics.js';
import type { JobQueue } from '../../platform/queue/queue.types.js';
import { experimentRoutes } from '../../experiments/experiment.routes.js';
import { exportsRoutes } from '../../exports/exports.routes.js';
import { auditRoutes } from '../scoring/fairness/audit.routes.js';
import { adsRoutes } from '../scoring/ads/ads.routes.js';
import { oipRoutes } from '../scoring/oip.routes.js';
import { scoringRoutes } from '../scoring/scoring.routes.js';
import { queueAdminRoutes } from './admin/queue-admin.routes.js';
import { sensitiveAttributeRoutes } from './admin/sensitive-attribute.routes.js';
import { consoleRoutes } from '../console/console.routes.js';
import { apiKeyRoutes } from './auth/api-key.routes.js';
import { hashKey } from './auth/api-key.service.js';
import { sessionRoutes } from './auth/session.routes.js';
import { createSessionTokens } from './auth/session-token.js';
import type { AppServices } from './app-services.js';
import { healthRoutes } from './health/health.routes.js';
import { authPlugin, presentedKey } from './plugins/auth.plugin.js';
import { installErrorHandler } from './plugins/error-handler.js';
import { securityHeaders } from './plugins/security-headers.js';
import { ErrorOut } from './schemas.js';

export type ServeMode = 'all' | 'api' | 'scoring' | 'worker';

export interface AppDeps {
  log: Logger;
  db: DatabaseHandle;
  /** Shared client for rate limits and readiness; null in the embedded shape. */
  redis: Redis | null;
  queue: JobQueue;
  migrations: MigrationRunner;
  metrics: Metrics;
  services: AppServices;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export async function buildApp(config: Readonly<Config>, deps: AppDeps, opts: { mode?: ServeMode } = {}): Promise<FastifyInstance> {
  const mode = opts.mode ?? 'all';
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // No child logger per request: the correlation mixin already puts the request id on every line.
    childLoggerFactory: (logger) => logger,
    logController: new LogController({ disableRequestLogging: true }), // we log one line per request in onResponse
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: config.http.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Accept the caller's x-request-id (so one id follows a call across services), else make one.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandler(app);
  app.addSchema(ErrorOut);

  // One hook per request for the response headers (security set and request id) and the
  // correlation context: everything that runs for this request, logs and enqueued jobs included,
  // carries its id.
  const headers = securityHeaders(config.security.csp);
  app.addHook('onRequest', (req, reply, done) => {
    reply.headers(headers);
    reply.header('x-request-id', req.id);
    runWithCorrelation(req.id, done);
  });
  let closing = false;
  app.addHook('preClose', (done) => { closing = true; done(); });
  // The request line holds no credentials (method, path, status, time, key id): it skips the
  // logger's redaction pass, a third of a line's cost.
  const requestLog = deps.log.child({}, { redact: [] });
  // One log line per request (probes only at debug), and the latency histogram.
  app.addHook('onResponse', (req, reply, done) => {
    // Once closing starts, a finished request's keep-alive connection is ended, so the server
    // drains in-flight requests and stops instead of waiting for idle clients until the timeout.
    if (closing) req.raw.socket?.end();
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.observeHttp(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    const probe = PROBES.has(route);
    if (!probe || deps.log.isLevelEnabled('debug')) {
      const line = { method: req.method, url: req.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, keyId: req.principal?.keyId };
      if (probe) requestLog.debug(line, 'request');
      else requestLog.info(line, 'request');
    }
    done();
  });

  if (config.cors.origins.length > 0) {
    await app.register(cors, {
      origin: config.cors.origins.includes('*') ? true : config.cors.origins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }
  if (config.rateLimit.enabled) {
    await app.register(rateLimit, {
      global: true,
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.windowMs,
      ...(deps.redis ? { redis: deps.redis, nameSpace: `${config.redis.prefix}:ratelimit:` } : {}),
      skipOnError: true, // Redis down: serve rather than fail every request; /readyz reports it
      keyGenerator: (req) => {
        const key = presentedKey(req);
        return key ? `k:${hashKey(key).slice(0, 24)}` : `ip:${req.ip}`;
      },
      errorResponseBuilder: (_req, ctx) => new RateLimitedError(ctx.ttl),
    });
  }

  if (config.features.docs && mode !== 'worker') {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'gigintel API', version: '0.1.0', description: 'Features, model registry, scoring, experiments and exports for a freelance marketplace.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key: gigintel keys create --name … --scopes …' } } },
      },
      refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      // The default policy upgrades requests to https, which breaks the docs on a plain-http port.
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
    });
  }

  const sessions = createSessionTokens({ secret: config.console.sessionSecret, ttlMs: config.console.sessionTtlMs });
  await app.register(authPlugin, { apiKeys: deps.services.apiKeys, sessions });
  const scoring = mode === 'all' || mode === 'scoring';
  const { store, predictionLog } = deps.services.scoring;
  const modelsCheck = () => {
    const status = store.status();
    const waiting = status.filter((s) => s.version === null && deps.services.scoring.settings.serve.some((m) => m.model === s.model && m.alias === s.alias));
    return {
      ok: waiting.length === 0,
      models: status.map((s) => ({ model: s.model, alias: s.alias, version: s.version, ...(s.lastError ? { error: s.lastError.message } : {}) })),
      ...(waiting.length ? { error: `waiting for ${waiting.map((s) => `${s.model}@${s.alias}`).join(', ')} to load` } : {}),
    };
  };
  await app.register(healthRoutes, {
    readiness: {
      db: deps.db, redis: deps.redis, queue: deps.queue, migrations: deps.migrations, maxQueueDepth: config.readiness.maxQueueDepth,
      ...(scoring ? { extra: { models: modelsCheck } } : {}),
    },
    metrics: deps.metrics,
    metricsToken: config.metrics.token,
  });
  if (mode === 'all' || mode === 'api') {
    await app.register(apiKeyRoutes, { apiKeys: deps.services.apiKeys, audit: deps.services.audit });
    await app.register(sessionRoutes, { apiKeys: deps.services.apiKeys, sessions });
    await app.register(consoleRoutes);
    await app.register(eventsRoutes, { events: deps.services.events });
    await app.register(queueAdminRoutes, { queue: deps.queue, jobNames: deps.services.jobs.map((j) => j.name), audit: deps.services.audit, db: deps.db.db });
    await app.register(sensitiveAttributeRoutes, { db: deps.db.db, audit: deps.services.audit });
    await app.register(pipelineRunsRoutes, { pipeline: deps.services.featurePipeline });
    await app.register(featuresRoutes, { online: deps.services.online, drift: deps.services.drift });
    await app.register(registryRoutes, { registry: deps.services.registry });
    await app.register(auditRoutes, { audits: deps.services.audits });
    await app.register(experimentRoutes, { experiments: deps.services.experiments });
    await app.register(exportsRoutes, { exports: deps.services.exports });
    await app.register(importRoutes, { db: deps.db.db, audit: deps.services.audit, bodyLimitBytes: config.http.bodyLimitBytes });
  }
  if (scoring) {
    // Loaded before the first request when the models exist; polled from then on (hot swap).
    await store.start();
    app.addHook('onClose', async () => { store.close(); await predictionLog.close(); await deps.services.experiments.exposures.close(); });
    await app.register(scoringRoutes, { scoring: deps.services.scoring.service });
    await app.register(oipRoutes, { scoring: deps.services.scoring.service, store });
    await app.register(adsRoutes, { ...deps.services.ads, db: deps.db.db });
  }
  // 'worker' serves only the probes.

  return app;
}
