// /v1/exports…: the report catalog, streamed downloads (CSV / XLSX) and export jobs for big ranges.
// Everything needs the `exports` scope; ids in files are raw only for admin keys.
import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../services/api/auth/api-key.service.js';
import { withErrors } from '../services/api/schemas.js';
import type { ExportCaller, ExportService } from './exports.service.js';

const tags = ['exports'];
const security = [{ bearer: [] }];
const ref = Type.Ref('ErrorResponse');
const Format = Type.Union([Type.Literal('csv'), Type.Literal('xlsx')]);
const ReportKey = Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' });
const Param = Type.Object({
  name: Type.String(), type: Type.Union([Type.Literal('date'), Type.Literal('string'), Type.Literal('enum'), Type.Literal('integer'), Type.Literal('boolean')]),
  description: Type.String(), required: Type.Optional(Type.Boolean()), values: Type.Optional(Type.Array(Type.String())), default: Type.Optional(Type.String()),
});
const ReportOut = Type.Object({ key: Type.String(), title: Type.String(), description: Type.String(), params: Type.Array(Param) });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const JobOut = Type.Object({
  id: Type.String(), report: Type.String(), format: Format, params: Type.Record(Type.String(), Type.String()),
  status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('expired')]),
  rowsWritten: Type.Integer(), fileName: Type.String(), fileBytes: Nullable(Type.Integer()), schedule: Nullable(Type.String()),
  error: Nullable(Type.String()), createdAt: Type.Integer(), startedAt: Nullable(Type.Integer()), finishedAt: Nullable(Type.Integer()),
  expiresAt: Nullable(Type.Integer()),
});
const ScheduleOut = Type.Object({ name: Type.String(), report: Type.String(), format: Format, cron: Type.String(), params: Type.Record(Type.String(), Type.String()) });

const callerOf = (p: Principal | null): ExportCaller => ({ keyId: p?.keyId ?? null, admin: p?.scopes.includes('admin') ?? false });

/** RFC 6266: an ASCII fallback plus the UTF-8 form. */
function disposition(fileName: string): string {
  return `attachment; filename="${fileName.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

export const exportsRoutes: FastifyPluginAsyncTypebox<{ exports: ExportService }> = async (app, opts) => {
  const x = opts.exports;
  const scope = app.requireScope('exports');

  app.get('/v1/exports', {
    schema: { tags, security, summary: 'The report catalog: each report and its parameters', response: withErrors({ 200: Type.Object({ reports: Type.Array(ReportOut) }) }) },
    preHandler: scope,
  }, async () => ({ reports: x.catalog() }));

  app.get('/v1/exports/jobs', {
    schema: { tags, security, summary: 'Export jobs you started (all of them for admin keys) and scheduled ones, newest first',
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false }),
      response: withErrors({ 200: Type.Object({ jobs: Type.Array(JobOut) }) }) },
    preHandler: scope,
  }, async (req) => ({ jobs: await x.listJobs(callerOf(req.principal), req.query.limit) }));

  app.get('/v1/exports/schedules', {
    schema: { tags, security, summary: 'Scheduled exports from configuration (exports.schedules)', response: withErrors({ 200: Type.Object({ schedules: Type.Array(ScheduleOut) }) }) },
    preHandler: scope,
  }, async () => ({ schedules: x.schedules().map((s) => ({ ...s })) }));

  app.post('/v1/exports', {
    schema: { tags, security, summary: 'Start an export job (for big ranges); poll GET /v1/exports/jobs/{id}, then download its file',
      body: Type.Object({ report: ReportKey, format: Format, params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))) }, { additionalProperties: false }),
      response: withErrors({ 202: Type.Object({ job: JobOut }) }) },
    preHandler: scope,
  }, async (req, reply) => reply.status(202).send({ job: await x.createJob(req.body.report, req.body.format, req.body.params ?? {}, callerOf(req.principal)) }));

  app.get('/v1/exports/jobs/:id', {
    schema: { tags, security, summary: 'An export job: status and rows written so far', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: withErrors({ 200: Type.Object({ job: JobOut }) }) },
    preHandler: scope,
  }, async (req) => ({ job: await x.getJob(req.params.id, callerOf(req.principal)) }));

  app.get('/v1/exports/jobs/:id/file', {
    schema: { tags, security, summary: 'The finished file of an export job, until it expires (409 while running, 410 once expired)',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 404: ref, 409: ref, 410: ref, 401: ref, 403: ref } },
    preHandler: scope,
  }, async (req, reply) => {
    const f = await x.openFile(req.params.id, callerOf(req.principal));
    return reply.header('content-type', f.contentType).header('content-length', f.size).header('content-disposition', disposition(f.fileName))
      .header('cache-control', 'private, no-store').send(f.stream);
  });

  app.get('/v1/exports/:report', {
    schema: { tags, security, summary: 'Download a report, streamed as it is queried (CSV or XLSX)',
      description: 'Any other query parameter is a report parameter (see GET /v1/exports). `bom=true` prefixes CSV with a UTF-8 byte order mark for Excel.',
      params: Type.Object({ report: ReportKey }),
      querystring: Type.Object({ format: Type.Optional(Format), bom: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
      response: { 400: ref, 401: ref, 403: ref, 404: ref, 503: ref } },
    preHandler: scope,
  }, async (req, reply) => streamReport(x, req as FastifyRequest<{ Params: { report: string }; Querystring: Record<string, unknown> }>, reply));
};

async function streamReport(x: ExportService, req: FastifyRequest<{ Params: { report: string }; Querystring: Record<string, unknown> }>, reply: FastifyReply) {
  const { format = 'csv', bom, ...params } = req.query;
  // Parameters and the report's queries are checked before the first byte: bad input or a database
  // outage still gets a proper error response.
  const opened = await x.open(req.params.report, String(format), params, callerOf(req.principal), { bom: bom === true });
  const body = new PassThrough({ highWaterMark: 64 * 1024 });
  const abort = new AbortController();
  const stop = () => { if (!reply.raw.writableFinished) abort.abort(new Error('the client went away')); };
  reply.raw.once('close', stop);
  opened.write(body, { signal: abort.signal }).then(
    () => undefined, // the writer ends the stream
    (err: unknown) => {
      // Headers are gone: the only honest signal left is a broken download, and a log line.
      if (!abort.signal.aborted) req.log.error({ err, report: req.params.report }, 'export failed mid-stream');
      body.destroy(err as Error);
    },
  ).finally(() => reply.raw.off('close', stop));
  return reply.header('content-type', opened.contentType).header('content-disposition', disposition(opened.fileName))
    .header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff').send(body);
}
