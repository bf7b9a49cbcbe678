// Spend counters in Redis: per campaign a counter for each UTC day and one for the lifetime, moved
// by a Lua compare-and-increment, so concurrent charges from every replica cannot overspend; the
// ledger row is written after the reservation and a failed write releases it. The counters are a
// cache of the ledger: a missing one (Redis restarted, flushed, a new day) is rebuilt from the
// ledger before the reservation is retried. Keys share the campaign as hash tag (one cluster slot).
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { dependencyFailure } from '../../../../platform/errors/app-error.js';
import type { ChargeResult } from '../ad-types.js';
import { allLedgerSums, ledgerAmount, ledgerSums, type CampaignBudgetRow } from './budget.repository.js';
import { createLedgerWriter } from './ledger-writer.js';
import type { Spent, SpendCounters } from './spend-counters.js';

const DAY_MS = 86_400_000;

// KEYS: day counter, lifetime counter, click marker. ARGV: amount, day budget, lifetime budget
// (-1: none), click marker expiry (ms). The day counter's expiry is set when it is created.
// Returns {1, day, lifetime} charged; {-1, dayMissing, lifeMissing}; {-2, amount} already
// charged; {-3} day budget; {-4} lifetime budget.
const CHARGE_SCRIPT = `
local d = redis.call('GET', KEYS[1])
local l = redis.call('GET', KEYS[2])
if not d or not l then return {-1, d and 0 or 1, l and 0 or 1} end
local dup = redis.call('GET', KEYS[3])
if dup then return {-2, tonumber(dup)} end
local x = tonumber(ARGV[1])
local db, lb = tonumber(ARGV[2]), tonumber(ARGV[3])
d, l = tonumber(d), tonumber(l)
if lb >= 0 and l + x > lb then return {-4} end
if db >= 0 and d + x > db then return {-3} end
redis.call('INCRBY', KEYS[1], x)
redis.call('INCRBY', KEYS[2], x)
redis.call('SET', KEYS[3], x, 'PX', ARGV[4])
return {1, d + x, l + x}
`;

// Undo one reservation: only counters that still exist (a rebuilt one already excludes it).
// KEYS: day, lifetime, click marker; ARGV: amount, 1 to delete the click marker.
const RELEASE_SCRIPT = `
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECRBY', KEYS[i], ARGV[1]) end
end
if ARGV[2] == '1' then redis.call('DEL', KEYS[3]) end
return 1
`;

const CHARGE = 'giAdSpendCharge';
const RELEASE = 'giAdSpendRelease';

interface Scripts {
  [CHARGE](k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number[]>;
  [RELEASE](k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number>;
}

export interface RedisSpendCountersOptions {
  db: Db;
  redis: Redis;
  /** Key prefix (the configured redis.prefix). */
  prefix: string;
  /** How long a charged click's marker answers duplicates from Redis (the ledger still catches later ones); default 1 h. */
  dedupeTtlMs?: number;
}

function rethrow(err: unknown): never {
  throw dependencyFailure(err) ?? err;
}

export function createRedisSpendCounters(opts: RedisSpendCountersOptions): SpendCounters {
  const { db, redis, prefix } = opts;
  const dedupeTtl = opts.dedupeTtlMs ?? 3_600_000;
  for (const [name, lua] of [[CHARGE, CHARGE_SCRIPT], [RELEASE, RELEASE_SCRIPT]] as const) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, { numberOfKeys: 3, lua });
  }
  const scripts = redis as unknown as Scripts;
  const ledger = createLedgerWriter(db);
  const base = `${prefix}:ads:spend:`;
  const dayKey = (campaignId: string, day: string) => `${base}{${campaignId}}:d:${day}`;
  const lifeKey = (campaignId: string) => `${base}{${campaignId}}:life`;
  const clickKey = (campaignId: string, clickId: string) => `${base}{${campaignId}}:c:${clickId}`;
  // A day's counter outlives its day by two days (late clicks); after that the ledger answers.
  const dayExpiry = (day: string, now: number) => Math.max(60_000, Date.parse(`${day}T00:00:00Z`) + 3 * DAY_MS - now);

  /**
   * Set missing counters from the ledger. SET NX: when several replicas rebuild at once the first
   * wins, and every charge after it went through that counter.
   */
  async function rebuildMissing(campaignIds: readonly string[], day: string, lifetime: boolean, now: number): Promise<void> {
    const sums = await ledgerSums(db, campaignIds, day, { lifetime });
    const m = redis.multi();
    for (const id of campaignIds) {
      const s = sums.get(id) ?? { day: 0, lifetime: 0 };
      m.set(dayKey(id, day), s.day, 'PX', dayExpiry(day, now), 'NX');
      if (lifetime) m.set(lifeKey(id), s.lifetime, 'NX');
    }
    await m.exec().catch(rethrow);
  }

  return {
    kind: 'redis',

    async charge(c: CampaignBudgetRow, clickId, amount, day, at): Promise<ChargeResult> {
      const keys = [dayKey(c.id, day), lifeKey(c.id), clickKey(c.id, clickId)] as const;
      let res: number[] = [];
      for (let tries = 0; tries < 3; tries++) {
        res = await scripts[CHARGE](...keys, amount, c.dailyBudgetMinor ?? -1, c.lifetimeBudgetMinor ?? -1, dedupeTtl).catch(rethrow);
        if (res[0] !== -1) break;
        await rebuildMissing([c.id], day, res[2] === 1, Date.now());
      }
      if (res[0] === -1) throw new Error(`ad spend counters of ${c.id} missing after rebuilding them`);
      if (res[0] === -2) return { charged: false, amountMinor: Number(res[1]), reason: 'already_charged' };
      if (res[0] === -3 || res[0] === -4) {
        // A replay whose marker is gone (expired, Redis restarted) must still read as charged, not refused.
        const before = await ledgerAmount(db, clickId);
        if (before !== null) return { charged: false, amountMinor: before, reason: 'already_charged' };
        return { charged: false, amountMinor: 0, reason: res[0] === -3 ? 'daily_budget' : 'lifetime_budget' };
      }
      let written: boolean;
      try {
        written = await ledger.write({ clickId, campaignId: c.id, amountMinor: amount, currency: c.currency, day, chargedAt: at });
      } catch (err) {
        await scripts[RELEASE](...keys, amount, 1).catch(() => undefined); // best effort: a lost release overstates spend until the next rebuild
        throw err;
      }
      if (!written) {
        // Charged before (the marker expired or Redis restarted): keep the marker, return the money.
        await scripts[RELEASE](...keys, amount, 0).catch(rethrow);
        return { charged: false, amountMinor: await ledgerAmount(db, clickId) ?? 0, reason: 'already_charged' };
      }
      return { charged: true, amountMinor: amount, reason: null };
    },

    async spent(campaignIds, day) {
      const out = new Map<string, Spent>();
      if (campaignIds.length === 0) return out;
      const keys: string[] = [];
      for (const id of campaignIds) keys.push(dayKey(id, day), lifeKey(id));
      const values = await redis.mget(keys).catch(rethrow);
      const missing: string[] = [];
      let lifeMissing = false;
      campaignIds.forEach((id, i) => {
        const d = values[2 * i];
        const l = values[2 * i + 1];
        if (d === null || l === null) {
          missing.push(id);
          lifeMissing ||= l === null;
        } else out.set(id, { day: Number(d), lifetime: Number(l) });
      });
      if (missing.length > 0) {
        // Rare (a new day, after a restart): set the counters so the next read is one MGET again.
        await rebuildMissing(missing, day, lifeMissing, Date.now());
        const again = await redis.mget(missing.flatMap((id) => [dayKey(id, day), lifeKey(id)])).catch(rethrow);
        missing.forEach((id, i) => out.set(id, { day: Number(again[2 * i] ?? 0), lifetime: Number(again[2 * i + 1] ?? 0) }));
      }
      return out;
    },

    async rebuild(day) {
      // Drop every counter (stale days too: they come back from the ledger when asked), then set
      // the lifetime and today's counters of every campaign the ledger knows.
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000).catch(rethrow);
        const counters = keys.filter((k) => !k.includes('}:c:'));
        if (counters.length) await redis.unlink(...counters).catch(rethrow);
        cursor = next;
      } while (cursor !== '0');
      const sums = await allLedgerSums(db, day);
      const now = Date.now();
      const m = redis.multi();
      for (const [id, s] of sums) {
        m.set(dayKey(id, day), s.day, 'PX', dayExpiry(day, now), 'NX');
        m.set(lifeKey(id), s.lifetime, 'NX');
      }
      await m.exec().catch(rethrow);
      return sums.size;
    },
  };
}
