// The point-in-time join: for a label at time t, the values of the latest history row with
// event_at ≤ t AND created_at ≤ t (a backfill written after t cannot leak into the row), each
// feature null once t − event_at exceeds its TTL. History is loaded per set in one pass into
// per-entity arrays, so a label costs one binary search per joined set, never a query.
import type { FeatureSetRef, FeatureType, FeatureValue, FeatureValues } from '../features/feature-set.js';
import type { RawHistoryRow } from '../features/store/offline-store.repository.js';

/** A set as the join needs it: identity, TTLs and (when known) each feature's type. */
export interface JoinSetRef extends FeatureSetRef {
  features: readonly { name: string; ttlMs: number | null; type?: FeatureType }[];
}

/** The value a history row held for a set, as of a label time; null when no row is eligible. */
export interface PointInTimeHit {
  eventAt: number;
  createdAt: number;
  /**
   * The set's values: null (or absent) when missing or past its TTL at the label time. Shared with
   * the index when nothing expired: read-only.
   */
  values: Readonly<FeatureValues>;
}

interface EntityHistory {
  eventAt: number[];
  createdAt: number[];
  values: FeatureValues[];
  /** Set by seal(): max(event_at, created_at) ascending, the time from which a row is visible. */
  visibleAt?: Float64Array;
  /** Set by seal(): best[i] = the row with the latest event_at among rows 0..i (all visible by visibleAt[i]). */
  best?: Int32Array;
}

/**
 * The history of one feature set, indexed per entity. A row is eligible at t exactly when
 * max(event_at, created_at) ≤ t, so sorting an entity's rows by that time makes the eligible rows a
 * prefix; a prefix maximum of event_at then answers "latest eligible row" with one binary search.
 */
export class HistoryIndex {
  private readonly entities = new Map<string, EntityHistory>();
  private sealed = false;
  rows = 0;

  /** The shortest TTL of the set's features (Infinity when none expires). */
  private readonly minTtl: number;

  constructor(readonly set: JoinSetRef) {
    this.minTtl = Math.min(Infinity, ...set.features.map((f) => f.ttlMs ?? Infinity));
  }

  add(row: RawHistoryRow | { entityKey: string; eventAt: number; createdAt: number; values: FeatureValues }): void {
    if (this.sealed) throw new Error('history index is sealed');
    let e = this.entities.get(row.entityKey);
    if (!e) this.entities.set(row.entityKey, e = { eventAt: [], createdAt: [], values: [] });
    e.eventAt.push(row.eventAt);
    e.createdAt.push(row.createdAt);
    // Parsed as it streams in: the scan waits on the server between chunks anyway.
    e.values.push('valuesJson' in row ? JSON.parse(row.valuesJson) as FeatureValues : row.values);
    this.rows++;
  }

  get entityCount(): number { return this.entities.size; }

  /** Builds the per-entity lookup arrays; called once, after the last add. */
  seal(): this {
    for (const e of this.entities.values()) {
      const n = e.eventAt.length;
      const visible = new Float64Array(n);
      let sorted = true;
      for (let i = 0; i < n; i++) {
        visible[i] = Math.max(e.eventAt[i]!, e.createdAt[i]!);
        if (i > 0 && (visible[i]! < visible[i - 1]! || (visible[i] === visible[i - 1] && e.eventAt[i]! < e.eventAt[i - 1]!))) sorted = false;
      }
      if (!sorted) { // backfills arrive late: reorder this entity's rows by visibility time
        const order = Array.from({ length: n }, (_, i) => i)
          .sort((a, b) => visible[a]! - visible[b]! || e.eventAt[a]! - e.eventAt[b]! || e.createdAt[a]! - e.createdAt[b]!);
        e.eventAt = order.map((i) => e.eventAt[i]!);
        e.createdAt = order.map((i) => e.createdAt[i]!);
        e.values = order.map((i) => e.values[i]!);
        for (let i = 0; i < n; i++) visible[i] = Math.max(e.eventAt[i]!, e.createdAt[i]!);
      }
      const best = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const prev = i === 0 ? -1 : best[i - 1]!;
        // Equal event times: the later-created row (a correction) wins.
        best[i] = prev >= 0 && (e.eventAt[prev]! > e.eventAt[i]! || (e.eventAt[prev] === e.eventAt[i] && e.createdAt[prev]! > e.createdAt[i]!)) ? prev : i;
      }
      e.visibleAt = visible;
      e.best = best;
    }
    this.sealed = true;
    return this;
  }

  /** The set's values for `entityKey` as of `t`, TTL applied per feature; null when nothing is eligible. */
  lookup(entityKey: string | null | undefined, t: number): PointInTimeHit | null {
    if (!this.sealed) throw new Error('history index used before seal()');
    if (entityKey === null || entityKey === undefined) return null;
    const e = this.entities.get(entityKey);
    if (!e) return null;
    const visible = e.visibleAt!;
    let lo = 0;
    let hi = visible.length - 1;
    let at = -1;
    while (lo <= hi) { // last i with visibleAt[i] ≤ t
      const mid = (lo + hi) >> 1;
      if (visible[mid]! <= t) { at = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (at < 0) return null;
    const i = e.best![at]!;
    const stored = e.values[i]!;
    const eventAt = e.eventAt[i]!;
    const age = t - eventAt;
    // Nothing expired (the common case): the stored object itself, no copy per label.
    if (age <= this.minTtl) return { eventAt, createdAt: e.createdAt[i]!, values: stored };
    const values: FeatureValues = {};
    for (const f of this.set.features) {
      const v = stored[f.name];
      values[f.name] = v === undefined || (f.ttlMs !== null && age > f.ttlMs) ? null : v;
    }
    return { eventAt, createdAt: e.createdAt[i]!, values };
  }

  /**
   * A cursor over every entity's value of one feature as time moves forward: at(t) returns the map
   * entity → value as of t (same eligibility rule as lookup). For values a computation needs across
   * all entities at once (the IDF of every skill); t must not decrease between calls, or it rescans.
   */
  cursor(feature: string): { at(t: number): ReadonlyMap<string, FeatureValue> } {
    const f = this.set.features.find((x) => x.name === feature);
    if (!f) throw new Error(`${this.set.name} has no feature ${feature}`);
    if (f.ttlMs !== null) throw new Error(`cursor over ${this.set.name}.${feature}: only for features without a TTL`);
    const all: { key: string; e: EntityHistory; i: number }[] = [];
    for (const [key, e] of this.entities) for (let i = 0; i < e.eventAt.length; i++) all.push({ key, e, i });
    all.sort((a, b) => a.e.visibleAt![a.i]! - b.e.visibleAt![b.i]!);
    let next = 0;
    let last = -Infinity;
    const latest = new Map<string, number>();
    const values = new Map<string, FeatureValue>();
    return {
      at: (t) => {
        if (t < last) { next = 0; latest.clear(); values.clear(); }
        last = t;
        for (; next < all.length && all[next]!.e.visibleAt![all[next]!.i]! <= t; next++) {
          const { key, e, i } = all[next]!;
          const prev = latest.get(key);
          if (prev !== undefined && prev > e.eventAt[i]!) continue; // an older backfill: the newer value stands
          const stored = e.values[i]!;
          latest.set(key, e.eventAt[i]!);
          const v = stored[feature];
          if (v === undefined || v === null) values.delete(key); else values.set(key, v);
        }
        return values;
      },
    };
  }
}

/** Loads a set's history from an ordered scan into a sealed index. */
export async function loadHistoryIndex(set: JoinSetRef, rows: AsyncIterable<RawHistoryRow>, onRow?: (n: number) => void): Promise<HistoryIndex> {
  const index = new HistoryIndex(set);
  for await (const row of rows) {
    index.add(row);
    if (onRow && index.rows % 50_000 === 0) onRow(index.rows);
  }
  onRow?.(index.rows);
  return index.seal();
}

/**
 * The earliest event time that can still matter for labels at or after `from`: a row older than
 * every feature's TTL yields only nulls. Undefined when some feature never expires.
 */
export function oldestUsefulEventAt(set: JoinSetRef, from: number): number | undefined {
  let maxTtl = 0;
  for (const f of set.features) {
    if (f.ttlMs === null) return undefined;
    maxTtl = Math.max(maxTtl, f.ttlMs);
  }
  return from - maxTtl;
}

// --- columns ----------------------------------------------------------------------------------

/** Storage type of a dataset column; lists and maps are stored as JSON text ('json'). */
export type ColumnType = 'float' | 'bool' | 'string' | 'json';
export type ColumnRole = 'id' | 'label_time' | 'label' | 'evaluation' | 'feature';

/**
 * A column's values: floats in a Float64Array (NaN = null), booleans in an Int8Array (1, 0, −1 =
 * null), text in an array. Typed arrays because half a million rows × dozens of columns of boxed
 * numbers in plain arrays spend most of a build in the garbage collector.
 */
export type ColumnValues = Float64Array | Int8Array | (string | null)[];

export interface ColumnSpec { name: string; type: ColumnType; role: ColumnRole }
export interface DatasetColumn extends ColumnSpec { values: ColumnValues }

export function columnTypeOf(t: FeatureType | undefined): ColumnType | undefined {
  switch (t) {
    case 'float': case 'int': return 'float';
    case 'bool': return 'bool';
    case 'string': return 'string';
    case 'string_list': case 'float_list': return 'json';
    default: return undefined;
  }
}

/** A float column from numbers and nulls (labels, times). */
export function floatColumn(values: ArrayLike<number | null>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) { const v = values[i]; out[i] = v === null || v === undefined ? NaN : v; }
  return out;
}

/** The value of row `r` as a plain cell (null for a missing value). */
export function cellAt(c: DatasetColumn, r: number): number | boolean | string | null {
  const v = c.values[r];
  if (c.values instanceof Float64Array) return Number.isNaN(v) ? null : v as number;
  if (c.values instanceof Int8Array) return v === -1 ? null : v === 1;
  return (v as string | null | undefined) ?? null;
}

/** Fills one column row by row, typed from the declaration or, without one, from the first value seen. */
class ColumnBuilder {
  values: ColumnValues | undefined;
  private readonly json = new WeakMap<object, string>();

  constructor(private readonly n: number, public type: ColumnType | undefined) {
    if (type) this.values = ColumnBuilder.alloc(type, n);
  }

  private static alloc(type: ColumnType, n: number): ColumnValues {
    if (type === 'float') return new Float64Array(n).fill(NaN);
    if (type === 'bool') return new Int8Array(n).fill(-1);
    return new Array<string | null>(n).fill(null);
  }

  set(r: number, v: FeatureValue | undefined): void {
    if (v === null || v === undefined) return;
    if (!this.type) {
      this.type = typeof v === 'number' ? 'float' : typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'string' : 'json';
      this.values = ColumnBuilder.alloc(this.type, this.n);
    }
    switch (this.type) {
      case 'float': {
        const x = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
        (this.values as Float64Array)[r] = Number.isFinite(x) ? x : NaN;
        return;
      }
      case 'bool': {
        const b = typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : v === 'true' ? true : v === 'false' ? false : null;
        (this.values as Int8Array)[r] = b === null ? -1 : b ? 1 : 0;
        return;
      }
      default:
        (this.values as (string | null)[])[r] = typeof v === 'string' ? v : typeof v === 'object' ? this.text(v) : String(v);
    }
  }

  /** Rows that chose the same history row share its list: stringify it once (the Arrow dictionary then meets the same string again). */
  private text(v: object): string {
    let t = this.json.get(v);
    if (t === undefined) this.json.set(v, t = JSON.stringify(v));
    return t;
  }

  finish(): { type: ColumnType; values: ColumnValues; nulls: number } {
    const type = this.type ?? 'float';
    const values = this.values ?? ColumnBuilder.alloc(type, this.n);
    let nulls = 0;
    if (values instanceof Float64Array) { for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) nulls++; }
    else if (values instanceof Int8Array) { for (let i = 0; i < values.length; i++) if (values[i] === -1) nulls++; }
    else for (let i = 0; i < values.length; i++) if (values[i] === null) nulls++;
    return { type, values, nulls };
  }
}

// --- the join ---------------------------------------------------------------------------------

/** The labels to join features to: a row per label, its time, and the columns it carries. */
export interface LabelFrame {
  rows: number;
  labelAt: ArrayLike<number>;
  /** Carried in order before the features: ids, label time, label, evaluation-only columns. */
  columns: DatasetColumn[];
}

/** A stored set joined point in time on an entity key column of the labels. */
export interface SetJoin {
  index: HistoryIndex;
  /** Name of the label column holding the entity key. */
  keyColumn: string;
  /** Column prefix (default: the set's name): columns are `<prefix>__<feature>`. */
  prefix?: string;
}

/** A request-time set: computed per row from the values joined for that row. */
export interface DerivedSet {
  set: JoinSetRef;
  prefix?: string;
  /** `joined` maps each SetJoin's prefix to its values (null when nothing was eligible). */
  compute: (row: number, joined: Readonly<Record<string, FeatureValues | null>>, labelAt: number) => FeatureValues;
}

export interface JoinResult {
  columns: DatasetColumn[];
  /** Share of rows where each feature column is null. */
  nullRates: Record<string, number>;
}

/**
 * Joins every label row with each set as of its label time, then computes the derived sets from
 * the joined values. Output columns: the label frame's, then `<prefix>__<feature>` per set.
 */
export function pointInTimeJoin(labels: LabelFrame, joins: readonly SetJoin[], derived: readonly DerivedSet[] = [],
  onProgress?: (done: number, total: number) => void): JoinResult {
  const n = labels.rows;
  const keyCols: ColumnValues[] = joins.map((j) => {
    const col = labels.columns.find((c) => c.name === j.keyColumn);
    if (!col) throw new Error(`label frame has no column ${j.keyColumn}`);
    return col.values;
  });
  const prefixes = [...joins.map((j) => j.prefix ?? j.index.set.name), ...derived.map((d) => d.prefix ?? d.set.name)];
  if (new Set(prefixes).size !== prefixes.length) throw new Error(`duplicate set prefix in ${prefixes.join(', ')}`);
  const sets = [...joins.map((j) => j.index.set), ...derived.map((d) => d.set)];
  const builders = sets.map((s) => s.features.map((f) => new ColumnBuilder(n, columnTypeOf(f.type))));

  const joined: Record<string, FeatureValues | null> = {};
  for (let r = 0; r < n; r++) {
    const t = labels.labelAt[r]!;
    for (let s = 0; s < joins.length; s++) {
      const key = keyCols[s]![r];
      const hit = joins[s]!.index.lookup(key === null || key === undefined ? null : String(key), t);
      joined[prefixes[s]!] = hit ? hit.values : null;
      if (!hit) continue;
      const feats = sets[s]!.features, out = builders[s]!;
      for (let f = 0; f < feats.length; f++) out[f]!.set(r, hit.values[feats[f]!.name]);
    }
    for (let d = 0; d < derived.length; d++) {
      const s = joins.length + d;
      const values = derived[d]!.compute(r, joined, t);
      const feats = sets[s]!.features, out = builders[s]!;
      for (let f = 0; f < feats.length; f++) out[f]!.set(r, values[feats[f]!.name]);
    }
    if (onProgress && (r + 1) % 25_000 === 0) onProgress(r + 1, n);
  }
  onProgress?.(n, n);

  const columns: DatasetColumn[] = [...labels.columns];
  const nullRates: Record<string, number> = {};
  sets.forEach((set, s) => set.features.forEach((f, fi) => {
    const name = `${prefixes[s]}__${f.name}`;
    const { type, values, nulls } = builders[s]![fi]!.finish();
    nullRates[name] = n === 0 ? 0 : nulls / n;
    columns.push({ name, type, role: 'feature', values });
  }));
  return { columns, nullRates };
}
