// Schemas every route shares: the error envelope and the error responses a route can give.
import { Type } from 'typebox';

export const ErrorOut = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Unknown(),
    requestId: Type.String(),
  }),
}, { $id: 'ErrorResponse', description: 'Every error: a stable code, a message for people, structured details and the request id.' });

const ref = Type.Ref('ErrorResponse');

/** Route responses plus the error responses every route can give. */
export function withErrors<T extends Record<number, unknown>>(ok: T) {
  return { ...ok, 400: ref, 401: ref, 403: ref, 404: ref, 429: ref, 500: ref, 503: ref };
}
