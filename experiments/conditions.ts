// Targeting: which units an experiment may include, written in the MongoDB-style condition
// language GrowthBook uses — a subset of it: attribute equality, $eq $ne $in $nin $gt $gte $lt
// $lte $exists on an attribute (dot paths reach nested ones), and $and $or $nor $not around
// conditions. An operator outside the subset is refused when the experiment is defined, never
// silently ignored at assignment.
import type { FieldProblem } from '../platform/errors/app-error.js';

const FIELD_OPS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists']);
const LOGIC_OPS = new Set(['$and', '$or', '$nor', '$not']);

type Condition = Record<string, unknown>;

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueAt(attributes: Readonly<Record<string, unknown>>, path: string): unknown {
  let cur: unknown = attributes;
  for (const part of path.split('.')) {
    if (!isPlain(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function compare(a: unknown, b: unknown): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return null;
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && !Array.isArray(b)) return a.some((x) => equal(x, b)); // an array attribute matches any element
  return JSON.stringify(a) === JSON.stringify(b);
}

function fieldMatches(value: unknown, expected: unknown): boolean {
  if (!isPlain(expected) || !Object.keys(expected).some((k) => k.startsWith('$'))) return equal(value, expected);
  return Object.entries(expected).every(([op, arg]) => {
    switch (op) {
      case '$eq': return equal(value, arg);
      case '$ne': return !equal(value, arg);
      case '$in': return Array.isArray(arg) && arg.some((x) => equal(value, x));
      case '$nin': return Array.isArray(arg) && !arg.some((x) => equal(value, x));
      case '$gt': { const c = compare(value, arg); return c !== null && c > 0; }
      case '$gte': { const c = compare(value, arg); return c !== null && c >= 0; }
      case '$lt': { const c = compare(value, arg); return c !== null && c < 0; }
      case '$lte': { const c = compare(value, arg); return c !== null && c <= 0; }
      case '$exists': return (value !== undefined && value !== null) === Boolean(arg);
      default: return false;
    }
  });
}

/** Whether a unit with these attributes satisfies the condition. */
export function evalConditions(condition: Condition, attributes: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(condition).every(([key, expected]) => {
    switch (key) {
      case '$and': return Array.isArray(expected) && expected.every((c) => isPlain(c) && evalConditions(c, attributes));
      case '$or': return Array.isArray(expected) && (expected.length === 0 || expected.some((c) => isPlain(c) && evalConditions(c, attributes)));
      case '$nor': return Array.isArray(expected) && !expected.some((c) => isPlain(c) && evalConditions(c, attributes));
      case '$not': return isPlain(expected) && !evalConditions(expected, attributes);
      default: return fieldMatches(valueAt(attributes, key), expected);
    }
  });
}

/** What is wrong with a condition (unsupported operators, malformed arguments), by path. */
export function conditionProblems(condition: Condition | null, path: string): FieldProblem[] {
  if (condition === null) return [];
  const problems: FieldProblem[] = [];
  for (const [key, expected] of Object.entries(condition)) {
    const at = `${path}/${key}`;
    if (key.startsWith('$')) {
      if (!LOGIC_OPS.has(key)) { problems.push({ path: at, message: `unsupported operator (supported: ${[...LOGIC_OPS].join(' ')} and, on attributes, ${[...FIELD_OPS].join(' ')})` }); continue; }
      if (key === '$not') {
        if (isPlain(expected)) problems.push(...conditionProblems(expected, at)); else problems.push({ path: at, message: 'must be a condition object' });
      } else if (!Array.isArray(expected) || !expected.every(isPlain)) {
        problems.push({ path: at, message: 'must be an array of condition objects' });
      } else {
        expected.forEach((c, i) => problems.push(...conditionProblems(c as Condition, `${at}/${i}`)));
      }
      continue;
    }
    if (isPlain(expected) && Object.keys(expected).some((k) => k.startsWith('$'))) {
      for (const [op, arg] of Object.entries(expected)) {
        if (!FIELD_OPS.has(op)) problems.push({ path: `${at}/${op}`, message: `unsupported operator (supported: ${[...FIELD_OPS].join(' ')})` });
        else if ((op === '$in' || op === '$nin') && !Array.isArray(arg)) problems.push({ path: `${at}/${op}`, message: 'must be an array' });
      }
    }
  }
  return problems;
}
