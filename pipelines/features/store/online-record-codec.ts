// How the Redis online store lays out one (set, version, entity) value. JSON parsing and building
// 20-key objects were most of a 500-entity read's CPU, so the value is binary:
//   [0]      0xB1, the format marker (a JSON value of the first format starts with '{')
//   [1..8]   eventAt, float64 big-endian: the write script's event-time guard reads it with struct
//   [9..16]  createdAt, float64 big-endian
//   [17]     layout: 0 = JSON object name → value; 1 = msgpack array in the set's feature order
//   [18..21] layout 1 only: fingerprint (FNV-1a) of the ordered feature names the array follows
//   [...]    the values
// The array form drops the names (225 instead of 570 bytes in the bench) and decodes into objects
// built by one literal per feature list. A row that does not hold exactly the set's features, or
// whose set the store was not given, is written as a JSON object: JSON.parse builds objects with
// arbitrary keys faster than msgpackr does (measured: 3.9 against 3.1 ms of CPU per read).
import { Packr, Unpackr } from 'msgpackr';
import type { FeatureSetRef, FeatureValues } from '../feature-set.js';
import type { FeatureRow } from './feature-store.types.js';
import type { OnlineRecord } from './resolve-online-features.js';

export const BINARY_MARKER = 0xb1;
const JSON_START = 0x7b; // '{'
const HEADER = 18;
const LAYOUT_OBJECT = 0;
const LAYOUT_ARRAY = 1;

/** A feature list the array layout can follow, with the object builder for it. */
interface Layout {
  names: readonly string[];
  fingerprint: number;
  build: (xs: readonly unknown[]) => FeatureValues;
}

export interface OnlineRecordCodec {
  /** The binary value for a row, with `createdAt` as the time the store received it. */
  encode(row: FeatureRow, createdAt: number): Buffer;
  /** The JSON value of the first format ({e, c, v}), still written when asked (rolling deploys). */
  encodeJson(row: FeatureRow, createdAt: number): string;
  /** Either format; `set` is the set being read (it names the features of an array value). */
  decode(value: Buffer, set: FeatureSetRef): OnlineRecord;
}

/** FNV-1a over the names, NUL-separated (a name holds no NUL: it is a JS property name in practice). */
export function featureListFingerprint(names: readonly string[]): number {
  let h = 0x811c9dc5;
  for (const name of names) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0, 0x01000193);
  }
  return h >>> 0;
}

/**
 * One object literal with the names written out: every object gets the same hidden class at once,
 * where a loop of `values[name] = x` (a megamorphic keyed store) cost ~1 ms per 500 entities.
 * The names go in as JSON string literals, so no name can inject code.
 */
function compileBuild(names: readonly string[]): Layout['build'] {
  const body = `return {${names.map((n, i) => `${JSON.stringify(n)}: xs[${i}]`).join(', ')}};`;
  return new Function('xs', body) as Layout['build'];
}

/** Sets with a repeated name or '__proto__' (which a literal would take as the prototype) stay objects. */
function arrayable(names: readonly string[]): boolean {
  return names.length > 0 && !names.includes('__proto__') && new Set(names).size === names.length;
}

export function createOnlineRecordCodec(sets: readonly FeatureSetRef[] = []): OnlineRecordCodec {
  // useRecords false: plain msgpack arrays, readable by any msgpack decoder.
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false });
  const byNames = new Map<string, Layout>();
  const byFingerprint = new Map<number, Layout>();
  const bySet = new WeakMap<FeatureSetRef, Layout | null>();
  const writeLayouts = new Map<string, Layout>();

  function layoutOf(set: FeatureSetRef): Layout | null {
    let layout = bySet.get(set);
    if (layout !== undefined) return layout;
    const names = set.features.map((f) => f.name);
    layout = null;
    if (arrayable(names)) {
      const joined = names.join('\u0000');
      layout = byNames.get(joined) ?? null;
      if (!layout) {
        layout = { names, fingerprint: featureListFingerprint(names), build: compileBuild(names) };
        byNames.set(joined, layout);
        if (!byFingerprint.has(layout.fingerprint)) byFingerprint.set(layout.fingerprint, layout);
      }
    }
    bySet.set(set, layout);
    return layout;
  }
  for (const s of sets) {
    const layout = layoutOf(s);
    if (layout) writeLayouts.set(`${s.name}\u0000${s.version}`, layout);
  }

  /** The row's layout when it holds exactly the set's features, else null (an object then). */
  function writeLayoutOf(row: FeatureRow): Layout | null {
    const layout = writeLayouts.get(`${row.featureSet}\u0000${row.version}`);
    if (!layout) return null;
    let held = 0;
    for (const name in row.values) if (Object.hasOwn(row.values, name)) held++;
    if (held !== layout.names.length) return null;
    for (const name of layout.names) if (!Object.hasOwn(row.values, name)) return null;
    return layout;
  }

  return {
    encode(row, createdAt) {
      const layout = writeLayoutOf(row);
      const body = layout ? packr.pack(layout.names.map((n) => row.values[n])) : Buffer.from(JSON.stringify(row.values), 'utf8');
      const head = layout ? HEADER + 4 : HEADER;
      // Copied out: pack() may hand back a view of a buffer it reuses.
      const out = Buffer.allocUnsafe(head + body.length);
      out[0] = BINARY_MARKER;
      out.writeDoubleBE(row.eventAt, 1);
      out.writeDoubleBE(createdAt, 9);
      out[17] = layout ? LAYOUT_ARRAY : LAYOUT_OBJECT;
      if (layout) out.writeUInt32BE(layout.fingerprint, HEADER);
      out.set(body, head);
      return out;
    },

    encodeJson(row, createdAt) {
      return JSON.stringify({ e: row.eventAt, c: createdAt, v: row.values });
    },

    decode(value, set) {
      if (value[0] === JSON_START) {
        const s = JSON.parse(value.toString('utf8')) as { e: number; c: number; v: FeatureValues };
        return { eventAt: s.e, createdAt: s.c, values: s.v };
      }
      if (value[0] !== BINARY_MARKER || value.length < HEADER) throw new Error(`online store value of unknown format (first byte ${value[0]})`);
      const eventAt = value.readDoubleBE(1);
      const createdAt = value.readDoubleBE(9);
      if (value[17] === LAYOUT_OBJECT) return { eventAt, createdAt, values: JSON.parse(value.toString('utf8', HEADER)) as FeatureValues };
      const fingerprint = value.readUInt32BE(HEADER);
      const own = layoutOf(set);
      const layout = own?.fingerprint === fingerprint ? own : byFingerprint.get(fingerprint);
      if (!layout) {
        throw new Error(`online value of ${set.name}@v${set.version} follows a feature list this process does not know `
          + `(fingerprint ${fingerprint}): were the set's features changed without a new version?`);
      }
      const xs = unpackr.unpack(value.subarray(HEADER + 4)) as unknown[];
      if (!Array.isArray(xs) || xs.length !== layout.names.length) throw new Error(`online value of ${set.name}@v${set.version} is corrupt`);
      return { eventAt, createdAt, values: layout.build(xs) };
    },
  };
}
