// Report parameters arrive as strings (query string, CLI flags, a schedule's query); this turns
// them into typed values by the report's own parameter list, or names the field that is wrong.
import { ValidationError, type FieldProblem } from '../platform/errors/app-error.js';
import type { ParamValue, ReportDefinition, ReportParam, ReportParams } from './report.types.js';

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const RELATIVE = /^(today|yesterday|-(\d{1,4})d)$/;

export interface ParsedParams {
  /** Typed values for the report's run(). */
  values: ReportParams;
  /** Every parameter as it applies (defaults included), as strings, for the file's Summary and name. */
  shown: { name: string; value: string }[];
}


/** UTC midnight of the day holding `ms`. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * A date parameter: YYYY-MM-DD (UTC midnight), an ISO 8601 time with zone, or relative to `now`:
 * `today`, `yesterday`, `-7d` (midnight seven days ago), so schedules can say "the last week".
 */
export function parseDateParam(raw: string, now: number): number | null {
  const s = raw.trim();
  const rel = RELATIVE.exec(s);
  if (rel) return utcDay(now) - (rel[1] === 'today' ? 0 : rel[1] === 'yesterday' ? 1 : Number(rel[2])) * DAY_MS;
  if (DATE.test(s)) {
    const ms = Date.parse(`${s}T00:00:00Z`);
    return Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== s ? null : ms;
  }
  if (DATETIME.test(s)) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}

function showDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return ms % DAY_MS === 0 ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
}

function parseOne(p: ReportParam, raw: string, now: number): { value: ParamValue; shown: string } | string {
  const s = raw.trim();
  switch (p.type) {
    case 'date': {
      const ms = parseDateParam(s, now);
      return ms === null ? 'must be a date (YYYY-MM-DD), an ISO 8601 time with zone, today, yesterday or -Nd' : { value: ms, shown: showDate(ms) };
    }
    case 'integer': {
      if (!/^-?\d{1,15}$/.test(s)) return 'must be an integer';
      return { value: Number(s), shown: String(Number(s)) };
    }
    case 'boolean': {
      if (s !== 'true' && s !== 'false') return 'must be true or false';
      return { value: s === 'true', shown: s };
    }
    case 'enum': {
      const values = p.values ?? [];
      return values.includes(s) ? { value: s, shown: s } : `must be one of ${values.join(', ')}`;
    }
    case 'string': {
      if (s.length === 0 || s.length > 200) return 'must be 1 to 200 characters';
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f]/.test(s)) return 'must not contain control characters';
      return { value: s, shown: s };
    }
  }
}

/**
 * Checks `raw` against the report's parameters: unknown names, wrong types, missing required
 * values and an empty date range are all reported together, each naming its field.
 */
export function parseReportParams(report: ReportDefinition, raw: Readonly<Record<string, unknown>>, now: number): ParsedParams {
  const problems: FieldProblem[] = [];
  const known = new Map(report.params.map((p) => [p.name, p]));
  for (const name of Object.keys(raw)) {
    if (!known.has(name)) problems.push({ path: name, message: `is not a parameter of ${report.key} (it takes ${report.params.map((p) => p.name).join(', ') || 'none'})` });
  }
  const values: ReportParams = {};
  const shown: { name: string; value: string }[] = [];
  for (const p of report.params) {
    const given = raw[p.name];
    let text: string | undefined;
    if (given === undefined || given === null || given === '') text = p.default;
    else if (typeof given === 'string' || typeof given === 'number' || typeof given === 'boolean') text = String(given);
    else { problems.push({ path: p.name, message: 'must be a single value' }); continue; }
    if (text === undefined) {
      if (p.required) problems.push({ path: p.name, message: 'is required' });
      continue;
    }
    const parsed = parseOne(p, text, now);
    if (typeof parsed === 'string') { problems.push({ path: p.name, message: `${parsed} (got ${JSON.stringify(text)})` }); continue; }
    values[p.name] = parsed.value;
    shown.push({ name: p.name, value: parsed.shown });
  }
  const from = values.from;
  const to = values.to;
  if (typeof from === 'number' && typeof to === 'number' && from >= to) {
    problems.push({ path: 'to', message: `must be after from (${showDate(from)}); the range is [from, to)` });
  }
  if (problems.length > 0) {
    throw new ValidationError(`invalid parameters for report ${report.key}: ${problems.map((x) => `${x.path} ${x.message}`).join('; ')}`, problems);
  }
  return { values, shown };
}

/** A file name from the report key and its range, safe in every file system and header. */
export function exportFileName(report: string, shown: readonly { name: string; value: string }[], ext: string): string {
  const part = (n: string) => shown.find((s) => s.name === n)?.value.slice(0, 10);
  const range = [part('from'), part('to')].filter(Boolean).join('_');
  return `${[report, range].filter(Boolean).join('_')}.${ext}`.replace(/[^A-Za-z0-9._-]/g, '-');
}
