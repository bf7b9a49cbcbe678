// Campaign budgets: charge() reserves a click's price against the campaign's daily and lifetime
// budgets atomically (Redis when configured, else the database) and records it in the spend
// ledger, the source of truth; remaining() tells selection what each campaign may still spend.
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { ValidationError } from '../../../../platform/errors/app-error.js';
import type { ChargeResult } from '../ad-types.js';
import { findCampaignBudgets, type CampaignBudgetRow } from './budget.repository.js';
import { createDbSpendCounters } from './db-spend-counters.js';
import { createRedisSpendCounters } from './redis-spend-counters.js';
import { dayOf, type SpendCounters } from './spend-counters.js';

export interface BudgetState {
  campaignId: string;
  /** Status active and `at` within [starts_at, ends_at). */
  active: boolean;
  currency: string;
  dailyBudgetMinor: number | null;
  lifetimeBudgetMinor: number | null;
  spentTodayMinor: number;
  spentLifetimeMinor: number;
  /** What may still be charged: the smaller of the two remainders (≥ 0); null when neither budget is set. */
  remainingMinor: number | null;
}

export interface BudgetService {
  readonly kind: 'redis' | 'database';
  charge(campaignId: string, clickId: string, amountMinor: number, at: number): Promise<ChargeResult>;
  /** Budgets and spend of the known campaigns among `campaignIds` (unknown ones are absent). */
  remaining(campaignIds: readonly string[], at: number): Promise<Map<string, BudgetState>>;
  /** Recompute the spend counters from the ledger (Redis: drop them and set today's and lifetime ones). */
  rebuild(at?: number): Promise<{ campaigns: number }>;
}

export interface BudgetServiceDeps {
  db: Db;
  redis?: Redis | null;
  /** The configured redis.prefix. */
  prefix: string;
  now?: () => number;
  /**
   * How long a campaign's budgets and status are trusted before they are read again (default
   * 1000 ms): an edited budget or a paused campaign applies within this time.
   */
  campaignCacheMs?: number;
  /** Redis only: how long a charged click is remembered in Redis to answer duplicates without the ledger (default 1 h). */
  dedupeTtlMs?: number;
}

const MAX_ID = 64;

function checkCharge(campaignId: string, clickId: string, amountMinor: number, at: number): void {
  const problems = [];
  if (typeof campaignId !== 'string' || campaignId.length === 0 || campaignId.length > MAX_ID) problems.push({ path: 'campaignId', message: `a non-empty id of at most ${MAX_ID} characters` });
  if (typeof clickId !== 'string' || clickId.length === 0 || clickId.length > MAX_ID) problems.push({ path: 'clickId', message: `a non-empty id of at most ${MAX_ID} characters` });
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) problems.push({ path: 'amountMinor', message: 'a positive integer amount in minor units' });
  if (!Number.isFinite(at) || at < 0) problems.push({ path: 'at', message: 'a time in ms since the epoch' });
  if (problems.length) throw new ValidationError('invalid charge', problems);
}

export const isCampaignActive = (c: CampaignBudgetRow, at: number): boolean =>
  c.status === 'active' && at >= c.startsAt && (c.endsAt === null || at < c.endsAt);

export function createBudgetService(deps: BudgetServiceDeps): BudgetService {
  const { db } = deps;
  const now = deps.now ?? Date.now;
  const cacheMs = deps.campaignCacheMs ?? 1_000;
  const counters: SpendCounters = deps.redis
    ? createRedisSpendCounters({ db, redis: deps.redis, prefix: deps.prefix, dedupeTtlMs: deps.dedupeTtlMs })
    : createDbSpendCounters({ db });

  // Budgets change rarely and every charge needs them. An entry older than cacheMs is still used
  // while one query (for every campaign that went stale meanwhile) reads it again in the background;
  // only a campaign never seen waits for the database. Loads in flight are shared.
  const cache = new Map<string, { row: CampaignBudgetRow | null; until: number }>();
  const loading = new Map<string, Promise<void>>();
  async function load(ids: string[]): Promise<void> {
    const todo = ids.filter((id) => !loading.has(id));
    if (todo.length) {
      const p = findCampaignBudgets(db, todo).then((rows) => {
        const byId = new Map(rows.map((r) => [r.id, r]));
        if (cache.size > 50_000) cache.clear();
        const until = now() + cacheMs;
        for (const id of todo) cache.set(id, { row: byId.get(id) ?? null, until });
      }).finally(() => { for (const id of todo) loading.delete(id); });
      for (const id of todo) loading.set(id, p);
    }
    await Promise.all(ids.map((id) => loading.get(id)));
  }
  async function campaigns(ids: readonly string[]): Promise<Map<string, CampaignBudgetRow>> {
    const t = now();
    const missing: string[] = [];
    const stale: string[] = [];
    for (const id of ids) {
      const hit = cache.get(id);
      if (!hit) missing.push(id);
      else if (hit.until <= t) stale.push(id);
    }
    if (stale.length) {
      const refresh = load(stale);
      if (cacheMs === 0) await refresh; // no cache wanted: read through
      else refresh.catch(() => undefined); // a failed refresh keeps the old entry; the next use retries
    }
    if (missing.length) await load([...new Set(missing)]);
    const out = new Map<string, CampaignBudgetRow>();
    for (const id of ids) {
      const row = cache.get(id)?.row;
      if (row) out.set(id, row);
    }
    return out;
  }

  return {
    kind: counters.kind,

    async charge(campaignId, clickId, amountMinor, at) {
      checkCharge(campaignId, clickId, amountMinor, at);
      const c = (await campaigns([campaignId])).get(campaignId);
      if (!c || !isCampaignActive(c, at)) return { charged: false, amountMinor: 0, reason: 'campaign_inactive' };
      return counters.charge(c, clickId, amountMinor, dayOf(at), at);
    },

    async remaining(campaignIds, at) {
      const out = new Map<string, BudgetState>();
      const known = await campaigns(campaignIds);
      const ids = [...known.keys()];
      const spent = await counters.spent(ids, dayOf(at));
      for (const id of ids) {
        const c = known.get(id)!;
        const s = spent.get(id) ?? { day: 0, lifetime: 0 };
        const left = [c.dailyBudgetMinor === null ? null : c.dailyBudgetMinor - s.day, c.lifetimeBudgetMinor === null ? null : c.lifetimeBudgetMinor - s.lifetime]
          .filter((v): v is number => v !== null);
        out.set(id, {
          campaignId: id, active: isCampaignActive(c, at), currency: c.currency,
          dailyBudgetMinor: c.dailyBudgetMinor, lifetimeBudgetMinor: c.lifetimeBudgetMinor,
          spentTodayMinor: s.day, spentLifetimeMinor: s.lifetime,
          remainingMinor: left.length ? Math.max(0, Math.min(...left)) : null,
        });
      }
      return out;
    },

    async rebuild(at = now()) {
      cache.clear();
      return { campaigns: await counters.rebuild(dayOf(at)) };
    },
  };
}
