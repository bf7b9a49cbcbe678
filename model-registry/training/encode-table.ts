// Turning a dataset's feature columns into a numeric design, and remembering how, so serving can
// encode one raw feature row exactly as training did:
//   float/int → as is; a null gets the training mean plus a `name__missing` indicator column
//               (only when training saw nulls: an all-zero indicator would carry nothing);
//   bool      → 0/1, nulls as for numbers;
//   string    → one-hot of the top-K training categories + `name=__other__` (rare, unseen, null);
//   json list → its length, nulls as for numbers;
//   hashed    → (columns named in `hashed`) one-hot of the value folded into N buckets: a hashed
//               cross (advertiser × placement, already FNV-1a mod 2^20) is a category, not a number.
// applyEncoding gives a dense design; applyEncodingSparse the same columns as CSR non-zeros, for
// hashings wider than a dense design can hold (up to MAX_HASHED_BUCKETS).
import type { ColumnSpec, ColumnType } from '../../pipelines/datasets/point-in-time-join.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Design } from './design.js';
import { hashBucket, MAX_DENSE_BUCKETS, MAX_HASHED_BUCKETS } from './hash-features.js';
import { SparseBuilder, type SparseDesign } from './sparse-design.js';

export type ColumnEncoding =
  | { name: string; kind: 'numeric' | 'bool' | 'list_length'; mean: number; missingIndicator: boolean }
  | { name: string; kind: 'categorical'; categories: string[] }
  | { name: string; kind: 'hashed'; buckets: number };

export interface TableEncoding {
  columns: ColumnEncoding[];
  /** The design's column names, in order. */
  featureNames: string[];
}

/** An arquero table (anything with columnNames/array/numRows) or columns by name. */
export interface TableLike {
  columnNames(): string[];
  array(name: string): ArrayLike<unknown>;
  numRows(): number;
}
export type ColumnSource = TableLike | Readonly<Record<string, ArrayLike<unknown>>>;

export interface EncodeOptions {
  /** The columns to encode, with their storage types; only role 'feature' is used. Default: every column, types inferred. */
  columns?: readonly Pick<ColumnSpec, 'name' | 'type' | 'role'>[];
  /** Categories kept per string column (default 20). */
  topK?: number;
  /** The rows the encoding is fitted on (the training rows); default all. */
  rows?: ArrayLike<number>;
  /** Columns encoded as hashed categories: name → number of one-hot buckets (≤ MAX_HASHED_BUCKETS; a dense design takes ≤ MAX_DENSE_BUCKETS). */
  hashed?: Readonly<Record<string, number>>;
}

export const OTHER = '__other__';

function isTable(s: ColumnSource): s is TableLike {
  return typeof (s as TableLike).columnNames === 'function' && typeof (s as TableLike).array === 'function';
}

function columnOf(source: ColumnSource, name: string): ArrayLike<unknown> {
  if (isTable(source)) {
    if (!source.columnNames().includes(name)) throw missingColumn(name);
    return source.array(name);
  }
  const col = (source as Record<string, ArrayLike<unknown>>)[name];
  if (!col) throw missingColumn(name);
  return col;
}

function missingColumn(name: string): ValidationError {
  return new ValidationError(`column ${name} is missing`, [{ path: `columns/${name}`, message: 'is missing from the table' }]);
}

/** A cell as a plain value: NaN in a Float64Array and −1 in an Int8Array (bool) mean null. */
function cell(col: ArrayLike<unknown>, i: number): unknown {
  const v = col[i];
  if (col instanceof Int8Array) return v === -1 ? null : v === 1;
  if (typeof v === 'number' && Number.isNaN(v)) return null;
  return v ?? null;
}

function inferType(col: ArrayLike<unknown>): ColumnType {
  if (col instanceof Float64Array) return 'float';
  if (col instanceof Int8Array) return 'bool';
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'number') return 'float';
    if (typeof v === 'boolean') return 'bool';
    if (Array.isArray(v)) return 'json';
    return 'string';
  }
  return 'float';
}

const listLengths = new Map<string, number | null>();
function listLength(v: unknown): number | null {
  if (v === null) return null;
  if (Array.isArray(v)) return v.length;
  if (typeof v !== 'string') return null;
  // Dictionary-encoded columns repeat the same texts: parse each once.
  let n = listLengths.get(v);
  if (n === undefined) {
    let parsed: unknown;
    try { parsed = JSON.parse(v); } catch { parsed = null; }
    n = Array.isArray(parsed) ? parsed.length : null;
    if (listLengths.size > 100_000) listLengths.clear();
    listLengths.set(v, n);
  }
  return n;
}

/** A cell as the number a numeric/bool/list column encodes, or null. */
function numericValue(kind: 'numeric' | 'bool' | 'list_length', v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (kind === 'list_length') return listLength(v);
  if (kind === 'bool') return v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : null;
  const x = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(x) ? x : null;
}

/** Fits an encoding on the training rows. */
export function fitEncoding(source: ColumnSource, opts: EncodeOptions = {}): TableEncoding {
  const topK = opts.topK ?? 20;
  if (!(Number.isInteger(topK) && topK >= 1)) throw new ValidationError('topK must be an integer ≥ 1', [{ path: 'topK', message: 'must be an integer ≥ 1' }]);
  const specs = opts.columns
    ? opts.columns.filter((c) => c.role === 'feature')
    : (isTable(source) ? source.columnNames() : Object.keys(source)).map((name) => ({ name, type: inferType(columnOf(source, name)), role: 'feature' as const }));
  const columns: ColumnEncoding[] = [];
  for (const spec of specs) {
    const col = columnOf(source, spec.name);
    const type = spec.type ?? inferType(col);
    const n = opts.rows ? opts.rows.length : col.length;
    const at = (k: number) => cell(col, opts.rows ? opts.rows[k]! : k);
    const buckets = opts.hashed?.[spec.name];
    if (buckets !== undefined) {
      if (!(Number.isInteger(buckets) && buckets >= 2 && buckets <= MAX_HASHED_BUCKETS)) {
        throw new ValidationError(`hashed column ${spec.name} needs 2–${MAX_HASHED_BUCKETS} buckets`, [{ path: `hashed/${spec.name}`, message: `must be an integer from 2 to ${MAX_HASHED_BUCKETS}` }]);
      }
      columns.push({ name: spec.name, kind: 'hashed', buckets });
      continue;
    }
    if (type === 'string') {
      const counts = new Map<string, number>();
      for (let k = 0; k < n; k++) { const v = at(k); if (v !== null) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1); }
      const categories = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, topK).map(([c]) => c);
      columns.push({ name: spec.name, kind: 'categorical', categories });
      continue;
    }
    const kind = type === 'bool' ? 'bool' : type === 'json' ? 'list_length' : 'numeric';
    let sum = 0, count = 0;
    for (let k = 0; k < n; k++) { const x = numericValue(kind, at(k)); if (x !== null) { sum += x; count++; } }
    columns.push({ name: spec.name, kind, mean: count ? sum / count : 0, missingIndicator: count < n });
  }
  return { columns, featureNames: columns.flatMap(namesOf) };
}

function widthOf(c: ColumnEncoding): number {
  if (c.kind === 'hashed') return c.buckets;
  if (c.kind === 'categorical') return c.categories.length + 1;
  return c.missingIndicator ? 2 : 1;
}

function namesOf(c: ColumnEncoding): string[] {
  if (c.kind === 'hashed') return Array.from({ length: c.buckets }, (_, b) => `${c.name}#${b}`);
  if (c.kind === 'categorical') return [...c.categories.map((v) => `${c.name}=${v}`), `${c.name}=${OTHER}`];
  const base = c.kind === 'list_length' ? `${c.name}__len` : c.name;
  return c.missingIndicator ? [base, `${c.name}__missing`] : [base];
}

/** Encodes `rows` (default all) of the source with a fitted encoding. */
export function applyEncoding(encoding: TableEncoding, source: ColumnSource, rows?: ArrayLike<number>): Design {
  const wide = encoding.columns.find((c) => c.kind === 'hashed' && c.buckets > MAX_DENSE_BUCKETS);
  if (wide) throw new ValidationError(`hashed column ${wide.name} is too wide for a dense design: use applyEncodingSparse`, [{ path: `hashed/${wide.name}`, message: `a dense design takes ≤ ${MAX_DENSE_BUCKETS} buckets` }]);
  const cols = encoding.featureNames.length;
  const first = encoding.columns[0];
  const total = isTable(source) ? source.numRows() : first ? columnOf(source, first.name).length : 0;
  const n = rows ? rows.length : total;
  const data = new Float64Array(n * cols);
  let j0 = 0;
  for (const c of encoding.columns) {
    const col = columnOf(source, c.name);
    let at = 0;
    const emit = (j: number, v: number) => { data[at + j] = v; };
    for (let k = 0; k < n; k++) {
      at = k * cols + j0;
      writeCell(c, cell(col, rows ? rows[k]! : k), emit);
    }
    j0 += widthOf(c);
  }
  return { rows: n, cols, data, names: [...encoding.featureNames] };
}

/** Encodes `rows` (default all) as CSR non-zeros: the same columns as applyEncoding, at any hashed width. */
export function applyEncodingSparse(encoding: TableEncoding, source: ColumnSource, rows?: ArrayLike<number>): SparseDesign {
  const cols = encoding.featureNames.length;
  const first = encoding.columns[0];
  const total = isTable(source) ? source.numRows() : first ? columnOf(source, first.name).length : 0;
  const n = rows ? rows.length : total;
  const sources = encoding.columns.map((c) => columnOf(source, c.name));
  const starts: number[] = [];
  encoding.columns.reduce((j0, c) => { starts.push(j0); return j0 + widthOf(c); }, 0);
  const b = new SparseBuilder(cols, n * encoding.columns.length);
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k]! : k;
    encoding.columns.forEach((c, m) => writeCell(c, cell(sources[m]!, i), (j, v) => b.add(starts[m]! + j, v)));
    b.endRow();
  }
  return b.build(encoding.featureNames);
}

// Category lookups per encoding column, built once.
const categoryIndex = new WeakMap<ColumnEncoding, Map<string, number>>();

/** Emits the cell's non-zero design values as (offset within the column's block, value). */
function writeCell(c: ColumnEncoding, v: unknown, emit: (j: number, value: number) => void): void {
  if (c.kind === 'hashed') {
    if (v === null) return; // no bucket: all zeros
    // Numbers are already hashes (fold them); anything else is hashed here.
    emit(typeof v === 'number' && Number.isInteger(v) ? ((v % c.buckets) + c.buckets) % c.buckets : hashBucket(String(v), c.buckets), 1);
    return;
  }
  if (c.kind === 'categorical') {
    let index = categoryIndex.get(c);
    if (!index) { index = new Map(c.categories.map((v, i) => [v, i])); categoryIndex.set(c, index); }
    const i = v === null ? undefined : index.get(String(v));
    emit(i ?? c.categories.length, 1);
    return;
  }
  const x = numericValue(c.kind, v);
  emit(0, x ?? c.mean);
  if (c.missingIndicator && x === null) emit(1, 1);
}

/** Fits the encoding on `opts.rows` (default all) and encodes every row. */
export function encodeTable(source: ColumnSource, opts: EncodeOptions = {}): { encoding: TableEncoding; design: Design } {
  const encoding = fitEncoding(source, opts);
  return { encoding, design: applyEncoding(encoding, source) };
}

// The serving path encodes rows one cell at a time into one buffer: a module-level emitter (not a
// closure per cell) keeps that allocation-free.
let emitTarget: Float64Array = new Float64Array(0);
let emitBase = 0;
const emitInto = (j: number, x: number) => { emitTarget[emitBase + j] = x; };

/**
 * Encodes one row into `out` from `at` (which must be zeroed, as a fresh Float64Array is):
 * `read(i)` gives the raw value of encoding column i (undefined or NaN count as null).
 */
export function encodeInto(encoding: TableEncoding, read: (column: number) => unknown, out: Float64Array, at: number): void {
  emitTarget = out;
  let j0 = at;
  const cols = encoding.columns;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    const v = read(i);
    emitBase = j0;
    writeCell(c, v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : v, emitInto);
    j0 += widthOf(c);
  }
  emitTarget = EMPTY;
}
const EMPTY: Float64Array = new Float64Array(0);

/** One raw feature row (as served: { name: value }) as the model's design row. Absent = null. */
export function encodeValues(encoding: TableEncoding, values: Readonly<Record<string, unknown>>): Float64Array {
  const out = new Float64Array(encoding.featureNames.length);
  encodeInto(encoding, (i) => values[encoding.columns[i]!.name], out, 0);
  return out;
}
