// A design matrix as the trainers read it: one row-major Float64Array (rows × cols), so a Newton
// pass walks memory in order and a million rows never become a million boxed arrays.
import { ValidationError } from '../../platform/errors/app-error.js';

export interface Design {
  rows: number;
  cols: number;
  /** Row-major: the value of column j in row i is data[i * cols + j]. */
  data: Float64Array;
  /** One name per column. */
  names: string[];
}

export function designFromRows(rows: readonly (readonly number[])[], names?: readonly string[]): Design {
  const cols = rows[0]?.length ?? names?.length ?? 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new ValidationError(`row ${i} has ${r.length} values, expected ${cols}`, [{ path: `X/${i}`, message: `must have ${cols} values` }]);
    data.set(r, i * cols);
  });
  return { rows: rows.length, cols, data, names: defaultNames(cols, names) };
}

export function designFromColumns(columns: readonly ArrayLike<number>[], names?: readonly string[]): Design {
  const cols = columns.length;
  const rows = columns[0]?.length ?? 0;
  const data = new Float64Array(rows * cols);
  columns.forEach((c, j) => {
    if (c.length !== rows) throw new ValidationError(`column ${j} has ${c.length} rows, expected ${rows}`, [{ path: `X/${j}`, message: `must have ${rows} rows` }]);
    for (let i = 0; i < rows; i++) data[i * cols + j] = c[i]!;
  });
  return { rows, cols, data, names: defaultNames(cols, names) };
}

/** The rows `index` of a design (a train or holdout part of a split). */
export function selectRows(design: Design, index: ArrayLike<number>): Design {
  const { cols } = design;
  const data = new Float64Array(index.length * cols);
  for (let k = 0; k < index.length; k++) {
    const i = index[k]!;
    data.set(design.data.subarray(i * cols, (i + 1) * cols), k * cols);
  }
  return { rows: index.length, cols, data, names: design.names };
}

/** Values of `values` at `index`, as a Float64Array. */
export function pick(values: ArrayLike<number>, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length);
  for (let k = 0; k < index.length; k++) out[k] = values[index[k]!]!;
  return out;
}

function defaultNames(cols: number, names?: readonly string[]): string[] {
  if (names && names.length !== cols) throw new ValidationError(`${names.length} feature names for ${cols} columns`, [{ path: 'featureNames', message: `must have ${cols} names` }]);
  return names ? [...names] : Array.from({ length: cols }, (_, j) => `x${j}`);
}
