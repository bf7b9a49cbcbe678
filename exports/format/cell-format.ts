// Value formatting shared by the CSV and XLSX writers: how a typed report value becomes text (CSV)
// or a typed cell value (XLSX). Everything here is per column, precomputed once, so the writers'
// hot loops call one plain function per cell.
import { AppError } from '../../platform/errors/app-error.js';
import type { CellValue, ReportColumn } from '../report.types.js';

/** A report definition the writers cannot honour (a programming error, not the caller's). */
export class ExportFormatError extends AppError {
  constructor(message: string, details: { column: string; [k: string]: unknown }) {
    super('export_format_invalid', 500, message, details);
  }
}

const exponents = new Map<string, number>();

/** Minor-unit digits of an ISO 4217 currency (JPY 0, USD 2, KWD 3), from ICU's currency data. */
export function currencyExponent(currency: string, column = 'currency'): number {
  const cached = exponents.get(currency);
  if (cached !== undefined) return cached;
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw new ExportFormatError(`"${currency}" is not an ISO 4217 currency code`, { column, currency });
  }
  const exp = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  exponents.set(currency, exp);
  return exp;
}

/**
 * A finite number as plain decimal text, never in exponent form (1e21 → "1000000000000000000000",
 * 1e-7 → "0.0000001"), keeping JS's shortest round-trip digits. Non-finite → "" (an empty cell).
 */
export function plainNumber(x: number): string {
  if (Number.isInteger(x)) {
    if (x < 1e21 && x > -1e21) return '' + x; // never in exponent form in this range
  } else {
    const short = shortDecimal(x);
    if (short !== undefined) return short;
  }
  if (!Number.isFinite(x)) return '';
  const s = String(x);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s[0] === '-';
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exp; // position of the decimal point in `digits`
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

const DECIMAL_SCALES = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The text String(x) gives for a non-integer with at most 15 significant digits (0.345, -12.5,
 * 18795.05), found in integer arithmetic: V8's shortest-digits search costs ~250 ns a call, and
 * report numbers are mostly such short decimals. The smallest k for which round(|x|·10^k) / 10^k
 * is x again gives the fewest digits that read back as x; under 10^15 that digit string is the only
 * one of its length that does, so it is exactly JS's. undefined (use String) for anything else:
 * 16–17 digits, below 1e-6 (exponent form), non-finite.
 */
function shortDecimal(x: number): string | undefined {
  const a = x < 0 ? -x : x;
  if (!(a >= 1e-6 && a < 1e15)) return undefined;
  for (let k = 1; k < 16; k++) {
    const p = DECIMAL_SCALES[k]!;
    const m = Math.round(a * p);
    if (m >= 1e15) return undefined;
    if (m / p === a) {
      const int = Math.floor(m / p); // exact: m < 1e15 is an integer and p a power of ten
      const frac = '' + (m - int * p);
      return `${x < 0 ? '-' : ''}${int}.${frac.length < k ? '0'.repeat(k - frac.length) + frac : frac}`;
    }
  }
  return undefined;
}

/** Moves the decimal point of a plain decimal string `places` to the left ("1250", 2 → "12.50"). */
function shiftLeft(plain: string, places: number): string {
  if (places === 0) return plain;
  const negative = plain[0] === '-';
  const body = negative ? plain.slice(1) : plain;
  const dot = body.indexOf('.');
  let int = dot < 0 ? body : body.slice(0, dot);
  const frac = dot < 0 ? '' : body.slice(dot + 1);
  if (int.length <= places) int = '0'.repeat(places - int.length + 1) + int;
  const cut = int.length - places;
  const out = `${int.slice(0, cut)}.${int.slice(cut)}${frac}`;
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

/** Minor units (integer, bigint, or a fractional average) → exact decimal string in major units. */
export function minorToDecimal(minor: number | bigint, exponent: number): string {
  if (typeof minor === 'number' && Number.isSafeInteger(minor)) {
    // The common case, in integer arithmetic: no string surgery.
    if (exponent === 0) return String(minor);
    const div = POW10[exponent]!;
    const abs = minor < 0 ? -minor : minor;
    const int = Math.floor(abs / div);
    const frac = String(abs - int * div);
    return `${minor < 0 ? '-' : ''}${int}.${frac.length < exponent ? '0'.repeat(exponent - frac.length) + frac : frac}`;
  }
  const plain = typeof minor === 'bigint' ? minor.toString() : plainNumber(minor);
  return plain === '' ? '' : shiftLeft(plain, exponent);
}

/** Minor units → a JS number in major units (for XLSX); the division rounds once, correctly. */
export function minorToMajor(minor: number | bigint, exponent: number): number {
  return Number(minor) / 10 ** exponent;
}

const INJECTION_START = /^[=+\-@\t\r]/;

/** OWASP CSV injection: a text cell that a spreadsheet would read as a formula gets a leading quote. */
export function neutralise(text: string): string {
  return INJECTION_START.test(text) ? `'${text}` : text;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

const DAY_MS = 86_400_000;

const civilCache = new Map<number, string>();
const CIVIL_CACHE_LIMIT = 20_000;

/** Days since 1970-01-01 → "YYYY-MM-DD", remembered: an export's rows share few days. */
function civilDate(days: number): string {
  let s = civilCache.get(days);
  if (s === undefined) {
    if (civilCache.size >= CIVIL_CACHE_LIMIT) civilCache.clear();
    s = civilDateOf(days);
    civilCache.set(days, s);
  }
  return s;
}

/** Days since 1970-01-01 → "YYYY-MM-DD", in integer arithmetic (Hinnant's civil_from_days); no Date per cell. */
function civilDateOf(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return new Date(days * DAY_MS).toISOString().slice(0, -14);
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${pad2(m)}-${pad2(d)}`;
}

/** UTC ms → "YYYY-MM-DD". */
export function isoDate(ms: number): string {
  return civilDate(Math.floor(ms / DAY_MS));
}

const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/** UTC ms → ISO 8601 with Z ("2026-03-01T12:30:00.000Z"). */
export function isoDateTime(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  const date = civilDate(day);
  let t = ms - day * DAY_MS;
  const milli = t % 1000; t = (t - milli) / 1000;
  const sec = t % 60; t = (t - sec) / 60;
  const min = t % 60;
  const hour = (t - min) / 60;
  return `${date}T${pad2(hour)}:${pad2(min)}:${pad2(sec)}.${pad3(milli)}Z`;
}

/** A number-like value (mysql2 gives DECIMAL and big SUMs as strings) → number, or null for null/NaN. */
export function toNumber(v: CellValue, column: string): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  if (v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  throw new ExportFormatError(`column "${column}" holds "${v.slice(0, 40)}", not a number`, { column });
}

/** Money in minor units: integers stay exact (bigint for integer strings), fractions stay numbers. */
export function toMinor(v: CellValue, column: string): number | bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  return toNumber(v, column);
}

/** A date value (UTC ms, or an ISO string as some drivers return DATE columns) → UTC ms. */
export function toTime(v: CellValue, column: string): number | null {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return Number(v);
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Date.parse(v);
  if (Number.isFinite(ms)) return ms;
  throw new ExportFormatError(`column "${column}" holds "${v.slice(0, 40)}", not a date`, { column });
}

/** The minor-unit digits of a currency already seen and validated (the writers' hot path), else undefined. */
export function knownCurrencyExponent(currency: string): number | undefined {
  return exponents.get(currency);
}

/** The row key of a money column's currency, or its fixed currency; one of the two must be set. */
export function moneyCurrency(col: ReportColumn): { key?: string; fixed?: string } {
  if (col.currencyKey) return { key: col.currencyKey };
  if (col.currency) {
    currencyExponent(col.currency, col.key);
    return { fixed: col.currency };
  }
  throw new ExportFormatError(`money column "${col.key}" has neither currencyKey nor currency`, { column: col.key });
}

/** The currency of one money cell, validated. */
export function rowCurrency(row: Record<string, CellValue>, col: ReportColumn, cur: { key?: string; fixed?: string }): string {
  if (cur.fixed) return cur.fixed;
  const c = row[cur.key!];
  if (typeof c === 'string' && exponents.has(c)) return c; // hot path: a known, upper-case code
  if (typeof c !== 'string' || c === '') {
    throw new ExportFormatError(`money column "${col.key}" has no currency in "${cur.key}"`, { column: col.key, currencyKey: cur.key });
  }
  return c.toUpperCase();
}

/**
 * One column's CSV text formatter: typed value → unescaped cell text ("" for null). Strings are
 * neutralised; numbers are not (a negative amount stays "-12.50").
 */
export function csvCellFormatter(col: ReportColumn): (v: CellValue, row: Record<string, CellValue>) => string {
  const key = col.key;
  switch (col.type) {
    case 'string':
      return (v) => (v === null ? '' : neutralise(typeof v === 'string' ? v : String(v)));
    // (the CSV writer has its own combined fast path for text; this one serves other callers)
    case 'integer':
    case 'number':
    case 'ratio':
      return (v) => {
        if (typeof v === 'number') return plainNumber(v);
        const n = toNumber(v, key);
        return n === null ? '' : typeof v === 'bigint' ? v.toString() : plainNumber(n);
      };
    case 'money': {
      const cur = moneyCurrency(col);
      return (v, row) => {
        const minor = typeof v === 'number' ? v : toMinor(v, key);
        if (minor === null) return '';
        return minorToDecimal(minor, currencyExponent(rowCurrency(row, col, cur), key));
      };
    }
    case 'date':
      return (v) => {
        const ms = toTime(v, key);
        return ms === null ? '' : isoDate(ms);
      };
    case 'datetime':
      return (v) => {
        const ms = toTime(v, key);
        return ms === null ? '' : isoDateTime(ms);
      };
    default:
      throw new ExportFormatError(`column "${key}" has unknown type "${String(col.type)}"`, { column: key });
  }
}
