// Validates one record against a table spec: accepts CSV strings or JSON values, returns the row
// ready to write (ids trimmed, times as UTC ms, money as integers, booleans as 0/1) or every
// problem with the field it concerns. Unknown fields are problems too: a typo should not vanish.
import { isIP } from 'node:net';
import type { FieldProblem } from '../../platform/errors/app-error.js';
import type { ColumnSpec, TableSpec } from './table-specs.js';

export type RowResult = { ok: true; row: Record<string, unknown> } | { ok: false; problems: FieldProblem[] };

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const timezones = new Map<string, boolean>();
// Intl lists only canonical zone names (Asia/Calcutta, not Asia/Kolkata), but accepts every IANA
// name and alias when formatting: ask it, once per distinct name.
function isTimeZone(s: string): boolean {
  let ok = timezones.get(s);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: s });
      ok = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(s);
    } catch {
      ok = false;
    }
    if (timezones.size < 10_000) timezones.set(s, ok);
  }
  return ok;
}
const regions = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** `now` stamps ingested_at / updated_at, so one batch shares one arrival time. */
export function validateRow(spec: TableSpec, record: Record<string, unknown>, now: number): RowResult {
  const problems: FieldProblem[] = [];
  const row: Record<string, unknown> = {};
  const known = new Set(spec.columns.map((c) => c.name));
  for (const field of Object.keys(record)) {
    if (!known.has(field)) problems.push({ path: field, message: `is not a column of ${spec.table}` });
  }
  for (const col of spec.columns) {
    const raw = record[col.name];
    const empty = raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
    if (empty) {
      if (col.required) problems.push({ path: col.name, message: 'is required' });
      else row[col.name] = col.default ?? null;
      continue;
    }
    const parsed = parseValue(col, raw);
    if ('error' in parsed) problems.push({ path: col.name, message: `${parsed.error} (got ${JSON.stringify(raw)})` });
    else row[col.name] = parsed.value;
  }
  if (problems.length === 0 && spec.check) problems.push(...spec.check(row));
  if (problems.length) return { ok: false, problems };
  if (spec.eventLike) row.ingested_at = now;
  else row.updated_at = now;
  return { ok: true, row };
}

function parseValue(col: ColumnSpec, raw: unknown): { value: unknown } | { error: string } {
  const s = typeof raw === 'string' ? raw.trim() : raw;
  switch (col.type) {
    case 'id':
      return typeof s === 'string' && ID.test(s) ? { value: s } : { error: 'must be an id of letters, digits and _ . : - (at most 64)' };
    case 'text': {
      if (typeof s !== 'string' && typeof s !== 'number') return { error: 'must be text' };
      const text = String(s);
      const max = col.maxLength ?? 1000;
      return text.length <= max ? { value: text } : { error: `must be at most ${max} characters` };
    }
    case 'int':
    case 'money': {
      const n = typeof s === 'number' ? s : typeof s === 'string' && /^-?\d+$/.test(s) ? Number(s) : NaN;
      if (!Number.isSafeInteger(n)) return { error: col.type === 'money' ? 'must be a whole number of minor units (cents), not a decimal amount' : 'must be a whole number' };
      return inRange(col, n);
    }
    case 'float': {
      const n = typeof s === 'number' ? s : typeof s === 'string' && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : NaN;
      return Number.isFinite(n) ? inRange(col, n) : { error: 'must be a number' };
    }
    case 'currency':
      return typeof s === 'string' && /^[A-Z]{3}$/.test(s) && CURRENCIES.has(s) ? { value: s } : { error: 'must be an ISO 4217 currency code such as USD' };
    case 'country':
      return typeof s === 'string' && /^[A-Z]{2}$/.test(s) && regions.of(s) !== undefined ? { value: s } : { error: 'must be an ISO 3166 two-letter country code such as DE' };
    case 'timezone':
      return typeof s === 'string' && isTimeZone(s) ? { value: s } : { error: 'must be an IANA time zone such as Europe/Berlin' };
    case 'time': {
      if (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0) return { value: s };
      if (typeof s === 'string' && /^\d{1,15}$/.test(s)) return { value: Number(s) };
      if (typeof s === 'string' && ISO_WITH_ZONE.test(s)) {
        const ms = Date.parse(s);
        if (Number.isFinite(ms)) return { value: ms };
      }
      return { error: 'must be UTC milliseconds or an ISO 8601 time with a zone, e.g. 2026-11-25T10:00:00Z' };
    }
    case 'enum':
      return typeof s === 'string' && col.values!.includes(s) ? { value: s } : { error: `must be one of ${col.values!.join(', ')}` };
    case 'bool':
      if (s === true || s === 1 || s === '1' || s === 'true') return { value: 1 };
      if (s === false || s === 0 || s === '0' || s === 'false') return { value: 0 };
      return { error: 'must be true or false' };
    case 'json': {
      if (typeof s === 'object') return { value: JSON.stringify(s) };
      try {
        return { value: JSON.stringify(JSON.parse(String(s))) };
      } catch {
        return { error: 'must be JSON' };
      }
    }
    case 'ip':
      return typeof s === 'string' && isIP(s) !== 0 ? { value: s } : { error: 'must be an IPv4 or IPv6 address' };
    case 'url':
      return typeof s === 'string' && /^https?:\/\/\S+$/.test(s) && s.length <= 2000 ? { value: s } : { error: 'must be an http(s) URL' };
  }
}

function inRange(col: ColumnSpec, n: number): { value: number } | { error: string } {
  if (col.min !== undefined && n < col.min) return { error: `must be at least ${col.min}` };
  if (col.max !== undefined && n > col.max) return { error: `must be at most ${col.max}` };
  return { value: n };
}
