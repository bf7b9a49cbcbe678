import type { ChargeResult } from '../ad-types.js';
import type { CampaignBudgetRow } from './budget.repository.js';

export interface Spent { day: number; lifetime: number }

/**
 * Where reservations against the budgets are counted: Redis (Lua compare-and-increment) or the
 * database (conditional update in the ledger's transaction). Both write the ledger row, the truth.
 */
export interface SpendCounters {
  readonly kind: 'redis' | 'database';
  /** Reserve `amount` on the campaign's `day` and lifetime counters and write the ledger row. */
  charge(campaign: CampaignBudgetRow, clickId: string, amount: number, day: string, at: number): Promise<ChargeResult>;
  /** Spend on `day` and over the lifetime per campaign (campaigns without spend: 0). */
  spent(campaignIds: readonly string[], day: string): Promise<Map<string, Spent>>;
  /** Recompute the counters from the ledger; returns the campaigns found in the ledger. */
  rebuild(day: string): Promise<number>;
}

export const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10);
