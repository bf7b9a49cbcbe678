import type { Generated } from 'kysely';

export interface FeatureDriftTable {
  id: Generated<number>;
  computed_at: number;
  dataset_id: string;
  feature_set: string;
  version: number;
  feature: string;
  psi: number | null;
  status: string;
  rows_reference: number;
  rows_current: number;
  /** JSON: [{ label, reference, current }] shares per bin. */
  bins: string;
}

declare module '../../../platform/db/database.js' {
  interface Database { feature_drift: FeatureDriftTable }
}
