// Building and loading dataset snapshots: labels from the source tables, features joined point
// in time from the offline store, rows written as one Arrow file whose hash the snapshot records
// with the feature sets (versions and schema hashes) it was built from: the lineage a model
// version carries into the registry.
import { join } from 'node:path';
import type { Db } from '../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.js';
import { combinedSchemaHash, schemaHash, type FeatureDefinition, type FeatureSet } from '../features/feature-set.js';
import { scanHistory } from '../features/store/offline-store.repository.js';
import { DatasetIntegrityError } from './dataset.errors.js';
import { decodeDataset, encodeDataset, readDatasetFile, sha256, writeDatasetFile, type ArqueroTable } from './dataset-file.js';
import { getSnapshot, insertSnapshot, listSnapshots, type LabelWindow } from './dataset.repository.js';
import type { DatasetSnapshotTable } from './dataset.table.js';
import {
  cellAt, loadHistoryIndex, oldestUsefulEventAt, pointInTimeJoin,
  type ColumnSpec, type DerivedSet, type HistoryIndex, type JoinSetRef, type LabelFrame,
} from './point-in-time-join.js';

export const DATASET_KINDS = ['matching', 'ads'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** A feature set as a spec names it: what its schema hash covers (identity, each feature's name, type and TTL). */
export type DatasetFeatureSet = Pick<FeatureSet<never>, 'name' | 'version' | 'entity' | 'source'>
  & { features: readonly Pick<FeatureDefinition<never>, 'name' | 'type' | 'ttlMs'>[] };

/** What one kind of training set is: its labels, the sets joined on them and the ones computed per row. */
export interface DatasetSpec {
  kind: DatasetKind;
  readLabels(db: Db, w: LabelWindow): Promise<LabelFrame>;
  /** Stored sets joined point in time on a label column holding their entity key. */
  joins: readonly { set: DatasetFeatureSet; keyColumn: string }[];
  /** Stored sets loaded but not joined on a key: the derived sets look values up in them (skill IDF). */
  lookups?: readonly DatasetFeatureSet[];
  /** Request-time sets, computed per row from the joined values (and lookups, as of the label time). */
  derived?: (db: Db, w: LabelWindow, labels: LabelFrame, lookups: ReadonlyMap<string, HistoryIndex>) => Promise<DerivedSet[]>;
  /** The request-time sets `derived` computes, for lineage. */
  derivedSets?: readonly DatasetFeatureSet[];
}

export interface FeatureSetLineage { name: string; version: number; schemaHash: string }

export interface DatasetSnapshot {
  id: string;
  kind: DatasetKind;
  from: number;
  to: number;
  asOfCreated: boolean;
  createdAt: number;
  rowCount: number;
  /** Share of rows labelled 1; null for an empty set. */
  labelRate: number | null;
  featureSets: FeatureSetLineage[];
  /** combinedSchemaHash of every set's schema hash: what a model trained on this was trained on. */
  featureSetHash: string;
  /** sha256 of the Arrow file. */
  contentHash: string;
  /** Relative to the data directory (`config.data.dir`). */
  storagePath: string;
  byteSize: number;
  columns: ColumnSpec[];
  /** Share of null values per feature column. */
  nullRates: Record<string, number>;
  buildMs: number;
}

export type BuildPhase = 'labels' | 'history' | 'join' | 'write';
export type BuildProgress = (phase: BuildPhase, done: number, total: number, detail?: string) => void;

export interface BuildOptions {
  kind: DatasetKind;
  from: number;
  to: number;
  /** Also drop labels whose source rows were ingested after `to`: the set as it could have been built when the window closed. */
  asOfCreated?: boolean;
  /** The build time (tests pin it); default now. */
  now?: number;
}

export interface DatasetDeps {
  db: Db;
  /** `config.data.dir`: snapshots live under `<dataDir>/datasets/`. */
  dataDir: string;
  /** The kinds' specs (default: the matching and ads specs). */
  specs?: Readonly<Record<DatasetKind, DatasetSpec>>;
}

export interface BuildResult {
  snapshot: DatasetSnapshot;
  /** Wall time of each phase, ms (the join phase includes the request-time sets). */
  timings: Record<BuildPhase, number>;
  /** False when an identical snapshot (same id, same content) already existed. */
  created: boolean;
}

export function validateBuildOptions(o: { kind: unknown; from: unknown; to: unknown }): void {
  const problems: { path: string; message: string }[] = [];
  if (!DATASET_KINDS.includes(o.kind as DatasetKind)) problems.push({ path: 'kind', message: `must be one of ${DATASET_KINDS.join(', ')}` });
  const ok = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!ok(o.from)) problems.push({ path: 'from', message: 'must be a time (UTC milliseconds)' });
  if (!ok(o.to)) problems.push({ path: 'to', message: 'must be a time (UTC milliseconds)' });
  if (ok(o.from) && ok(o.to) && (o.to as number) <= (o.from as number)) problems.push({ path: 'to', message: 'must be after from' });
  if (problems.length) throw new ValidationError(`invalid dataset build: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
}

async function defaultSpecs(): Promise<Readonly<Record<DatasetKind, DatasetSpec>>> {
  const { DATASET_SPECS } = await import('./dataset-specs.js');
  return DATASET_SPECS;
}

/** Builds a snapshot of `kind` over [from, to), stores its file and row, and returns it. */
export async function buildDataset(deps: DatasetDeps, opts: BuildOptions, onProgress?: BuildProgress): Promise<BuildResult> {
  validateBuildOptions(opts);
  const started = performance.now();
  const spec = (deps.specs ?? await defaultSpecs())[opts.kind];
  const timings: Record<BuildPhase, number> = { labels: 0, history: 0, join: 0, write: 0 };
  const window: LabelWindow = { from: opts.from, to: opts.to, ...(opts.asOfCreated ? { ingestedBy: opts.to } : {}) };
  let t0 = performance.now();

  onProgress?.('labels', 0, 1);
  const labels = await spec.readLabels(deps.db, window);
  onProgress?.('labels', 1, 1, `${labels.rows} labels`);
  timings.labels = performance.now() - t0;

  // Labels fall in [from, to), so rows created or true at or after `to` can never be eligible.
  t0 = performance.now();
  const stored = [...spec.joins.map((j) => j.set), ...(spec.lookups ?? [])];
  const indexes = new Map<string, HistoryIndex>();
  for (const [i, set] of stored.entries()) {
    if (indexes.has(set.name)) continue;
    const ref = joinRef(set);
    const oldest = oldestUsefulEventAt(ref, opts.from);
    indexes.set(set.name, await loadHistoryIndex(ref, scanHistory(deps.db, {
      featureSet: set.name, version: set.version, eventAtOrBefore: opts.to, createdAtOrBefore: opts.to,
      ...(oldest !== undefined ? { eventAtOrAfter: oldest } : {}),
    }), (n) => onProgress?.('history', i, stored.length, `${set.name}: ${n} rows`)));
  }
  onProgress?.('history', stored.length, stored.length);
  timings.history = performance.now() - t0;

  t0 = performance.now();
  const joins = spec.joins.map((j) => ({ index: indexes.get(j.set.name)!, keyColumn: j.keyColumn }));
  const derived = await spec.derived?.(deps.db, window, labels, indexes) ?? [];
  const result = pointInTimeJoin(labels, joins, derived, (done, total) => onProgress?.('join', done, total));
  timings.join = performance.now() - t0;

  t0 = performance.now();
  onProgress?.('write', 0, 1);
  const bytes = encodeDataset(result.columns);
  const contentHash = sha256(bytes);
  const createdAt = opts.now ?? Date.now();
  const id = `ds_${opts.kind}_${stamp(createdAt)}_${contentHash.slice(0, 8)}`;
  const storagePath = `datasets/${id}.arrow`;

  const existing = await getSnapshot(deps.db, id);
  if (existing && existing.content_hash === contentHash) {
    onProgress?.('write', 1, 1);
    timings.write = performance.now() - t0;
    return { snapshot: toSnapshot(existing), timings, created: false };
  }
  await writeDatasetFile(join(deps.dataDir, storagePath), bytes);

  const featureSets = [...stored, ...(spec.derivedSets ?? [])]
    .filter((s, i, all) => all.findIndex((o) => o.name === s.name) === i)
    .map((s) => ({ name: s.name, version: s.version, schemaHash: schemaHash(s) }));
  const labelCol = result.columns.find((c) => c.role === 'label');
  let positives = 0;
  for (let r = 0; labelCol && r < labels.rows; r++) if (cellAt(labelCol, r) === 1) positives++;
  const snapshot: DatasetSnapshot = {
    id, kind: opts.kind, from: opts.from, to: opts.to, asOfCreated: opts.asOfCreated ?? false, createdAt,
    rowCount: labels.rows, labelRate: labels.rows ? positives / labels.rows : null,
    featureSets, featureSetHash: combinedSchemaHash(featureSets.map((s) => s.schemaHash)),
    contentHash, storagePath, byteSize: bytes.byteLength,
    columns: result.columns.map(({ name, type, role }) => ({ name, type, role })),
    nullRates: result.nullRates, buildMs: 0,
  };
  snapshot.buildMs = Math.round(performance.now() - started);
  await insertSnapshot(deps.db, toRow(snapshot));
  onProgress?.('write', 1, 1);
  timings.write = performance.now() - t0;
  return { snapshot, timings, created: true };
}

export interface LoadedDataset { snapshot: DatasetSnapshot; table: ArqueroTable }

/** The snapshot and its rows as an arquero table, after checking the file still hashes to its content hash. */
export async function loadDataset(deps: Pick<DatasetDeps, 'db' | 'dataDir'>, id: string): Promise<LoadedDataset> {
  const snapshot = await getDataset(deps, id);
  const path = join(deps.dataDir, snapshot.storagePath);
  let file: Awaited<ReturnType<typeof readDatasetFile>>;
  try {
    file = await readDatasetFile(path);
  } catch {
    throw new DatasetIntegrityError(`dataset ${id}: file ${path} cannot be read`, { id, expected: snapshot.contentHash, actual: null, path });
  }
  if (file.contentHash !== snapshot.contentHash) {
    throw new DatasetIntegrityError(`dataset ${id}: file ${path} does not match its content hash (changed since it was built)`,
      { id, expected: snapshot.contentHash, actual: file.contentHash, path });
  }
  return { snapshot, table: decodeDataset(file.bytes) };
}

export async function getDataset(deps: Pick<DatasetDeps, 'db'>, id: string): Promise<DatasetSnapshot> {
  const row = await getSnapshot(deps.db, id);
  if (!row) throw new NotFoundError(`no dataset snapshot ${id}`, { id });
  return toSnapshot(row);
}

export async function listDatasets(deps: Pick<DatasetDeps, 'db'>, q: { kind?: DatasetKind; limit?: number } = {}): Promise<DatasetSnapshot[]> {
  return (await listSnapshots(deps.db, q)).map(toSnapshot);
}

function joinRef(set: DatasetFeatureSet): JoinSetRef {
  return { name: set.name, version: set.version, features: set.features.map((f) => ({ name: f.name, ttlMs: f.ttlMs, type: f.type })) };
}

/** yyyymmddThhmm, UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-:]/g, '');
}

function toRow(s: DatasetSnapshot): DatasetSnapshotTable {
  return {
    id: s.id, kind: s.kind, from_at: s.from, to_at: s.to, as_of_created: s.asOfCreated ? 1 : 0, created_at: s.createdAt,
    row_count: s.rowCount, label_rate: s.labelRate, feature_sets: JSON.stringify(s.featureSets), feature_set_hash: s.featureSetHash,
    content_hash: s.contentHash, storage_path: s.storagePath, byte_size: s.byteSize, columns: JSON.stringify(s.columns),
    null_rates: JSON.stringify(s.nullRates), build_ms: s.buildMs,
  };
}

function toSnapshot(r: DatasetSnapshotTable): DatasetSnapshot {
  return {
    id: r.id, kind: r.kind as DatasetKind, from: Number(r.from_at), to: Number(r.to_at), asOfCreated: Number(r.as_of_created) === 1,
    createdAt: Number(r.created_at), rowCount: Number(r.row_count), labelRate: r.label_rate === null ? null : Number(r.label_rate),
    featureSets: JSON.parse(r.feature_sets) as FeatureSetLineage[], featureSetHash: r.feature_set_hash, contentHash: r.content_hash,
    storagePath: r.storage_path, byteSize: Number(r.byte_size), columns: JSON.parse(r.columns) as ColumnSpec[],
    nullRates: JSON.parse(r.null_rates) as Record<string, number>, buildMs: Number(r.build_ms),
  };
}
