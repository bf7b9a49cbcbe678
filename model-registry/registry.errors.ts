// The registry's own error codes, on top of the platform taxonomy (validation, not found, conflict).
import { AppError } from '../platform/errors/app-error.js';
import type { GateVerdict } from './gates.js';

/** A promotion gate refused the version: every failed check with actual, required and the gap. */
export class GateFailedError extends AppError {
  constructor(readonly verdict: GateVerdict, model: string, alias: string, version: number) {
    const failed = verdict.checks.filter((c) => !c.passed);
    super('gate_failed', 422, `${model} v${version} cannot become ${alias}: ${failed.map((c) => c.message).join('; ')}`, {
      model, alias, version, failed, checks: verdict.checks,
    });
  }
}

/** Stored artifact bytes no longer hash to the sha256 recorded at registration. */
/** Artifact bytes that do not hash to the recorded sha256: never served. `of` names the version when known. */
export class ArtifactIntegrityError extends AppError {
  constructor(readonly expected: string, readonly actual: string, of?: { model: string; version: number }) {
    super('artifact_integrity_failed', 500,
      `artifact${of ? ` of ${of.model} v${of.version}` : ''} is corrupt: sha256 ${actual} ≠ recorded ${expected}`,
      { ...(of ?? {}), expected, actual });
  }
}
