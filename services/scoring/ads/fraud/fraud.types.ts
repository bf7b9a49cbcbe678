// The fraud service's own vocabulary (the shared one, ClickInput / FraudVerdict…, is ../ad-types.ts).
import type { FraudReason, ImpressionToken } from '../ad-types.js';

export type ClickStatus = 'flagged' | 'released' | 'confirmed';

/** What the caller learnt about the click's impression token before asking. */
export type TokenCheck =
  | { valid: true; payload: ImpressionToken }
  | { valid: false; reason: 'invalid_token' | 'expired_token' };

/** The rules' settings. A limit of 0 turns its rule off. */
export interface FraudRulesConfig {
  /** A click sooner than this after its impression (ms) is too fast for a person. Default 1000. */
  minClickDelayMs: number;
  /** Clicks from one IP in any sliding minute before the next is flagged. Default 20 (carrier NAT puts many people behind one IP). */
  ipClicksPerMinute: number;
  /** Clicks from one IP in any sliding hour. Default 300. */
  ipClicksPerHour: number;
  /** Clicks from one device in any sliding minute. Default 6. */
  deviceClicksPerMinute: number;
  /** Clicks from one device in any sliding hour. Default 60. */
  deviceClicksPerHour: number;
  /** IPv4/IPv6 addresses or CIDR ranges whose clicks are flagged. */
  blockedIps: string[];
  /** User-agent substrings (case-insensitive) or `/regex/flags` whose clicks are flagged. */
  blockedUserAgents: string[];
  /** Robust z-score of the IP's hourly clicks at or above which ip_anomaly fires (0: off). Default 3.5 (Iglewicz–Hoaglin). */
  anomalyThreshold: number;
  /** The anomaly rule needs at least this many clicks from the IP in the last hour. Default 5. */
  anomalyMinClicks: number;
  /** ...and at least this many IPs in the reference hour, else it says nothing. Default 30. */
  anomalyMinPopulation: number;
  /**
   * Smallest scale of the z-score (log units). Where most IPs click once an hour the MAD and the
   * mean absolute deviation collapse towards 0 and any second click would look extreme; with the
   * floor, z ≥ 3.5 means at least e^(3.5·0.5) ≈ 5.8× the median IP's (1 + clicks). Default 0.5.
   */
  anomalyMinScale: number;
}

export const DEFAULT_FRAUD_RULES: Readonly<FraudRulesConfig> = Object.freeze({
  minClickDelayMs: 1_000,
  ipClicksPerMinute: 20,
  ipClicksPerHour: 300,
  deviceClicksPerMinute: 6,
  deviceClicksPerHour: 60,
  blockedIps: [],
  blockedUserAgents: [],
  anomalyThreshold: 3.5,
  anomalyMinClicks: 5,
  anomalyMinPopulation: 30,
  anomalyMinScale: 0.5,
});

/** A click's counts in its sliding windows (itself included), and recent click times for the anomaly details. */
export interface KeyCounts { minute: number; hour: number; recent: number[] }

/** The per-IP click counts of one hour bucket (the anomaly rule's reference population). */
export interface PopulationSample { bucket: number; counts: number[] }

/**
 * The atomic state the rules need, on Redis or in the database (same behaviour, same tests).
 * Every method is idempotent per click id: a redelivered click counts once and wins again if it won.
 */
export interface FraudCounters {
  readonly kind: 'redis' | 'database';
  /** Claims the impression for this click; false when another click claimed it first. */
  claimImpression(impressionId: string, clickId: string, at: number, expiresAt: number): Promise<{ first: boolean; firstClickId: string }>;
  /** Records the click under each key (ip, device) and returns its sliding counts per key, in order. */
  recordClick(keys: readonly { kind: 'ip' | 'device'; key: string }[], clickId: string, at: number): Promise<KeyCounts[]>;
  /** The per-IP click counts of hour bucket `bucket` (floor(at / 1 h)). */
  ipPopulation(bucket: number): Promise<PopulationSample>;
  /** Drops hits and claims that no window can read any more (the database store; Redis keys expire on their own). */
  prune(now: number): Promise<void>;
}

export interface FlaggedClick {
  clickId: string;
  campaignId: string | null;
  impressionId: string | null;
  reasons: FraudReason[];
  score: number;
  status: ClickStatus;
  details: Record<string, unknown>;
  /** The verified token of the click, null when it had none: what charging a released click needs. */
  token: ImpressionToken | null;
  clickedAt: number;
  ip: string | null;
  device: string | null;
  userAgent: string | null;
  userId: string | null;
  reviewedBy: string | null;
  reviewedAt: number | null;
  createdAt: number;
}

export interface ListFlaggedQuery {
  status?: ClickStatus;
  campaignId?: string;
  reason?: FraudReason;
  /** created_at range, ms. */
  from?: number;
  to?: number;
  /** Default 100, at most 1000. */
  limit?: number;
  /** The nextCursor of the previous page. */
  cursor?: string;
}

export interface ReviewResult {
  click: FlaggedClick;
  /** False when the click already had this decision (a repeated call): do not charge it again. */
  changed: boolean;
  /**
   * For a release that changed the status and a click with a valid token: what to charge
   * (the impression's token and the click). Null otherwise.
   */
  charge: { clickId: string; at: number; impression: ImpressionToken } | null;
}
