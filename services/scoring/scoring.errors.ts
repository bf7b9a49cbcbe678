// The scoring service's own error codes, on top of the platform taxonomy.
import { AppError } from '../../platform/errors/app-error.js';

/** The model is configured but no version of it is loaded (not registered, no alias yet, or every load failed). */
export class ModelUnavailableError extends AppError {
  constructor(model: string, reason: string) {
    super('model_unavailable', 503, `${model} is not loaded: ${reason}`, { model, reason });
  }
}

/** The model (or that version of it) is not served by this process. */
export class ModelNotServedError extends AppError {
  constructor(model: string, served: readonly string[], version?: number) {
    super('model_not_served', 404, `${model}${version !== undefined ? ` v${version}` : ''} is not served here (served: ${served.join(', ') || 'none'})`, { model, version: version ?? null, served });
  }
}
