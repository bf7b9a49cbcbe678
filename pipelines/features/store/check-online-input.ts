// Input rules of the online stores, the same for Redis and the database, checked before anything
// is sent: a bad row fails the whole call with a ValidationError naming the field, rather than
// half a batch landing or a value changing on its way through JSON (NaN would come back as null).
import { ValidationError, type FieldProblem } from '../../../platform/errors/app-error.js';
import type { FeatureSetRef } from '../feature-set.js';
import type { FeatureRow } from './feature-store.types.js';

/** The width of feature_online.entity_key (varchar(191): the utf8mb4 index limit), in characters. */
export const MAX_ENTITY_KEY_CHARS = 191;
/** feature_online.feature_set is varchar(64); names are identifiers, so a Redis key splits unambiguously. */
const SET_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function entityKeyProblem(key: unknown, path: string): FieldProblem | null {
  if (typeof key !== 'string' || key.length === 0) return { path, message: 'must be a non-empty string' };
  // Count code points, as MySQL counts characters (an emoji is one character, two UTF-16 units).
  if (key.length > MAX_ENTITY_KEY_CHARS && [...key].length > MAX_ENTITY_KEY_CHARS) {
    return { path, message: `must be at most ${MAX_ENTITY_KEY_CHARS} characters` };
  }
  return null;
}

function setProblems(name: unknown, version: unknown, path: string, versionPath: string): FieldProblem[] {
  const out: FieldProblem[] = [];
  if (typeof name !== 'string' || !SET_NAME.test(name)) out.push({ path, message: 'must be 1 to 64 letters, digits, _ . or -' });
  if (!Number.isSafeInteger(version) || (version as number) < 0) out.push({ path: versionPath, message: 'must be a non-negative integer' });
  return out;
}

function valueProblem(v: unknown): string | null {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'must be a finite number';
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return null;
    if (v.every((x) => typeof x === 'number')) return v.every(Number.isFinite) ? null : 'must hold finite numbers only';
    return 'must be a list of strings or a list of numbers';
  }
  return 'must be a number, string, boolean, null or a list of strings or numbers';
}

function fail(what: string, problems: FieldProblem[]): never {
  const first = problems[0]!;
  throw new ValidationError(`invalid ${what}: ${first.path} ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, problems);
}

/** Every row of a write, or a ValidationError listing the bad fields (paths like /rows/3/entityKey). */
export function checkFeatureRows(rows: readonly FeatureRow[]): void {
  const problems: FieldProblem[] = [];
  rows.forEach((r, i) => {
    const at = `/rows/${i}`;
    problems.push(...setProblems(r.featureSet, r.version, `${at}/featureSet`, `${at}/version`));
    const k = entityKeyProblem(r.entityKey, `${at}/entityKey`);
    if (k) problems.push(k);
    if (!Number.isSafeInteger(r.eventAt) || r.eventAt < 0) problems.push({ path: `${at}/eventAt`, message: 'must be a time in UTC milliseconds' });
    if (r.values === null || typeof r.values !== 'object' || Array.isArray(r.values)) {
      problems.push({ path: `${at}/values`, message: 'must be an object of feature name → value' });
    } else {
      for (const [name, v] of Object.entries(r.values)) {
        // '__proto__' would set the prototype of the values object a read hands back.
        const m = name === '' || name === '__proto__' ? 'is not a valid feature name' : valueProblem(v);
        if (m) problems.push({ path: `${at}/values/${name}`, message: m });
      }
    }
  });
  if (problems.length) fail('feature rows', problems);
}

/** The set and entity keys of a read (paths like /entityKeys/5). */
export function checkReadInput(set: FeatureSetRef, entityKeys: readonly string[]): void {
  const problems = setProblems(set.name, set.version, '/set/name', '/set/version');
  entityKeys.forEach((k, i) => {
    const p = entityKeyProblem(k, `/entityKeys/${i}`);
    if (p) problems.push(p);
  });
  if (problems.length) fail('online read', problems);
}
