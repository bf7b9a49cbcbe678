// Operators' view of the job queue (scope admin): depth per job type, the dead-letter list with
// each job's last error, and replaying a dead job with fresh attempts (audited).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditLog } from '../../../platform/audit/audit-log.js';
import type { Db } from '../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import type { JobName, JobQueue } from '../../../platform/queue/queue.types.js';
import { withErrors } from '../schemas.js';

const Counts = Type.Object({ waiting: Type.Integer(), active: Type.Integer(), delayed: Type.Integer(), dead: Type.Integer() }, { additionalProperties: true });
const DeadJobOut = Type.Object({
  id: Type.String(), name: Type.String(), attemptsMade: Type.Integer(), error: Type.String(), failedAt: Type.Integer(),
  payload: Type.Unknown({ description: 'The job payload (for events.apply: the events)' }),
});

export const queueAdminRoutes: FastifyPluginAsyncTypebox<{ queue: JobQueue; jobNames: readonly string[]; audit: AuditLog; db: Db }> = async (app, opts) => {
  const admin = app.requireScope('admin');
  const jobName = (name: string): JobName => {
    if (!opts.jobNames.includes(name)) {
      throw new ValidationError(`unknown job type "${name}"`, [{ path: '/job', message: `must be one of ${opts.jobNames.join(', ')}` }]);
    }
    return name as JobName;
  };

  app.get('/v1/admin/queue', {
    schema: { tags: ['admin'], summary: 'Queue depth per job type', security: [{ bearer: [] }],
      response: withErrors({ 200: Type.Object({ kind: Type.String(), jobs: Type.Record(Type.String(), Counts) }) }) },
    preHandler: admin,
  }, async () => ({ kind: opts.queue.kind, jobs: await opts.queue.counts() }));

  app.get('/v1/admin/dead-letters', {
    schema: { tags: ['admin'], summary: 'Dead-lettered jobs with their last error, newest first', security: [{ bearer: [] }],
      querystring: Type.Object({
        job: Type.Optional(Type.String({ maxLength: 100, description: 'One job type (default: all)' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ deadLetters: Type.Array(DeadJobOut) }) }) },
    preHandler: admin,
  }, async (req) => {
    const names = req.query.job ? [jobName(req.query.job)] : opts.jobNames as JobName[];
    const limit = req.query.limit ?? 50;
    const all = (await Promise.all(names.map((n) => opts.queue.deadLetters(n, limit)))).flat();
    return { deadLetters: all.sort((a, b) => b.failedAt - a.failedAt).slice(0, limit) };
  });

  app.post('/v1/admin/dead-letters/:job/:id/retry', {
    schema: { tags: ['admin'], summary: 'Put a dead-lettered job back in line with fresh attempts', security: [{ bearer: [] }],
      params: Type.Object({ job: Type.String({ maxLength: 100 }), id: Type.String({ minLength: 1, maxLength: 128 }) }),
      response: withErrors({ 200: Type.Object({ retried: Type.Literal(true), job: Type.String(), id: Type.String() }) }) },
    preHandler: admin,
  }, async (req) => {
    const name = jobName(req.params.job);
    if (!await opts.queue.retryDead(name, req.params.id)) {
      throw new NotFoundError(`no dead-lettered ${name} job "${req.params.id}"`, { job: name, id: req.params.id });
    }
    await opts.audit.record(opts.db, { type: 'api_key', id: req.principal?.keyId ?? 'unknown' }, 'job.retried', { type: 'job', id: `${name}/${req.params.id}` });
    return { retried: true as const, job: name, id: req.params.id };
  });
};
