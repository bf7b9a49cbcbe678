// Tables of ad selection: per-placement rules and the database fallback of frequency-cap counters.

export interface PlacementRuleTable {
  placement_id: string;
  /** JSON string array; null: any category. */
  allowed_categories: string | null;
  /** JSON string array. */
  blocked_categories: string;
  /** JSON string array; null: any advertiser. */
  allowed_advertisers: string | null;
  /** JSON string array. */
  blocked_advertisers: string;
  max_ads: number;
  min_pctr: number;
  /** JSON string array; null: any device. */
  devices: string | null;
  /** JSON string array of ISO 3166-1 alpha-2 codes; null: any country. */
  countries: string | null;
  /** 0/1 (SQLite) or boolean (MySQL tinyint). */
  one_per_advertiser: number | boolean;
  updated_at: number;
}

export interface FrequencyCapCounterTable {
  /** The user (or session) id the cap counts for. */
  subject_id: string;
  campaign_id: string;
  impressions: number;
  window_ends_at: number;
}

declare module '../../../../platform/db/database.js' {
  interface Database {
    placement_rule: PlacementRuleTable;
    frequency_cap_counter: FrequencyCapCounterTable;
  }
}
