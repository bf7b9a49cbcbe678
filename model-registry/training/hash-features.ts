// Hashed categorical features (ads: device, placement, advertiser × category crosses) with the same
// FNV-1a the feature pipeline uses, so a bucket means the same thing in training and serving.
// A dense design holds hashed buckets as one-hot columns: fine up to MAX_DENSE_BUCKETS; wider
// hashings (up to MAX_HASHED_BUCKETS, the feature store's 2^20 cross buckets folded by
// bucket % buckets) go into a sparse design (encode-table.ts applyEncodingSparse) and are
// fitted by L-BFGS.
import { fnv1a32 } from '../../pipelines/features/definitions/ads-features.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Design } from './design.js';

export const MAX_DENSE_BUCKETS = 1024;
/** The widest hashing the sparse path takes (2^18 buckets). */
export const MAX_HASHED_BUCKETS = 2 ** 18;

/** Sparse rows in CSR form: row i's active buckets are indices[offsets[i] .. offsets[i+1]). */
export interface HashedRows { buckets: number; offsets: Int32Array; indices: Int32Array }

export function hashBucket(value: string, buckets: number): number {
  return fnv1a32(value) % buckets;
}

/** Each row's value (or list of values) hashed to buckets; null or empty contributes none. */
export function hashFeatures(values: readonly (string | readonly string[] | null | undefined)[], buckets: number): HashedRows {
  if (!(Number.isInteger(buckets) && buckets >= 1)) throw new ValidationError('buckets must be an integer ≥ 1', [{ path: 'buckets', message: 'must be an integer ≥ 1' }]);
  const offsets = new Int32Array(values.length + 1);
  const indices: number[] = [];
  values.forEach((v, i) => {
    if (typeof v === 'string') indices.push(hashBucket(v, buckets));
    else if (v) for (const x of v) indices.push(hashBucket(x, buckets));
    offsets[i + 1] = indices.length;
  });
  return { buckets, offsets, indices: Int32Array.from(indices) };
}

/** The design with the hashed rows appended as one-hot (count, for repeated buckets) columns `prefix#b`. */
export function appendHashedColumns(design: Design, hashed: HashedRows, prefix: string): Design {
  const { buckets } = hashed;
  if (buckets > MAX_DENSE_BUCKETS) throw new ValidationError(`${buckets} buckets is too many for a dense design (at most ${MAX_DENSE_BUCKETS})`, [{ path: 'buckets', message: `must be ≤ ${MAX_DENSE_BUCKETS}` }]);
  if (hashed.offsets.length !== design.rows + 1) throw new ValidationError(`hashed rows (${hashed.offsets.length - 1}) and design rows (${design.rows}) differ`, [{ path: 'hashed', message: `must have ${design.rows} rows` }]);
  const cols = design.cols + buckets;
  const data = new Float64Array(design.rows * cols);
  for (let i = 0; i < design.rows; i++) {
    data.set(design.data.subarray(i * design.cols, (i + 1) * design.cols), i * cols);
    for (let k = hashed.offsets[i]!; k < hashed.offsets[i + 1]!; k++) data[i * cols + design.cols + hashed.indices[k]!]! += 1;
  }
  const names = [...design.names, ...Array.from({ length: buckets }, (_, b) => `${prefix}#${b}`)];
  return { rows: design.rows, cols, data, names };
}
