// Errors of training sets beyond the platform taxonomy.
import { AppError } from '../../platform/errors/app-error.js';

/** A snapshot's file is missing or its bytes no longer hash to the recorded content hash. */
export class DatasetIntegrityError extends AppError {
  constructor(message: string, details: { id: string; expected: string; actual: string | null; path: string }) {
    super('dataset_integrity', 500, message, details);
  }
}
