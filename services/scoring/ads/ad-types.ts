// Shared vocabulary for ads delivery (issue #8): selection, budgets and fraud import these.

export interface ImpressionToken {
  impressionId: string;
  campaignId: string;
  creativeId: string;
  placementId: string;
  userId: string | null;
  bidType: 'cpc' | 'cpm';
  priceMinor: number;
  currency: string;
  issuedAt: number;
  expiresAt: number;
}

export interface ClickInput {
  clickId: string;
  token: string | null;
  at: number;
  ip: string | null;
  device: string | null;
  userAgent: string | null;
  userId: string | null;
}

export type FraudReason =
  | 'invalid_token'
  | 'expired_token'
  | 'duplicate_click'
  | 'too_fast'
  | 'ip_velocity'
  | 'device_velocity'
  | 'blocked_ip'
  | 'blocked_user_agent'
  | 'ip_anomaly';

export interface FraudVerdict {
  flagged: boolean;
  reasons: FraudReason[];
  score: number;
  details: Record<string, unknown>;
}

export interface ChargeResult {
  charged: boolean;
  amountMinor: number;
  reason: null | 'daily_budget' | 'lifetime_budget' | 'already_charged' | 'campaign_inactive';
}
