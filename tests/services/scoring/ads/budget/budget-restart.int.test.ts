// Redis is a cache of the spend ledger: after Redis restarts empty, the counters come back from
// the ledger (lazily on the next charge or read, or all at once with rebuild()) and the budget is
// still enforced under concurrency.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBudgetService, type BudgetService } from '../../../../../services/scoring/ads/budget/budget.service.js';
import { privateRedis, type PrivateRedis } from '../../../../helpers/redis-server.js';
import { useTestEnv } from '../../../../helpers/test-env.js';
import { addCampaign, ledgerOf, T0 } from './budget-fixtures.js';

describe('ad budgets across a Redis restart', () => {
  const env = useTestEnv({ dialect: 'mysql' });
  let server: PrivateRedis;
  let redis: Redis;
  let budgets: BudgetService;

  beforeAll(async () => {
    server = await privateRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    budgets = createBudgetService({ db: env.db.db, redis, prefix: env.redisPrefix, campaignCacheMs: 0 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const restart = async () => {
    await server.stop();
    await server.start();
    await redis.ping(); // reconnected, and empty
    expect(await redis.dbsize()).toBe(0);
  };

  it('rebuilds the counters lazily from the ledger and still enforces the budget', async () => {
    const a = await addCampaign(env.db.db, { daily: 5_000, lifetime: 20_000 });
    const b = await addCampaign(env.db.db, { daily: 5_000 });
    const first = await Promise.all(Array.from({ length: 30 }, (_, i) => budgets.charge(a, `a1_${i}`, 100, T0)));
    expect(first.every((r) => r.charged)).toBe(true);
    await budgets.charge(b, 'b1_0', 700, T0);

    await restart();

    // A read first: one campaign's counters come back from the ledger.
    expect((await budgets.remaining([b], T0)).get(b)).toMatchObject({ spentTodayMinor: 700, spentLifetimeMinor: 700 });
    // Then 200 concurrent charges on the other one: only the 20 clicks left in its budget pass.
    const second = await Promise.all(Array.from({ length: 200 }, (_, i) => budgets.charge(a, `a2_${i}`, 100, T0)));
    expect(second.filter((r) => r.charged)).toHaveLength(20);
    expect(second.filter((r) => !r.charged).every((r) => r.reason === 'daily_budget')).toBe(true);
    expect(await ledgerOf(env.db.db, a)).toEqual({ rows: 50, sum: 5_000 });
    expect((await budgets.remaining([a], T0)).get(a)).toMatchObject({ spentTodayMinor: 5_000, spentLifetimeMinor: 5_000, remainingMinor: 0 });
    // A click charged before the restart is still charged once (the ledger answers, the counters stay).
    expect(await budgets.charge(a, 'a1_0', 100, T0)).toEqual({ charged: false, amountMinor: 100, reason: 'already_charged' });
    expect((await budgets.remaining([a], T0)).get(a)?.spentTodayMinor).toBe(5_000);
  }, 60_000);

  it('rebuilds every counter at once with rebuild()', async () => {
    const c = await addCampaign(env.db.db, { daily: 1_000 });
    for (let i = 0; i < 4; i++) await budgets.charge(c, `c_${i}`, 200, T0);
    await restart();
    expect((await budgets.rebuild(T0)).campaigns).toBeGreaterThanOrEqual(3);
    const keys = await redis.keys(`${env.redisPrefix}:ads:spend:{${c}}:*`);
    expect(keys.sort()).toEqual([`${env.redisPrefix}:ads:spend:{${c}}:d:2026-11-26`, `${env.redisPrefix}:ads:spend:{${c}}:life`].sort());
    const more = await Promise.all([0, 1, 2].map((i) => budgets.charge(c, `c2_${i}`, 200, T0)));
    expect(more.filter((r) => r.charged)).toHaveLength(1);
  }, 60_000);
});
