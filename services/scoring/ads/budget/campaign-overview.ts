// The operator's view of campaigns: budgets against spend (from the ledger, the source of truth),
// each campaign's pass-through rate, and today's pacing curve — cumulative spend per slot next to
// the target curve the pacer steers towards (the daily budget spread like the day's traffic).
import type { Db } from '../../../../platform/db/database.js';
import { listCampaignRows, spendBySlot } from './budget.repository.js';
import type { BudgetService } from './budget.service.js';
import type { Pacer } from './pacing.js';
import { dayOf } from './spend-counters.js';

const DAY_MS = 86_400_000;

export interface CampaignOverview {
  id: string; name: string; advertiserId: string; status: string; active: boolean; bidType: string; bidMinor: number; currency: string;
  dailyBudgetMinor: number | null; lifetimeBudgetMinor: number | null; spentTodayMinor: number; spentLifetimeMinor: number;
  pacingRate: number | null;
  /** Today, per slot end up to now: cumulative spend and the target (null without a daily budget). */
  pacing: { at: number; spentMinor: number; targetMinor: number | null }[];
}

export async function campaignOverview(
  deps: { db: Db; budget: Pick<BudgetService, 'remaining'>; pacer: Pick<Pacer, 'rates' | 'targetFraction'> | null },
  opts: { at: number; limit?: number; slotMs?: number },
): Promise<{ day: string; slotMs: number; campaigns: CampaignOverview[] }> {
  const slotMs = opts.slotMs ?? 3_600_000;
  const day = dayOf(opts.at);
  const dayStart = Math.floor(opts.at / DAY_MS) * DAY_MS;
  const rows = await listCampaignRows(deps.db, opts.limit ?? 200);
  const ids = rows.map((r) => r.id);
  const [budgets, slots, rates] = await Promise.all([
    deps.budget.remaining(ids, opts.at), spendBySlot(deps.db, ids, day, dayStart, slotMs), deps.pacer ? deps.pacer.rates(ids) : Promise.resolve(new Map<string, number>()),
  ]);
  const bySlot = new Map<string, Map<number, number>>();
  for (const s of slots) {
    const m = bySlot.get(s.campaignId) ?? new Map<number, number>();
    m.set(s.slot, (m.get(s.slot) ?? 0) + s.amountMinor);
    bySlot.set(s.campaignId, m);
  }
  const target = (t: number) => (deps.pacer ? deps.pacer.targetFraction(t) : (t - dayStart) / DAY_MS);
  const ends: number[] = [];
  for (let t = dayStart + slotMs; t < opts.at + slotMs && t <= dayStart + DAY_MS; t += slotMs) ends.push(Math.min(t, opts.at));
  return {
    day, slotMs,
    campaigns: rows.map((r) => {
      const b = budgets.get(r.id);
      const spent = bySlot.get(r.id) ?? new Map<number, number>();
      let cumulative = 0;
      const pacing = ends.map((t, i) => {
        cumulative += spent.get(i) ?? 0;
        return { at: t, spentMinor: cumulative, targetMinor: r.dailyBudgetMinor === null ? null : Math.round(r.dailyBudgetMinor * target(t)) };
      });
      return {
        id: r.id, name: r.name, advertiserId: r.advertiserId, status: r.status, active: b?.active ?? false, bidType: r.bidType, bidMinor: r.bidMinor,
        currency: r.currency, dailyBudgetMinor: r.dailyBudgetMinor, lifetimeBudgetMinor: r.lifetimeBudgetMinor,
        spentTodayMinor: b?.spentTodayMinor ?? 0, spentLifetimeMinor: b?.spentLifetimeMinor ?? 0, pacingRate: rates.get(r.id) ?? null, pacing,
      };
    }),
  };
}
