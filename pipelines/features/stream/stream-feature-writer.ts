// Turns counters into feature rows (the windowed sets' own transforms, via computeValues) and
// writes them online (event-time guarded) and to the offline history (created now), so training
// sets see stream values point in time.
import type { Db } from '../../../platform/db/database.js';
import { creativeCtr, deviceVelocity, ipVelocity, placementCtr, providerActivity } from '../definitions/ads-features.js';
import type { ProviderActivityCounts, VelocityCounts, WindowCounts } from '../definitions/window-inputs.js';
import { computeValues, type FeatureSet } from '../feature-set.js';
import type { FeatureRow, OnlineStore, OnlineWriteResult } from '../store/feature-store.types.js';
import { appendHistory } from '../store/offline-store.repository.js';
import { providerActivityOf, velocityCountsOf, windowCountsOf, type CounterKind, type EntityCounters, type EntityWindows } from './window-counters.js';

/** The feature set each counter kind feeds. */
export interface StreamFeatureSets {
  creative: FeatureSet<WindowCounts>;
  placement: FeatureSet<WindowCounts>;
  ip: FeatureSet<VelocityCounts>;
  device: FeatureSet<VelocityCounts>;
  provider: FeatureSet<ProviderActivityCounts>;
}

export const STREAM_SETS: StreamFeatureSets = {
  creative: creativeCtr, placement: placementCtr, ip: ipVelocity, device: deviceVelocity, provider: providerActivity,
};

/** The feature row of one entity's counters (or window values), at its latest event time. */
export function featureRowOf(sets: StreamFeatureSets, c: EntityCounters | EntityWindows): FeatureRow {
  const row = (set: { name: string; version: number }, values: FeatureRow['values']): FeatureRow =>
    ({ featureSet: set.name, version: set.version, entityKey: c.key, eventAt: c.latest, values });
  const kind: CounterKind = c.kind;
  switch (kind) {
    case 'creative':
    case 'placement':
      return row(sets[kind], computeValues(sets[kind], windowCountsOf(c)));
    case 'ip':
    case 'device':
      return row(sets[kind], computeValues(sets[kind], velocityCountsOf(c)));
    case 'provider':
      return row(sets.provider, computeValues(sets.provider, providerActivityOf(c)));
  }
}

export type StreamFeatureWriter = ReturnType<typeof createStreamFeatureWriter>;

export function createStreamFeatureWriter(deps: { db: Db; online: OnlineStore; sets: StreamFeatureSets }) {
  return {
    async write(counters: readonly (EntityCounters | EntityWindows)[], now: number): Promise<OnlineWriteResult> {
      if (counters.length === 0) return { written: 0, stale: 0 };
      // In the history's key order (set, version, entity, event time), each key built once:
      // appendHistory sorts again, and a sorted input costs it one comparison per row.
      const keyed = counters.map((c) => {
        const row = featureRowOf(deps.sets, c);
        return { row, key: `${row.featureSet}\u0000${row.version}\u0000${row.entityKey}\u0000${row.eventAt}` };
      });
      keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const rows = keyed.map((k) => k.row);
      // Independent stores: write both at once. A re-run rewrites the same values (equal event time).
      const [online] = await Promise.all([
        deps.online.write(rows, now),
        appendHistory(deps.db, rows.map((r) => ({ ...r, createdAt: now }))),
      ]);
      return online;
    },
  };
}
