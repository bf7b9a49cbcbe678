// GET /healthz: the process is alive (no dependency is touched).
// GET /readyz: it can serve (database, Redis, migrations current, queue); 503 names what fails.
// GET /metrics: Prometheus text, for the metrics token or an admin key.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Metrics } from '../../../platform/metrics/metrics.js';
import { presentedKey } from '../plugins/auth.plugin.js';
import { withErrors } from '../schemas.js';
import { checkReadiness, type ReadinessDeps } from './readiness.js';

const Check = Type.Object({ ok: Type.Boolean(), ms: Type.Number(), error: Type.Optional(Type.String()) }, { additionalProperties: true });
const ReadyOut = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  failing: Type.Array(Type.String()),
  checks: Type.Record(Type.String(), Check),
});

export interface HealthRoutesOptions {
  readiness: ReadinessDeps;
  metrics: Metrics;
  metricsToken: string | null;
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, opts) => {
  app.get('/healthz', {
    schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    config: { rateLimit: false }, // probes are never rate-limited (nor pay for the check)
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { tags: ['health'], summary: 'Readiness: database, Redis, migrations and queue', response: { 200: ReadyOut, 503: ReadyOut } },
    config: { rateLimit: false },
  }, async (_req, reply) => {
    const r = await checkReadiness(opts.readiness);
    if (!r.ready) reply.header('retry-after', 5);
    return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', failing: r.failing, checks: r.checks });
  });

  const token = opts.metricsToken ? Buffer.from(opts.metricsToken) : null;
  const requireAdmin = app.requireScope('admin');
  app.get('/metrics', {
    schema: {
      tags: ['health'], summary: 'Prometheus metrics (metrics token or an admin key)', security: [{ bearer: [] }],
      response: withErrors({ 200: Type.String() }),
    },
    config: { rateLimit: false },
    preHandler: async (req, reply) => {
      const presented = presentedKey(req);
      if (token && presented) {
        const p = Buffer.from(presented);
        if (p.length === token.length && timingSafeEqual(p, token)) return;
      }
      await requireAdmin.call(app, req, reply); // not the token: an admin API key will do
    },
  }, async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
};
