// POST /v1/events (scope ingest): 202 when every event was accepted, 207 when some were refused
// (the accepted ones are queued all the same); the body says which and why.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { withErrors } from '../../services/api/schemas.js';
import { EventsBody, EventsResult } from './events.schemas.js';
import type { EventsService } from './events.service.js';

export const eventsRoutes: FastifyPluginAsyncTypebox<{ events: EventsService }> = async (app, opts) => {
  app.post('/v1/events', {
    schema: {
      tags: ['ingest'], summary: `Ingest a batch of up to ${opts.events.maxBatch} events`, security: [{ bearer: [] }],
      body: EventsBody,
      response: withErrors({ 202: EventsResult, 207: EventsResult }),
    },
    preHandler: app.requireScope('ingest'),
  }, async (req, reply) => {
    const result = await opts.events.ingest(req.body.events);
    return reply.status(result.rejected > 0 ? 207 : 202).send(result);
  });
};
