// Request and response schemas of POST /v1/events. Items are checked per event by
// validate-events.ts (not by the route schema), so one bad event does not refuse the batch.
import { Type } from 'typebox';
import { EVENT_TYPES } from './validate-events.js';

export const EventsBody = Type.Object({
  events: Type.Array(Type.Unknown({
    description: `{ event_id, type, event_at, ...fields }; type is one of ${EVENT_TYPES.join(', ')}; the fields are the columns of the type's source table (profile_update: provider_id and any updatable provider column).`,
  })),
}, { additionalProperties: false });

const Problem = Type.Object({ path: Type.String(), message: Type.String() });
export const EventsResult = Type.Object({
  accepted: Type.Integer({ description: 'Events queued for processing (a repeated event_id counts once).' }),
  rejected: Type.Integer({ description: 'Invalid events, listed in errors.' }),
  duplicates: Type.Integer({ description: 'Events whose event_id appeared earlier in this batch.' }),
  errors: Type.Array(Type.Object({
    index: Type.Integer({ description: 'Position in the posted events array.' }),
    eventId: Type.Union([Type.String(), Type.Null()]),
    problems: Type.Array(Problem),
  })),
});
