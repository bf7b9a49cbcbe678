// The ads training set: one row per impression in the window, labelled 1 when a click references
// it, with the creative's, placement's, campaign's, user's, IP's and device's stored features as of
// the impression's time and the request features computed as the ad server would have.
import type { Db } from '../../platform/db/database.js';
import type { FeatureValues } from '../features/feature-set.js';
import { computeAdRequestFeatures } from '../features/definitions/ads-features.js';
import { featureSet } from '../features/definitions/catalog.js';
import { WINDOWED_SETS } from '../features/definitions/window-inputs.js';
import type { DatasetSpec } from './build-dataset.js';
import { readClickedImpressionIds, readImpressionLabels, type LabelWindow } from './dataset.repository.js';
import { floatColumn, type DerivedSet, type LabelFrame } from './point-in-time-join.js';

/** Labels: impressions in [from, to); label 1 when a click references the impression; label time = its event time. */
export function adsSpec(): DatasetSpec {
  const campaign = featureSet('campaign_profile'), affinity = featureSet('user_affinity'), request = featureSet('ad_request');
  return {
    kind: 'ads',
    async readLabels(db: Db, w: LabelWindow): Promise<LabelFrame> {
      const [rows, clicked] = await Promise.all([readImpressionLabels(db, w), readClickedImpressionIds(db, w)]);
      return {
        rows: rows.length,
        labelAt: Float64Array.from(rows, (r) => r.event_at),
        columns: [
          { name: 'impression_id', type: 'string', role: 'id', values: rows.map((r) => r.id) },
          { name: 'campaign_id', type: 'string', role: 'id', values: rows.map((r) => r.campaign_id) },
          { name: 'creative_id', type: 'string', role: 'id', values: rows.map((r) => r.creative_id) },
          { name: 'placement_id', type: 'string', role: 'id', values: rows.map((r) => r.placement_id) },
          { name: 'advertiser_id', type: 'string', role: 'id', values: rows.map((r) => r.advertiser_id) },
          { name: 'user_id', type: 'string', role: 'id', values: rows.map((r) => r.user_id) },
          { name: 'ip', type: 'string', role: 'id', values: rows.map((r) => r.ip) },
          { name: 'device_id', type: 'string', role: 'id', values: rows.map((r) => r.device) },
          { name: 'label_at', type: 'float', role: 'label_time', values: floatColumn(rows.map((r) => r.event_at)) },
          { name: 'label', type: 'float', role: 'label', values: floatColumn(rows.map((r) => (clicked.has(r.id) ? 1 : 0))) },
          // Ground truth of the synthetic marketplace, for evaluating fraud signals: never a feature.
          { name: 'fraud_label', type: 'float', role: 'evaluation', values: floatColumn(rows.map((r) => r.fraud_label)) },
        ],
      };
    },
    joins: [
      { set: featureSet(WINDOWED_SETS.creative), keyColumn: 'creative_id' },
      { set: featureSet(WINDOWED_SETS.placement), keyColumn: 'placement_id' },
      { set: campaign, keyColumn: 'campaign_id' },
      { set: affinity, keyColumn: 'user_id' },
      { set: featureSet(WINDOWED_SETS.ip), keyColumn: 'ip' },
      { set: featureSet(WINDOWED_SETS.device), keyColumn: 'device_id' },
    ],
    derivedSets: [request],
    async derived(_db: Db, _w: LabelWindow, labels: LabelFrame): Promise<DerivedSet[]> {
      const col = (name: string) => labels.columns.find((c) => c.name === name)!.values;
      const device = col('device_id'), advertiser = col('advertiser_id'), placement = col('placement_id');
      return [{
        set: request,
        compute(row: number, joined: Readonly<Record<string, FeatureValues | null>>, t: number): FeatureValues {
          const c = joined[campaign.name];
          const categories = c && Array.isArray(c.targeted_categories) ? (c.targeted_categories as readonly unknown[]).map(String) : [];
          return computeAdRequestFeatures({
            at: t, device: (device[row] as string | null) ?? null, advertiserId: String(advertiser[row] ?? c?.advertiser_id ?? ''),
            placementId: String(placement[row]), campaignCategories: categories, userAffinity: joined[affinity.name] ?? null,
          });
        },
      }];
    },
  };
}
