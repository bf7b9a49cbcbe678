import * as aq from 'arquero';
import { describe, expect, it } from 'vitest';
import { applyEncoding, encodeTable, encodeValues, fitEncoding } from '../../../model-registry/training/encode-table.js';
import { appendHashedColumns, hashBucket, hashFeatures } from '../../../model-registry/training/hash-features.js';
import { designFromRows } from '../../../model-registry/training/design.js';
import { fitLogistic, predictLogistic } from '../../../model-registry/training/logistic-regression.js';
import { ValidationError } from '../../../platform/errors/app-error.js';

// A dataset table as loadDataset returns it: an id, a label, and features of each storage type.
const table = aq.table({
  id: ['r1', 'r2', 'r3', 'r4', 'r5'],
  label: [1, 0, 1, 0, 1],
  'f__rate': [10, null, 20, 30, null],
  'f__verified': [true, false, null, true, true],
  'f__country': ['DE', 'FR', 'DE', null, 'US'],
  'f__skills': ['["ts","sql"]', '[]', null, '["go"]', '["a","b","c"]'],
});
const columns = [
  { name: 'id', type: 'string' as const, role: 'id' as const },
  { name: 'label', type: 'float' as const, role: 'label' as const },
  { name: 'f__rate', type: 'float' as const, role: 'feature' as const },
  { name: 'f__verified', type: 'bool' as const, role: 'feature' as const },
  { name: 'f__country', type: 'string' as const, role: 'feature' as const },
  { name: 'f__skills', type: 'json' as const, role: 'feature' as const },
];

describe('encodeTable', () => {
  const { encoding, design } = encodeTable(table, { columns, topK: 2 });

  it('encodes numbers with mean imputation and a missing indicator, bools as 0/1, top-K one-hots and list lengths', () => {
    expect(design.names).toEqual([
      'f__rate', 'f__rate__missing',
      'f__verified', 'f__verified__missing',
      'f__country=DE', 'f__country=FR', 'f__country=__other__',
      'f__skills__len', 'f__skills__missing',
    ]);
    const row = (i: number) => Array.from(design.data.subarray(i * design.cols, (i + 1) * design.cols));
    // rate mean over non-null = (10 + 20 + 30) / 3 = 20; verified mean = 3/4; lengths mean = (2 + 0 + 1 + 3) / 4 = 1.5.
    // Top 2 countries: DE (2), then FR and US tie at 1 and FR wins by name; US and null go to other.
    expect(row(0)).toEqual([10, 0, 1, 0, 1, 0, 0, 2, 0]);
    expect(row(1)).toEqual([20, 1, 0, 0, 0, 1, 0, 0, 0]);
    expect(row(2)).toEqual([20, 0, 0.75, 1, 1, 0, 0, 1.5, 1]);
    expect(row(3)).toEqual([30, 0, 1, 0, 0, 0, 1, 1, 0]);
    expect(row(4)).toEqual([20, 1, 1, 0, 0, 0, 1, 3, 0]);
  });

  it('leaves out id, label and other non-feature columns', () => {
    expect(encoding.columns.map((c) => c.name)).toEqual(['f__rate', 'f__verified', 'f__country', 'f__skills']);
  });

  it('encodes one served row exactly as the table row', () => {
    const served = encodeValues(encoding, { f__rate: null, f__verified: true, f__country: 'US', f__skills: ['a', 'b', 'c'] });
    expect(Array.from(served)).toEqual(Array.from(design.data.subarray(4 * design.cols, 5 * design.cols)));
    // An absent value is a null; an unseen category goes to other.
    expect(Array.from(encodeValues(encoding, { f__country: 'JP' }))).toEqual([20, 1, 0.75, 1, 0, 0, 1, 1.5, 1]);
  });

  it('fits the encoding on the training rows only', () => {
    const enc = fitEncoding(table, { columns, rows: [0, 2, 3] });
    const rate = enc.columns.find((c) => c.name === 'f__rate');
    expect(rate).toEqual({ name: 'f__rate', kind: 'numeric', mean: 20, missingIndicator: false });
    const all = applyEncoding(enc, table);
    expect(all.data[1 * all.cols]).toBe(20);   // row 2's null imputed with the training mean, no indicator
  });

  it('reads typed dataset columns (NaN and −1 as nulls) and infers types without a spec', () => {
    const { design: d } = encodeTable({ x: Float64Array.from([1, NaN, 3]), b: Int8Array.from([1, -1, 0]) });
    expect(d.names).toEqual(['x', 'x__missing', 'b', 'b__missing']);
    expect(Array.from(d.data)).toEqual([1, 0, 1, 0, 2, 1, 0.5, 1, 3, 0, 0, 0]);
  });

  it('names a missing column', () => {
    expect(() => encodeTable(table, { columns: [{ name: 'nope', type: 'float', role: 'feature' }] })).toThrow(ValidationError);
  });

  it('feeds a model that serves raw values through its stored encoding', () => {
    const y = table.array('label') as number[];
    const model = fitLogistic(design, y, { l2: 1, encoding });
    const fromTable = predictLogistic(model, design);
    const served = predictLogistic(model, [Array.from(encodeValues(model.encoding!, { f__rate: 10, f__verified: true, f__country: 'DE', f__skills: '["ts","sql"]' }))]);
    expect(served[0]).toBeCloseTo(fromTable[0]!, 12);
  });
});

describe('hashFeatures', () => {
  it('uses the feature pipeline FNV-1a: stable buckets', () => {
    // FNV-1a 32 of "a" is 0xe40c292c = 3826002220 (the published test vector).
    expect(hashBucket('a', 2 ** 32)).toBe(0xe40c292c);
    expect(hashBucket('a', 100)).toBe(3826002220 % 100);
  });

  it('gives sparse rows and appends them as one-hot columns', () => {
    const h = hashFeatures(['a', null, ['a', 'b']], 8);
    expect(Array.from(h.offsets)).toEqual([0, 1, 1, 3]);
    expect(Array.from(h.indices)).toEqual([hashBucket('a', 8), hashBucket('a', 8), hashBucket('b', 8)]);
    const d = appendHashedColumns(designFromRows([[5], [6], [7]], ['x']), h, 'dev');
    expect(d.cols).toBe(9);
    expect(d.names[1]).toBe('dev#0');
    expect(d.data[2 * 9 + 1 + hashBucket('b', 8)]).toBeGreaterThanOrEqual(1);
    expect(d.data.subarray(9, 18).reduce((s, v) => s + v, 0)).toBe(6);   // row 1: only x = 6
  });

  it('refuses more buckets than a dense Newton system can take', () => {
    expect(() => appendHashedColumns(designFromRows([[1]]), hashFeatures(['a'], 2 ** 20), 'x')).toThrow(/buckets/);
  });
});

describe('hashed columns', () => {
  it('one-hot a hashed cross into its folded bucket, strings hashed, nulls in no bucket, the same when serving', () => {
    const source = { cross: [5, 1_048_575, null, 13], tag: ['a', 'b', 'a', null] };
    const { encoding, design } = encodeTable(source, { hashed: { cross: 4, tag: 8 } });
    expect(encoding.featureNames.slice(0, 4)).toEqual(['cross#0', 'cross#1', 'cross#2', 'cross#3']);
    const row = (i: number) => Array.from(design.data.subarray(i * design.cols, (i + 1) * design.cols));
    expect(row(0).slice(0, 4)).toEqual([0, 1, 0, 0]); // 5 mod 4 = 1
    expect(row(1).slice(0, 4)).toEqual([0, 0, 0, 1]); // 1,048,575 mod 4 = 3
    expect(row(2).slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(row(0).slice(4)).toEqual(row(2).slice(4)); // the same string, the same bucket
    expect(row(0).slice(4).reduce((a, b) => a + b, 0)).toBe(1);
    expect(Array.from(encodeValues(encoding, { cross: 13, tag: null }))).toEqual(row(3));
    expect(() => encodeTable(source, { hashed: { cross: 1 } })).toThrow(/2–262144 buckets/);
    // Wider than a dense design holds: fitted, but only the sparse encoder takes it.
    expect(() => encodeTable(source, { hashed: { cross: 4096 } })).toThrow(/applyEncodingSparse/);
  });
});
