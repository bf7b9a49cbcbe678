// Budget pacing after LinkedIn (Agarwal et al., KDD 2014, "Budget pacing for targeted online
// advertisements at LinkedIn"): each campaign with a daily budget takes part in a request only
// with its pass-through rate p ∈ [minRate, 1]. The day is cut into slots; at the end of each one
// the campaign's spend so far is compared with the target curve (the daily budget spread like the
// day's traffic): ahead of it, p ← p·(1−α); behind it, p ← min(1, p·(1+α)). So a budget lasts the
// day instead of running out at the morning peak, and is still spent when traffic allows it.
import { ValidationError } from '../../../../platform/errors/app-error.js';
import type { BudgetService } from './budget.service.js';
import type { PacingStore } from './pacing-store.js';

const DAY_MS = 86_400_000;

export interface PacerOptions {
  store: PacingStore;
  /** Where the day's spend and the daily budget are read at each slot end (the budget service). */
  budgets: Pick<BudgetService, 'remaining'>;
  /** Slot length (default 15 min); must divide a day. */
  slotMs?: number;
  /** Step of the multiplicative update (default 0.1). */
  alpha?: number;
  /** Lowest pass-through rate (default 0.01): a throttled campaign still shows now and then. */
  minRate?: number;
  /** Rate of a campaign before its first slot update (default 1). */
  initialRate?: number;
  /**
   * The day's traffic profile, n ≥ 1 non-negative weights for n equal parts of the UTC day (24:
   * hourly); the target spend curve follows it. Uniform when omitted.
   */
  profile?: readonly number[];
  /** Uniform [0, 1) source for the pass decisions (seeded in tests). */
  random?: () => number;
  /** Campaigns updateSlot() paces when it is not given any (default: those with stored state). */
  campaigns?: (at: number) => Promise<string[]>;
}

export interface SlotUpdate { slotStart: number; slotEnd: number; updated: number; skipped: number }

export interface Pacer {
  /** Per campaign: take part in this request? (one store round trip) */
  passThrough(campaignIds: readonly string[], at: number): Promise<Map<string, boolean>>;
  rates(campaignIds: readonly string[]): Promise<Map<string, number>>;
  /** Fraction of the day's budget the target curve has spent by `at` (0 at midnight UTC, 1 at the next). */
  targetFraction(at: number): number;
  /**
   * Apply the slot that ended at or before `at` (the job to run at every slot boundary).
   * Idempotent: a campaign already updated for that slot is skipped.
   */
  updateSlot(at: number, campaignIds?: readonly string[]): Promise<SlotUpdate>;
}

export function createPacer(opts: PacerOptions): Pacer {
  const slotMs = opts.slotMs ?? 15 * 60_000;
  const alpha = opts.alpha ?? 0.1;
  const minRate = opts.minRate ?? 0.01;
  const initialRate = opts.initialRate ?? 1;
  const random = opts.random ?? Math.random;
  const profile = opts.profile ?? [1];
  const problems = [];
  if (!Number.isInteger(slotMs) || slotMs <= 0 || DAY_MS % slotMs !== 0) problems.push({ path: 'slotMs', message: 'a positive number of ms dividing a day' });
  if (!(alpha > 0 && alpha < 1)) problems.push({ path: 'alpha', message: 'between 0 and 1' });
  if (!(minRate > 0 && minRate <= 1)) problems.push({ path: 'minRate', message: 'in (0, 1]' });
  if (!(initialRate >= minRate && initialRate <= 1)) problems.push({ path: 'initialRate', message: 'in [minRate, 1]' });
  if (profile.length === 0 || profile.some((w) => !(w >= 0)) || !(profile.reduce((a, b) => a + b, 0) > 0)) {
    problems.push({ path: 'profile', message: 'non-negative weights with a positive sum' });
  }
  if (problems.length) throw new ValidationError('invalid pacing options', problems);

  // Cumulative share of the day's traffic at the start of each part of the profile.
  const total = profile.reduce((a, b) => a + b, 0);
  const cumulative = [0];
  for (const w of profile) cumulative.push(cumulative[cumulative.length - 1]! + w / total);
  const partMs = DAY_MS / profile.length;

  function fractionOfDay(msIntoDay: number): number {
    if (msIntoDay >= DAY_MS) return 1;
    const part = Math.floor(msIntoDay / partMs);
    return cumulative[part]! + (profile[part]! / total) * ((msIntoDay - part * partMs) / partMs);
  }

  const rateOf = (stored: { rate: number } | undefined) => stored?.rate ?? initialRate;

  return {
    targetFraction(at) {
      return fractionOfDay(((at % DAY_MS) + DAY_MS) % DAY_MS);
    },

    async rates(campaignIds) {
      const stored = await opts.store.read(campaignIds);
      return new Map(campaignIds.map((id) => [id, rateOf(stored.get(id))]));
    },

    async passThrough(campaignIds, at) {
      void at; // the rate holds for the whole slot; kept in the signature for time-of-day policies
      const stored = await opts.store.read(campaignIds);
      const out = new Map<string, boolean>();
      for (const id of campaignIds) {
        const p = rateOf(stored.get(id));
        out.set(id, p >= 1 || random() < p);
      }
      return out;
    },

    async updateSlot(at, campaignIds) {
      const slotEnd = Math.floor(at / slotMs) * slotMs;
      const slotStart = slotEnd - slotMs;
      const ids = campaignIds ? [...campaignIds] : await (opts.campaigns ?? (() => opts.store.campaigns()))(at);
      if (ids.length === 0) return { slotStart, slotEnd, updated: 0, skipped: 0 };
      const stored = await opts.store.read(ids);
      const todo = ids.filter((id) => (stored.get(id)?.slotStart ?? -Infinity) < slotStart);
      // The slot's own day: a slot ending at midnight closes the day before (target fraction 1).
      const lastMs = slotEnd - 1;
      const target = fractionOfDay(lastMs - Math.floor(lastMs / DAY_MS) * DAY_MS + 1);
      const budgets = await opts.budgets.remaining(todo, lastMs);
      const updates: { campaignId: string; rate: number; slotStart: number }[] = [];
      for (const id of todo) {
        let p = rateOf(stored.get(id));
        const b = budgets.get(id);
        if (!b || !b.active || b.dailyBudgetMinor === null) {
          p = 1; // nothing to pace: the campaign is unlimited, paused or gone
        } else if (b.spentTodayMinor >= b.dailyBudgetMinor) {
          // Spent out: charges refuse anyway; lowering p further would only starve tomorrow morning.
        } else {
          const planned = b.dailyBudgetMinor * target;
          if (b.spentTodayMinor > planned) p = Math.max(minRate, p * (1 - alpha));
          else if (b.spentTodayMinor < planned) p = Math.min(1, p * (1 + alpha));
        }
        updates.push({ campaignId: id, rate: p, slotStart });
      }
      await opts.store.write(updates, at);
      return { slotStart, slotEnd, updated: updates.length, skipped: ids.length - todo.length };
    },
  };
}
