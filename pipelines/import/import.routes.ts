// POST /v1/import/:table (scope ingest): the request body is the CSV or NDJSON file itself, handed
// to the import core as a stream, so a large body is never held in memory.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditLog } from '../../platform/audit/audit-log.js';
import type { Db } from '../../platform/db/database.js';
import { AppError, PayloadTooLargeError } from '../../platform/errors/app-error.js';
import { withErrors } from '../../services/api/schemas.js';
import { IMPORTABLE_TABLES } from '../contract/table-specs.js';
import { importRows, MAX_CHUNK_SIZE, type ImportFormat } from './import-rows.js';

const FORMATS: Record<string, ImportFormat> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson', 'application/ndjson': 'ndjson' };

const ImportParams = Type.Object({
  table: Type.String({ minLength: 1, maxLength: 64, description: `one of ${IMPORTABLE_TABLES.join(', ')}` }),
});
const ImportQuery = Type.Object({
  dryRun: Type.Optional(Type.Boolean({ description: 'validate and report without writing' })),
  chunkSize: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CHUNK_SIZE, description: 'rows per upsert transaction (default 2500)' })),
}, { additionalProperties: false });
const ImportHeaders = Type.Object({
  'content-type': Type.String({ description: 'text/csv (header row required) or application/x-ndjson (one JSON object per line)' }),
});
const RejectOut = Type.Object({ line: Type.Integer(), field: Type.String(), reason: Type.String() });
const ImportReportOut = Type.Object({
  table: Type.String(), format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')]), dryRun: Type.Boolean(),
  rows: Type.Integer({ description: 'data rows read' }),
  written: Type.Integer({ description: 'rows accepted: inserted, updated or already identical' }),
  rejected: Type.Integer({ description: 'rows rejected' }),
  rejects: Type.Array(RejectOut, { description: 'the first 1,000 reject entries, by line (header = line 1)' }),
  rejectsTotal: Type.Integer({ description: 'all reject entries (one per problem)' }),
  durationMs: Type.Integer(),
});

export const importRoutes: FastifyPluginAsyncTypebox<{ db: Db; audit: AuditLog; bodyLimitBytes: number }> = async (app, opts) => {
  // Scoped to this plugin: the route gets the raw body stream; the import core enforces the limit.
  app.addContentTypeParser(Object.keys(FORMATS), (_req, payload, done) => done(null, payload));

  app.post('/v1/import/:table', {
    schema: {
      tags: ['import'], summary: 'Bulk import marketplace records (CSV or NDJSON), idempotent on natural keys',
      security: [{ bearer: [] }], consumes: Object.keys(FORMATS),
      params: ImportParams, querystring: ImportQuery, headers: ImportHeaders,
      response: withErrors({ 200: ImportReportOut, 413: Type.Ref('ErrorResponse'), 415: Type.Ref('ErrorResponse') }),
    },
    preHandler: app.requireScope('ingest'),
  }, async (req) => {
    const mediaType = req.headers['content-type']!.split(';')[0]!.trim().toLowerCase();
    const format = FORMATS[mediaType];
    const body = req.body as Readable | undefined;
    if (!format || !body || typeof body.pipe !== 'function') {
      throw new AppError('unsupported_media_type', 415, `send the file as ${Object.keys(FORMATS).join(' or ')}`, { contentType: mediaType });
    }
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > opts.bodyLimitBytes) {
      throw new PayloadTooLargeError(`the import is larger than ${opts.bodyLimitBytes} bytes; use gigintel import for big files`, { maxBytes: opts.bodyLimitBytes });
    }
    return importRows({
      db: opts.db, table: req.params.table, format, input: body, dryRun: req.query.dryRun ?? false,
      ...(req.query.chunkSize ? { chunkSize: req.query.chunkSize } : {}), maxBytes: opts.bodyLimitBytes,
      audit: opts.audit, actor: { type: 'api_key', id: req.principal?.keyId ?? 'unknown' }, source: 'http',
    });
  });
};
