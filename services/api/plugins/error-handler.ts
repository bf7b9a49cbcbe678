// The one place errors become HTTP responses: { "error": { "code", "message", "details", "requestId" } }.
// Validation problems are 400 with field paths, unreachable dependencies 503, anything unknown a
// logged 500 whose body gives nothing away but the request id.
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, dependencyFailure, type FieldProblem } from '../../../platform/errors/app-error.js';

interface AjvIssue { instancePath: string; message?: string; params?: Record<string, unknown>; keyword: string }

// Fastify's own 4xx errors (bad JSON, wrong content type, body too large…) get stable codes.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
};

export function validationProblems(context: string | undefined, issues: AjvIssue[]): FieldProblem[] {
  return issues.map((i) => {
    const missing = i.keyword === 'required' ? `/${String(i.params?.missingProperty)}` : '';
    const extra = i.keyword === 'additionalProperties' ? `/${String(i.params?.additionalProperty)}` : '';
    const allowed = i.keyword === 'enum' || i.keyword === 'const' ? `: ${JSON.stringify(i.params?.allowedValues ?? i.params?.allowedValue)}` : '';
    const message = i.keyword === 'additionalProperties' ? 'is not an allowed property' : `${i.message ?? 'is invalid'}${allowed}`;
    return { path: `/${context ?? 'body'}${i.instancePath}${missing}${extra}`, message };
  });
}

export function errorBody(code: string, message: string, details: unknown, requestId: string) {
  return { error: { code, message, details: details ?? null, requestId } };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const problems = validationProblems(err.validationContext, err.validation as AjvIssue[]);
      return reply.status(400).send(errorBody('validation_failed', `invalid request: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, { problems }, req.id));
    }
    if (err instanceof AppError) {
      if (err.status >= 500) req.log.warn({ err }, err.message);
      if (err.code === 'rate_limited') reply.header('retry-after', Math.ceil(((err.details as { retryAfterMs: number }).retryAfterMs) / 1000));
      if (err.status === 503) reply.header('retry-after', 5);
      return reply.status(err.status).send(errorBody(err.code, err.message, err.details, req.id));
    }
    const unavailable = dependencyFailure(err);
    if (unavailable) {
      req.log.warn({ err }, unavailable.message);
      reply.header('retry-after', 5);
      return reply.status(503).send(errorBody(unavailable.code, unavailable.message, unavailable.details, req.id));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      const code = FASTIFY_CODES[err.code] ?? 'bad_request';
      return reply.status(err.statusCode).send(errorBody(code, err.message, null, req.id));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'internal error; quote the requestId when reporting it', null, req.id));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`, null, req.id));
  });
}
