// Feature drift: per feature, the population stability index between a training snapshot (what a
// model learnt from) and the values being served now. Computed by the `features.drift` job after
// each batch run (and on demand), stored, served at GET /v1/features/drift and exported as the
// gauge gigintel_feature_drift_psi, which every process reads from the database when scraped.
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../../../platform/db/database.js';
import { NotFoundError } from '../../../platform/errors/app-error.js';
import type { JobDefinition } from '../../../platform/queue/queue.types.js';
import { listDatasets, loadDataset, type DatasetKind } from '../../datasets/build-dataset.js';
import { FEATURE_SETS, type AnyFeatureSet } from '../definitions/catalog.js';
import type { FeatureType, FeatureValue } from '../feature-set.js';
import { resolveOnlineFeatures } from '../store/resolve-online-features.js';
import { currentValues, insertDrift, latestDrift, type DriftRow } from './drift.repository.js';
import { categoricalPsi, numericPsi, type DriftStatus, type PsiBin, type PsiResult } from './psi.js';

export interface FeatureDrift {
  featureSet: string;
  version: number;
  feature: string;
  psi: number | null;
  status: DriftStatus;
  referenceRows: number;
  currentRows: number;
  bins: PsiBin[];
}

export interface DriftReport {
  computedAt: number;
  /** The training snapshots compared against (the latest of each kind unless one was named). */
  datasets: string[];
  features: FeatureDrift[];
  summary: { stable: number; warning: number; drift: number; insufficient: number };
}

export interface FeaturesDriftPayload { datasetId?: string }
declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes { 'features.drift': FeaturesDriftPayload }
}

export const DRIFT_GAUGE = 'gigintel_feature_drift_psi';
const DEFAULT_MAX_ENTITIES = 200_000;
/** Identifiers and timestamps: their "distribution" moves by nature, not by drift. */
const NOT_DISTRIBUTIONS = /(_id|_ids|_at)$/;

export interface DriftDeps {
  db: Db;
  dataDir: string;
  registry?: Registry | null;
  sets?: readonly AnyFeatureSet[];
  maxEntities?: number;
  now?: () => number;
}

export type DriftService = ReturnType<typeof createDriftService>;

export function createDriftService(deps: DriftDeps) {
  const now = deps.now ?? Date.now;
  const catalog = deps.sets ?? FEATURE_SETS;
  if (deps.registry && !deps.registry.getSingleMetric(DRIFT_GAUGE)) {
    new Gauge({
      name: DRIFT_GAUGE, help: 'Population stability index of each feature: latest training snapshot vs values served now (≥ 0.25: drifted)',
      labelNames: ['feature_set', 'feature'] as const, registers: [deps.registry],
      async collect() {
        this.reset();
        const rows = await latestDrift(deps.db).catch(() => []); // a scrape must not fail on a database hiccup
        for (const r of rows) if (r.psi !== null) this.set({ feature_set: `${r.feature_set}@v${r.version}`, feature: r.feature }, r.psi);
      },
    });
  }

  function toReport(unsorted: readonly DriftRow[]): DriftReport {
    const key = (r: DriftRow) => `${r.feature_set}\u0000${r.feature}`;
    const rows = [...unsorted].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const features = rows.map((r) => ({
      featureSet: r.feature_set, version: Number(r.version), feature: r.feature, psi: r.psi, status: r.status as DriftStatus,
      referenceRows: Number(r.rows_reference), currentRows: Number(r.rows_current), bins: JSON.parse(r.bins) as PsiBin[],
    }));
    const summary = { stable: 0, warning: 0, drift: 0, insufficient: 0 };
    for (const f of features) summary[f.status]++;
    return { computedAt: rows[0]?.computed_at ?? 0, datasets: [...new Set(rows.map((r) => r.dataset_id))], features, summary };
  }

  return {
    /** Compares the named snapshot (default: the latest of each kind) with the current values, stores and returns the report. */
    async compute(opts: { datasetId?: string } = {}): Promise<DriftReport> {
      const ids = opts.datasetId ? [opts.datasetId] : await latestSnapshotIds(deps.db);
      if (ids.length === 0) throw new NotFoundError('no training snapshot to compare with; build one with gigintel dataset build', {});
      const at = now();
      const rows: DriftRow[] = [];
      for (const id of ids) {
        const { snapshot, table } = await loadDataset(deps, id);
        const columns = new Set(table.columnNames());
        for (const lineage of snapshot.featureSets) {
          const set = catalog.find((s) => s.name === lineage.name && s.version === lineage.version);
          if (!set || set.source === 'request') continue; // request-time sets are not stored, nothing to compare
          const current = await currentValues(deps.db, set.name, set.version, deps.maxEntities ?? DEFAULT_MAX_ENTITIES);
          const fresh = current.map((c) => resolveOnlineFeatures(set, c.entityKey, { eventAt: c.eventAt, createdAt: c.eventAt, values: c.values }, at).values);
          for (const f of set.features) {
            const column = `${set.name}__${f.name}`;
            if (!columns.has(column) || NOT_DISTRIBUTIONS.test(f.name)) continue;
            const reference = table.array(column) as ArrayLike<unknown>;
            const result = compare(f.type, Array.from(reference), fresh.map((v) => v[f.name] ?? null));
            rows.push({
              computed_at: at, dataset_id: id, feature_set: set.name, version: set.version, feature: f.name,
              psi: result.psi, status: result.status, rows_reference: reference.length, rows_current: current.length, bins: JSON.stringify(result.bins),
            });
          }
        }
      }
      await insertDrift(deps.db, rows);
      return toReport(rows);
    },

    /** The latest stored report, or null when drift was never computed. */
    async latest(): Promise<DriftReport | null> {
      const rows = await latestDrift(deps.db);
      return rows.length ? toReport(rows) : null;
    },
  };
}

async function latestSnapshotIds(db: Db): Promise<string[]> {
  const ids: string[] = [];
  for (const kind of ['matching', 'ads'] as DatasetKind[]) {
    const [latest] = await listDatasets({ db }, { kind, limit: 1 });
    if (latest) ids.push(latest.id);
  }
  return ids;
}

/** Numbers as numbers; booleans and strings as categories; lists by their length. */
function compare(type: FeatureType, reference: unknown[], current: FeatureValue[]): PsiResult {
  if (type === 'float' || type === 'int') return numericPsi(reference.map(num), current.map(num));
  if (type === 'string_list' || type === 'float_list') return numericPsi(reference.map(listLength), current.map(listLength));
  return categoricalPsi(reference.map(cat), current.map(cat));
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : null;
}

function cat(v: unknown): string | null {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
}

function listLength(v: unknown): number | null {
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      return Array.isArray(parsed) ? parsed.length : parsed !== null && typeof parsed === 'object' ? Object.keys(parsed).length : null;
    } catch {
      return null;
    }
  }
  return null;
}

export function driftJob(drift: DriftService): JobDefinition {
  const def: JobDefinition<'features.drift'> = {
    name: 'features.drift', attempts: 2,
    handler: async (p) => {
      const report = await drift.compute(p.datasetId ? { datasetId: p.datasetId } : {});
      return report.summary;
    },
  };
  return def as unknown as JobDefinition;
}
