import type { Generated } from 'kysely';

export interface FeatureHistoryTable {
  id: Generated<number>;
  feature_set: string;
  version: number;
  entity_key: string;
  event_at: number;
  created_at: number;
  run_id: string | null;
  /** JSON object: feature name → value. */
  feature_values: string;
}

export interface FeatureOnlineTable {
  feature_set: string;
  version: number;
  entity_key: string;
  event_at: number;
  created_at: number;
  feature_values: string;
}

declare module '../../../platform/db/database.js' {
  interface Database { feature_history: FeatureHistoryTable; feature_online: FeatureOnlineTable }
}
