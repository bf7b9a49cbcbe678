// One error taxonomy for the whole service. Every error a user can cause or a dependency can
// raise is an AppError with a stable `code`, an HTTP status and optional structured details;
// the API maps it once to { "error": { "code", "message", "details", "requestId" } }.

export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldProblem {
  /** JSON-pointer-like path of the field, e.g. "/body/scopes/0" or "GIGINTEL_PORT". */
  path: string;
  message: string;
}

export class ValidationError extends AppError {
  constructor(message: string, readonly problems: FieldProblem[] = []) {
    super('validation_failed', 400, message, { problems });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required') {
    super('unauthorized', 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, details?: unknown) {
    super('forbidden', 403, message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, details?: unknown) {
    super('not_found', 404, message, details);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super('conflict', 409, message, details);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, details?: unknown) {
    super('payload_too_large', 413, message, details);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterMs: number) {
    super('rate_limited', 429, `too many requests; retry in ${Math.ceil(retryAfterMs / 1000)} s`, { retryAfterMs });
  }
}

/** A dependency (database, Redis) is down or too slow: the caller may retry. */
export class ServiceUnavailableError extends AppError {
  constructor(readonly dependency: string, message: string, details?: Record<string, unknown>) {
    super('service_unavailable', 503, message, { dependency, ...details });
  }
}

/** Configuration that breaks the schema: the process refuses to start. */
export class ConfigError extends AppError {
  constructor(readonly problems: FieldProblem[]) {
    super('config_invalid', 500, `invalid configuration:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`, { problems });
  }
}

// Error codes that the database drivers and ioredis raise when the server is not reachable.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'POOL_CLOSED',
  'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'SQLITE_BUSY', 'SQLITE_LOCKED',
]);

/**
 * Recognise "the dependency is unreachable" errors so they become a 503 instead of a 500.
 * mysql2 sets `code`, ioredis says "Connection is closed" or "Stream isn't writeable".
 */
export function dependencyFailure(err: unknown): ServiceUnavailableError | null {
  if (err instanceof ServiceUnavailableError) return err;
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
    // mysql2 marks connection-level errors `fatal`; ioredis errors never carry that flag.
    const fromDatabase = (err as { fatal?: unknown }).fatal === true || /^(SQLITE|ER_|PROTOCOL|POOL_)/.test(code);
    const dependency = fromDatabase ? 'database' : 'redis';
    return new ServiceUnavailableError(dependency, `${dependency} unavailable (${code}); retry shortly`);
  }
  if (/Connection is closed|Stream isn't writeable|enableOfflineQueue|Reached the max retries|connect ECONNREFUSED/.test(err.message)) {
    return new ServiceUnavailableError('redis', 'redis unavailable; retry shortly');
  }
  return null;
}
