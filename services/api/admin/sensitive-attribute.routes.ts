// Sensitive attributes (scope admin only): the fairness audit's grouping data, never part of
// features. Every read is written to the audit log with who read what.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditLog } from '../../../platform/audit/audit-log.js';
import type { Db } from '../../../platform/db/database.js';
import { listSensitiveAttributeNames, readSensitiveAttributes } from '../../../pipelines/contract/sensitive-attribute.repository.js';
import { withErrors } from '../schemas.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' });

export const sensitiveAttributeRoutes: FastifyPluginAsyncTypebox<{ db: Db; audit: AuditLog }> = async (app, opts) => {
  const admin = app.requireScope('admin');
  const actorOf = (p: { keyId: string } | null) => ({ type: 'api_key' as const, id: p?.keyId ?? 'unknown' });

  app.get('/v1/admin/sensitive-attributes', {
    schema: { tags: ['admin'], summary: 'Sensitive attributes by subject (audited read)', security: [{ bearer: [] }],
      querystring: Type.Object({
        subjectId: Type.Optional(Type.Array(Id, { maxItems: 1000, description: 'Repeat for several subjects' })),
        attribute: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        after: Type.Optional(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_.:-]+~.+$', description: 'The `next` cursor of the previous page' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({
        attributes: Type.Array(Type.Object({ subjectId: Type.String(), attribute: Type.String(), value: Type.String() })),
        next: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `after` for the next page' }),
      }) }) },
    preHandler: admin,
  }, async (req) => {
    const limit = req.query.limit ?? 500;
    const attributes = await readSensitiveAttributes(opts.db, {
      ...(req.query.subjectId ? { subjectIds: req.query.subjectId } : {}),
      ...(req.query.attribute ? { attribute: req.query.attribute } : {}),
      ...(req.query.after ? { after: { subjectId: req.query.after.slice(0, req.query.after.indexOf('~')), attribute: req.query.after.slice(req.query.after.indexOf('~') + 1) } } : {}),
      limit,
    });
    await opts.audit.record(opts.db, actorOf(req.principal), 'sensitive_attribute.read', { type: 'sensitive_attribute', id: req.query.attribute ?? '*' }, {
      subjects: req.query.subjectId?.length ?? null, after: req.query.after ?? null, returned: attributes.length,
    });
    const last = attributes.length === limit ? attributes[attributes.length - 1]! : null;
    return { attributes, next: last ? `${last.subjectId}~${last.attribute}` : null };
  });

  app.get('/v1/admin/sensitive-attributes/names', {
    schema: { tags: ['admin'], summary: 'Declared sensitive attributes and how many subjects carry each', security: [{ bearer: [] }],
      response: withErrors({ 200: Type.Object({ attributes: Type.Array(Type.Object({ attribute: Type.String(), subjects: Type.Integer() })) }) }) },
    preHandler: admin,
  }, async () => ({ attributes: await listSensitiveAttributeNames(opts.db) }));
};
