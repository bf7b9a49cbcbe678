import type { ClickStatus } from './fraud.types.js';

export interface FlaggedClickTable {
  click_id: string;
  campaign_id: string | null;
  impression_id: string | null;
  /** JSON: FraudReason[]. */
  reasons: string;
  /** The IP's robust z-score (the anomaly rule's measure); 0 when it could not be computed. */
  score: number;
  status: ClickStatus;
  /** JSON: each rule's measurements. */
  details: string;
  /** JSON: the verified ImpressionToken, null when the click had no valid token. */
  token_payload: string | null;
  clicked_at: number;
  ip: string | null;
  device: string | null;
  user_agent: string | null;
  user_id: string | null;
  reviewed_by: string | null;
  reviewed_at: number | null;
  created_at: number;
}

export interface FraudImpressionClaimTable {
  impression_id: string;
  click_id: string;
  clicked_at: number;
  expires_at: number;
}

export interface FraudVelocityKeyTable {
  /** ip | device */
  kind: string;
  key: string;
  latest_at: number;
}

export interface FraudVelocityHitTable {
  kind: string;
  key: string;
  click_id: string;
  at: number;
}

declare module '../../../../platform/db/database.js' {
  interface Database {
    flagged_click: FlaggedClickTable;
    fraud_impression_claim: FraudImpressionClaimTable;
    fraud_velocity_key: FraudVelocityKeyTable;
    fraud_velocity_hit: FraudVelocityHitTable;
  }
}
