// Spend counters in the database (the embedded shape, no Redis): the ledger row and the two
// conditional counter updates share one transaction, so counters and ledger cannot disagree and a
// refused or duplicate charge leaves nothing behind. MySQL serialises a campaign's charges on the
// counter row lock (always taken in the same order: ledger row, lifetime, day); SQLite serialises
// every writer.
import type { Db } from '../../../../platform/db/database.js';
import type { ChargeResult } from '../ad-types.js';
import {
  counterExists, ensureCounters, insertLedgerRow, ledgerAmount, LIFETIME, readCounters, rebuildCounters, reserveCounter,
  type CampaignBudgetRow,
} from './budget.repository.js';
import type { SpendCounters } from './spend-counters.js';

// MySQL picks a victim when two transactions wait on each other (ER_LOCK_DEADLOCK): run it again.
async function withDeadlockRetry<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries || (err as { errno?: number }).errno !== 1213) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * i));
    }
  }
}

class Refused extends Error {
  constructor(readonly reason: 'daily_budget' | 'lifetime_budget' | 'missing_counter') { super(reason); }
}

export function createDbSpendCounters(deps: { db: Db }): SpendCounters {
  const { db } = deps;
  // (campaign, day) pairs whose counter rows this process has made sure of: one insert per pair,
  // shared by the charges that arrive together (concurrent INSERT IGNOREs of one row deadlock on MySQL).
  const ensured = new Map<string, Promise<void>>();
  const ensure = (campaignId: string, day: string, force = false): Promise<void> => {
    const key = `${campaignId}\u0000${day}`;
    const held = ensured.get(key);
    if (held && !force) return held;
    if (ensured.size > 100_000) ensured.clear();
    const p = withDeadlockRetry(() => ensureCounters(db, campaignId, day));
    ensured.set(key, p);
    p.catch(() => ensured.delete(key));
    return p;
  };

  async function attempt(c: CampaignBudgetRow, clickId: string, amount: number, day: string, at: number): Promise<ChargeResult> {
    return db.transaction().execute(async (tx) => {
      if (!await insertLedgerRow(tx, { clickId, campaignId: c.id, amountMinor: amount, currency: c.currency, day, chargedAt: at })) {
        return { charged: false, amountMinor: 0, reason: 'already_charged' } satisfies ChargeResult;
      }
      for (const [period, budget, reason] of [[LIFETIME, c.lifetimeBudgetMinor, 'lifetime_budget'], [day, c.dailyBudgetMinor, 'daily_budget']] as const) {
        if (await reserveCounter(tx, c.id, period, amount, budget)) continue;
        // Refused: over budget, or the counter row went away (a rebuild); either way roll back.
        throw new Refused(await counterExists(tx, c.id, period) ? reason : 'missing_counter');
      }
      return { charged: true, amountMinor: amount, reason: null } satisfies ChargeResult;
    });
  }

  return {
    kind: 'database',

    async charge(c, clickId, amount, day, at) {
      await ensure(c.id, day);
      for (let tries = 0; ; tries++) {
        try {
          const res = await withDeadlockRetry(() => attempt(c, clickId, amount, day, at));
          if (res.reason === 'already_charged') res.amountMinor = await ledgerAmount(db, clickId) ?? 0;
          return res;
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          if (err.reason !== 'missing_counter') return { charged: false, amountMinor: 0, reason: err.reason };
          if (tries > 0) throw new Error(`ad spend counters of ${c.id} missing after re-creating them`);
          await ensure(c.id, day, true);
        }
      }
    },

    async spent(campaignIds, day) {
      return readCounters(db, campaignIds, day);
    },

    async rebuild() {
      ensured.clear();
      return rebuildCounters(db);
    },
  };
}
