// A design in compressed sparse rows (CSR), for one-hot and hashed columns: a row of the Adult
// one-hot has 14 non-zeros in 105 columns, an ads row a handful in 2^16 hashed buckets. The
// logistic trainer accumulates its gradient and Hessian over the non-zeros only.
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Design } from './design.js';

export interface SparseDesign {
  kind: 'sparse';
  rows: number;
  cols: number;
  /** Row i's entries are (indices[k], values[k]) for k in offsets[i] .. offsets[i + 1], indices ascending. */
  offsets: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  names: string[];
}

export function isSparseDesign(x: unknown): x is SparseDesign {
  return typeof x === 'object' && x !== null && (x as SparseDesign).kind === 'sparse';
}

/** Builds CSR rows entry by entry: `add(col, value)` for the current row, `endRow()` after each. */
export class SparseBuilder {
  private indices: Int32Array;
  private values: Float64Array;
  private readonly offsets: number[] = [0];
  private n = 0;
  private rowStart = 0;

  constructor(private readonly cols: number, expected = 1024) {
    this.indices = new Int32Array(Math.max(16, expected));
    this.values = new Float64Array(Math.max(16, expected));
  }

  add(col: number, value: number): void {
    if (value === 0) return;
    if (this.n === this.indices.length) {
      const i = new Int32Array(this.n * 2); i.set(this.indices); this.indices = i;
      const v = new Float64Array(this.n * 2); v.set(this.values); this.values = v;
    }
    this.indices[this.n] = col;
    this.values[this.n++] = value;
  }

  endRow(): void {
    // Entries usually arrive in column order; sort the row (and merge repeats) when they did not.
    let ordered = true;
    for (let k = this.rowStart + 1; k < this.n; k++) if (this.indices[k]! <= this.indices[k - 1]!) { ordered = false; break; }
    if (!ordered) {
      const merged = new Map<number, number>();
      for (let k = this.rowStart; k < this.n; k++) merged.set(this.indices[k]!, (merged.get(this.indices[k]!) ?? 0) + this.values[k]!);
      this.n = this.rowStart;
      for (const [c, v] of [...merged].sort((a, b) => a[0] - b[0])) if (v !== 0) { this.indices[this.n] = c; this.values[this.n++] = v; }
    }
    this.offsets.push(this.n);
    this.rowStart = this.n;
  }

  build(names: readonly string[]): SparseDesign {
    if (names.length !== this.cols) throw new ValidationError(`${names.length} names for ${this.cols} columns`, [{ path: 'featureNames', message: `must have ${this.cols} names` }]);
    return {
      kind: 'sparse', rows: this.offsets.length - 1, cols: this.cols, offsets: Int32Array.from(this.offsets),
      indices: this.indices.slice(0, this.n), values: this.values.slice(0, this.n), names: [...names],
    };
  }
}

/** The non-zeros of a dense design. */
export function sparseFromDesign(design: Design): SparseDesign {
  const { rows, cols, data } = design;
  let nnz = 0;
  for (let k = 0; k < data.length; k++) if (data[k] !== 0) nnz++;
  const b = new SparseBuilder(cols, nnz);
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    for (let j = 0; j < cols; j++) b.add(j, data[off + j]!);
    b.endRow();
  }
  return b.build(design.names);
}

/** The dense design (for small problems and tests). */
export function densify(s: SparseDesign): Design {
  const data = new Float64Array(s.rows * s.cols);
  for (let i = 0; i < s.rows; i++) for (let k = s.offsets[i]!; k < s.offsets[i + 1]!; k++) data[i * s.cols + s.indices[k]!] = s.values[k]!;
  return { rows: s.rows, cols: s.cols, data, names: [...s.names] };
}

/** The rows `index` of a sparse design. */
export function selectSparseRows(s: SparseDesign, index: ArrayLike<number>): SparseDesign {
  let nnz = 0;
  for (let k = 0; k < index.length; k++) nnz += s.offsets[index[k]! + 1]! - s.offsets[index[k]!]!;
  const offsets = new Int32Array(index.length + 1);
  const indices = new Int32Array(nnz), values = new Float64Array(nnz);
  let at = 0;
  for (let k = 0; k < index.length; k++) {
    const i = index[k]!, a = s.offsets[i]!, b = s.offsets[i + 1]!;
    indices.set(s.indices.subarray(a, b), at); values.set(s.values.subarray(a, b), at);
    at += b - a;
    offsets[k + 1] = at;
  }
  return { kind: 'sparse', rows: index.length, cols: s.cols, offsets, indices, values, names: s.names };
}
