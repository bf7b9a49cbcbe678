// Design columns back to the raw features they encode, so an explanation speaks of "country", not
// of `country=DE` and `country=__other__` separately: the φ of a raw feature is the sum over its
// columns (Shapley values of a group add up). The model's TableEncoding says exactly which columns
// a feature produced; without one, the encoder's naming (`name__missing`, `name=cat`, `name#b`,
// `name__len`) is read back from the column names.
import type { TableEncoding } from '../../../model-registry/training/encode-table.js';

export interface FeatureGroups {
  /** Raw feature names, in the order their first column appears. */
  readonly features: readonly string[];
  /** Readable label per raw feature. */
  readonly labels: readonly string[];
  /** The raw feature (index into `features`) of each design column. */
  readonly groupOf: Int32Array;
  /** The design column holding a numeric raw feature's own value (the column named as the feature), else −1. */
  readonly valueColumn: Int32Array;
  /** Its `__missing` indicator column, else −1. */
  readonly missingColumn: Int32Array;
}

/** The raw feature a design column belongs to, from the encoder's naming alone. */
export function rawFeatureOf(column: string): string {
  const hashed = /^(.+)#\d+$/.exec(column);
  if (hashed) return hashed[1]!;
  const eq = column.indexOf('=');
  if (eq > 0) return column.slice(0, eq);
  for (const suffix of ['__missing', '__len']) {
    if (column.endsWith(suffix) && column.length > suffix.length) return column.slice(0, -suffix.length);
  }
  return column;
}

/** `provider_profile__smoothed_rating` → "smoothed rating": the feature-set prefix dropped, words spaced. */
export function featureLabel(feature: string): string {
  const at = feature.indexOf('__');
  const short = at > 0 && at + 2 < feature.length ? feature.slice(at + 2) : feature;
  return short.replace(/_+/g, ' ').trim();
}

/** Every design column name an encoding produces, with its raw feature (mirrors encode-table's naming). */
function encodedColumns(encoding: TableEncoding): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of encoding.columns) {
    if (c.kind === 'hashed') for (let b = 0; b < c.buckets; b++) out.set(`${c.name}#${b}`, c.name);
    else if (c.kind === 'categorical') for (const v of [...c.categories, '__other__']) out.set(`${c.name}=${v}`, c.name);
    else {
      out.set(c.kind === 'list_length' ? `${c.name}__len` : c.name, c.name);
      if (c.missingIndicator) out.set(`${c.name}__missing`, c.name);
    }
  }
  return out;
}

/** Groups a model's design columns by raw feature (the encoding's own mapping first, naming as the fallback). */
export function groupDesignColumns(featureNames: readonly string[], encoding?: TableEncoding): FeatureGroups {
  const known = encoding ? encodedColumns(encoding) : new Map<string, string>();
  const index = new Map<string, number>();
  const features: string[] = [];
  const groupOf = new Int32Array(featureNames.length);
  featureNames.forEach((column, j) => {
    const feature = known.get(column) ?? rawFeatureOf(column);
    let g = index.get(feature);
    if (g === undefined) { g = features.length; index.set(feature, g); features.push(feature); }
    groupOf[j] = g;
  });
  const valueColumn = new Int32Array(features.length).fill(-1);
  const missingColumn = new Int32Array(features.length).fill(-1);
  featureNames.forEach((column, j) => {
    const g = groupOf[j]!;
    if (column === features[g]) valueColumn[g] = j;
    else if (column === `${features[g]}__missing`) missingColumn[g] = j;
  });
  return { features, labels: features.map(featureLabel), groupOf, valueColumn, missingColumn };
}
