export interface AdSpendLedgerTable {
  /** The charged click: at most one row per click. */
  click_id: string;
  campaign_id: string;
  amount_minor: number;
  currency: string;
  /** UTC date of the charge, YYYY-MM-DD. */
  day: string;
  charged_at: number;
}

/** Spend counters of the database backend (no Redis): one row per campaign and day, plus 'lifetime'. */
export interface AdSpendCounterTable {
  campaign_id: string;
  /** YYYY-MM-DD or 'lifetime'. */
  period: string;
  spent_minor: number;
}

export interface AdPacingTable {
  campaign_id: string;
  rate: number;
  /** Start of the last slot applied to `rate`. */
  slot_start: number;
  updated_at: number;
}

declare module '../../../../platform/db/database.js' {
  interface Database {
    ad_spend_ledger: AdSpendLedgerTable;
    ad_spend_counter: AdSpendCounterTable;
    ad_pacing: AdPacingTable;
  }
}
