// The inputs of the windowed feature sets, shared by the two ways they are computed: the batch
// pipeline counts them from the source tables as of a time, the stream processors keep them in
// window counters as events arrive. Both feed the same transforms, so a value means the same
// whichever path wrote it.

/** Trailing windows, in milliseconds. */
export const WINDOWS_MS = { '1m': 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 } as const;

/** Impressions and clicks of one creative or placement over the trailing windows ending at `asOf`. */
export interface WindowCounts {
  asOf: number;
  imp_1h: number; clk_1h: number;
  imp_24h: number; clk_24h: number;
  imp_7d: number; clk_7d: number;
}

/** Click velocity of one IP address or device over the trailing windows ending at `asOf`. */
export interface VelocityCounts {
  asOf: number;
  clicks_1m: number;
  clicks_1h: number;
  impressions_1h: number;
  /** Smallest gap between two consecutive clicks in the last hour; null with fewer than two clicks. */
  min_click_gap_ms: number | null;
}

/** What the event stream says about a provider's activity, as of `asOf`. */
export interface ProviderActivityCounts {
  asOf: number;
  proposals_24h: number;
  proposals_7d: number;
  hires_30d: number;
  /** The latest event time of any of the provider's events. */
  last_active_at: number | null;
}

/** Feature sets whose values both paths compute (names fixed: the stream processors write them). */
export const WINDOWED_SETS = {
  creative: 'creative_ctr',
  placement: 'placement_ctr',
  ip: 'ip_velocity',
  device: 'device_velocity',
  providerActivity: 'provider_activity',
} as const;
