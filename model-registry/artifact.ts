// A model's artifact: the bytes the registry stores (database or artifact directory) and hashes.
//
// Format: canonical JSON — object keys sorted, no whitespace — wrapped as
// { "format": "gigintel-model", "version": 1, "model": … }, where every array of numbers
// (weights, biases, means, stds, coefficients…) is written as { "$f64": base64 of little-endian
// float64 }. Why: JSON stays readable with jq (kind, topology, features, history) and needs no
// schema to decode, so whatever a trainer adds (the logistic encoding, metadata) rides along;
// base64 float64 is bit-exact (−0 included), ~11 characters a weight instead of ~19 in decimal,
// and parses without number parsing. Sorted keys make the bytes — and so the sha256 — a function
// of the model alone, not of the order its fields were built in.
import { createHash } from 'node:crypto';
import { ValidationError } from '../platform/errors/app-error.js';
import type { ServableModel } from './inference/model-types.js';
import { validateModel } from './inference/validate-model.js';
import { ArtifactIntegrityError } from './registry.errors.js';

export const ARTIFACT_FORMAT = 'gigintel-model';
export const ARTIFACT_VERSION = 1;
const F64 = '$f64';

/** The stored bytes do not hash to what the registry recorded: corrupted or tampered with. */

export interface ModelArtifact {
  bytes: Buffer;
  /** Lower-case hex sha256 of `bytes`. */
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function encodeF64(values: ArrayLike<number>): string {
  const buf = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) buf.writeDoubleLE(values[i]!, i * 8);
  return buf.toString('base64');
}

function decodeF64(text: string, path: string): number[] {
  const buf = Buffer.from(text, 'base64');
  if (buf.length % 8 !== 0 || buf.toString('base64') !== text) {
    throw new ValidationError(`${path} is not base64 float64 data`, [{ path, message: 'must be base64 of little-endian float64 values' }]);
  }
  const out = new Array<number>(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

function isNumberArray(v: unknown): v is ArrayLike<number> {
  if (v instanceof Float64Array || v instanceof Float32Array) return true;
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

/** Canonical JSON text of `v`; throws ValidationError naming any value JSON cannot hold exactly. */
function canonical(v: unknown, path: string): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValidationError(`${path} is ${v}`, [{ path, message: 'must be a finite number (or inside a number array)' }]);
    return JSON.stringify(v);
  }
  if (isNumberArray(v)) return `{"${F64}":${JSON.stringify(encodeF64(v))}}`;
  if (Array.isArray(v)) return `[${v.map((x, i) => (x === undefined ? 'null' : canonical(x, `${path}/${i}`))).join(',')}]`;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.some(([k]) => k === F64)) throw new ValidationError(`${path} uses the reserved key ${F64}`, [{ path: `${path}/${F64}`, message: 'reserved key' }]);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x, `${path}/${k}`)}`).join(',')}}`;
  }
  throw new ValidationError(`${path} cannot be stored in an artifact`, [{ path, message: `unsupported value of type ${typeof v}` }]);
}

function revive(v: unknown, path: string): unknown {
  if (Array.isArray(v)) return v.map((x, i) => revive(x, `${path}/${i}`));
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === F64) {
      if (typeof o[F64] !== 'string') throw new ValidationError(`${path}/${F64} must be a string`, [{ path: `${path}/${F64}`, message: 'must be a base64 string' }]);
      return decodeF64(o[F64], path);
    }
    return Object.fromEntries(keys.map((k) => [k, revive(o[k], `${path}/${k}`)]));
  }
  return v;
}

/** The model's artifact bytes and their sha256; the same model always gives the same bytes. */
export function serialiseArtifact(model: ServableModel): ModelArtifact {
  validateModel(model);
  const text = canonical({ format: ARTIFACT_FORMAT, model, version: ARTIFACT_VERSION }, '');
  const bytes = Buffer.from(text, 'utf8');
  return { bytes, sha256: sha256Hex(bytes) };
}

/**
 * The model in `bytes`, after checking they hash to `expectedSha256` (ArtifactIntegrityError
 * otherwise) and that the model has a servable shape (ValidationError naming the field).
 */
export function loadArtifact(bytes: Uint8Array, expectedSha256: string): ServableModel {
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256.toLowerCase()) throw new ArtifactIntegrityError(expectedSha256, actual);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new ValidationError(`artifact is not JSON: ${(err as Error).message}`, [{ path: '/', message: 'must be JSON' }]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValidationError('artifact must be a JSON object', [{ path: '/', message: 'must be an object' }]);
  }
  const envelope = parsed as Record<string, unknown>;
  if (envelope.format !== ARTIFACT_FORMAT) {
    throw new ValidationError(`artifact format is ${JSON.stringify(envelope.format)}`, [{ path: '/format', message: `must be "${ARTIFACT_FORMAT}"` }]);
  }
  if (envelope.version !== ARTIFACT_VERSION) {
    throw new ValidationError(`artifact version ${JSON.stringify(envelope.version)} is not supported`, [{ path: '/version', message: `must be ${ARTIFACT_VERSION}` }]);
  }
  return validateModel(revive(envelope.model, '/model'), '/model');
}

export { ArtifactIntegrityError };
