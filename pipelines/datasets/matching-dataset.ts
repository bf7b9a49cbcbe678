// The matching training set: one row per proposal in the window, labelled 1 when the provider was
// hired for that job, with the provider's and the job's stored features as of the proposal's time
// and the pair features computed from them as a request at that time would have.
import type { Db } from '../../platform/db/database.js';
import { computeValues, type FeatureValues } from '../features/feature-set.js';
import { ConnectionGraph } from '../features/definitions/connection-graph.js';
import { featureSet } from '../features/definitions/catalog.js';
import { matchPair, type PairInput } from '../features/definitions/matching-features.js';
import { WINDOWED_SETS } from '../features/definitions/window-inputs.js';
import type { DatasetSpec } from './build-dataset.js';
import { readConnectionTimeline, readHiredPairs, readProposalLabels, type LabelWindow } from './dataset.repository.js';
import { floatColumn, type DerivedSet, type HistoryIndex, type LabelFrame } from './point-in-time-join.js';

/** Labels: proposals in [from, to); label 1 when a hire exists for the (job, provider); label time = the proposal's event time. */
export function matchingSpec(): DatasetSpec {
  const providerProfile = featureSet('provider_profile'), jobProfile = featureSet('job_profile'), skillIdf = featureSet('skill_idf');
  return {
    kind: 'matching',
    async readLabels(db: Db, w: LabelWindow): Promise<LabelFrame> {
      const [rows, hired] = await Promise.all([readProposalLabels(db, w), readHiredPairs(db, w)]);
      return {
        rows: rows.length,
        labelAt: Float64Array.from(rows, (r) => r.event_at),
        columns: [
          { name: 'proposal_id', type: 'string', role: 'id', values: rows.map((r) => r.id) },
          { name: 'provider_id', type: 'string', role: 'id', values: rows.map((r) => r.provider_id) },
          { name: 'job_id', type: 'string', role: 'id', values: rows.map((r) => r.job_id) },
          { name: 'client_id', type: 'string', role: 'id', values: rows.map((r) => r.client_id) },
          { name: 'label_at', type: 'float', role: 'label_time', values: floatColumn(rows.map((r) => r.event_at)) },
          { name: 'label', type: 'float', role: 'label', values: floatColumn(rows.map((r) => (hired.has(`${r.job_id}\u0000${r.provider_id}`) ? 1 : 0))) },
        ],
      };
    },
    joins: [
      { set: providerProfile, keyColumn: 'provider_id' },
      { set: jobProfile, keyColumn: 'job_id' },
      { set: featureSet(WINDOWED_SETS.providerActivity), keyColumn: 'provider_id' },
    ],
    lookups: [skillIdf],
    derivedSets: [matchPair],
    async derived(db: Db, w: LabelWindow, _labels: LabelFrame, lookups: ReadonlyMap<string, HistoryIndex>): Promise<DerivedSet[]> {
      const timeline = await readConnectionTimeline(db, w.to);
      const idf = lookups.get(skillIdf.name)!.cursor('idf');
      const graph = new ConnectionGraph();
      let next = 0;
      return [{
        set: matchPair,
        compute(_row: number, joined: Readonly<Record<string, FeatureValues | null>>, t: number): FeatureValues {
          // The graph as of t: connections made at or before the label time (rows come in time order).
          for (; next < timeline.length && timeline[next]!.at <= t; next++) graph.connect(timeline[next]!.a, timeline[next]!.b);
          const provider = joined[providerProfile.name], job = joined[jobProfile.name];
          if (!provider || !job) return {}; // nothing known of one side: every pair feature unknown
          const providerId = typeof provider.provider_id === 'string' ? provider.provider_id : null;
          const clientId = typeof job.client_id === 'string' ? job.client_id : null;
          // computePairFeatures without the explanation strings: the same transforms, the label time as the request time.
          const ctx = { idf: idf.at(t) as ReadonlyMap<string, number>, graph, now: t };
          const input: PairInput = { provider, job, ctx, proximity: providerId && clientId ? graph.proximity(providerId, clientId) : null };
          return computeValues(matchPair, input);
        },
      }];
    },
  };
}
