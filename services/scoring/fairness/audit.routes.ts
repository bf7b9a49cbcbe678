// /v1/models/:model/versions/:version/audits: the stored fairness audits of a version's live
// traffic (registry:read) and an audit run on demand over a window (registry:write).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../../../platform/audit/audit-log.js';
import { VersionParams } from '../../../model-registry/registry.schemas.js';
import type { Principal } from '../../api/auth/api-key.service.js';
import { withErrors } from '../../api/schemas.js';
import { ModelAuditOut, RunAuditIn } from './audit.schemas.js';
import type { AuditService } from './live-audit.service.js';

const tags = ['models'];
const security = [{ bearer: [] }];
const DAY_MS = 86_400_000;
const actorOf = (p: Principal | null): Actor => ({ type: 'api_key', id: p?.keyId ?? 'unknown', ...(p?.name ? { name: p.name } : {}) });

export const auditRoutes: FastifyPluginAsyncTypebox<{ audits: AuditService; now?: () => number }> = async (app, opts) => {
  const now = opts.now ?? Date.now;

  app.get('/v1/models/:model/versions/:version/audits', {
    schema: { tags, security, summary: 'Stored fairness audits of a version\'s live predictions, newest first', params: VersionParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ audits: Type.Array(ModelAuditOut) }) }) },
    preHandler: app.requireScope('registry:read'),
  }, async (req) => ({ audits: await opts.audits.listAudits(req.params.model, req.params.version, req.query) }));

  app.post('/v1/models/:model/versions/:version/audits', {
    schema: { tags, security, summary: 'Audit the version\'s serve and canary predictions in [from, to) now; the report is stored and returned',
      description: 'Ranking fairness (skew@k, NDKL, exposure) over logged rankings and Fairlearn group metrics where hires decided the job, by every sensitive attribute.',
      params: VersionParams, body: RunAuditIn, response: withErrors({ 201: ModelAuditOut }) },
    preHandler: app.requireScope('registry:write'),
  }, async (req, reply) => {
    const to = req.body.to ?? now();
    const audit = await opts.audits.auditVersion({
      model: req.params.model, version: req.params.version, from: req.body.from ?? to - DAY_MS, to,
      ...(req.body.k !== undefined ? { k: req.body.k } : {}), ...(req.body.threshold !== undefined ? { threshold: req.body.threshold } : {}),
    }, actorOf(req.principal));
    return reply.status(201).send(audit);
  });
};
