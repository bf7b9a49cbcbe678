// Budgets on every backend: the database counters on SQLite and MySQL, Redis counters over MySQL.
// Concurrent charges never overspend, a click is charged once, lifetime budgets hold, a failed
// ledger write gives the reservation back, and counters come back from the ledger.
import { Redis } from 'ioredis';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../../platform/errors/app-error.js';
import type { ChargeResult } from '../../../../../services/scoring/ads/ad-types.js';
import { createBudgetService, type BudgetService } from '../../../../../services/scoring/ads/budget/budget.service.js';
import { REDIS_URL, useTestEnv } from '../../../../helpers/test-env.js';
import { addCampaign, DAY, ledgerOf, T0 } from './budget-fixtures.js';

const TARGETS = [
  { label: 'database counters on sqlite', dialect: 'sqlite', redis: false },
  { label: 'database counters on mysql', dialect: 'mysql', redis: false },
  { label: 'redis counters over mysql', dialect: 'mysql', redis: true },
] as const;

const count = (results: ChargeResult[], pred: (r: ChargeResult) => boolean) => results.filter(pred).length;

/** Fails every insert into the spend ledger. */
class FailLedgerWrites implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node;
    const text = JSON.stringify(node);
    const insert = node.kind === 'InsertQueryNode' || (node.kind === 'RawNode' && /insert/i.test(text));
    if (insert && text.includes('ad_spend_ledger')) throw new Error('ledger write failed (test)');
    return node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> { return args.result; }
}

describe.each(TARGETS)('ad budgets: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let redis: Redis | null = null;
  let budgets: BudgetService;

  beforeAll(async () => {
    if (target.redis) redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    budgets = createBudgetService({ db: env.db.db, redis, prefix: env.redisPrefix, campaignCacheMs: 0 });
  });
  afterAll(() => { redis?.disconnect(); });

  it(`uses the ${target.redis ? 'redis' : 'database'} counters`, () => {
    expect(budgets.kind).toBe(target.redis ? 'redis' : 'database');
  });

  it('charges at most the budget under 200 concurrent clicks, and the ledger agrees', async () => {
    const id = await addCampaign(env.db.db, { daily: 5_000 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => budgets.charge(id, `clk_${id}_${i}`, 100, T0 + i)));
    const charged = count(results, (r) => r.charged);
    expect(charged).toBe(50); // budget for exactly 50 at 100: strict reservation leaves no overshoot
    expect(count(results, (r) => r.reason === 'daily_budget')).toBe(150);
    expect(await ledgerOf(env.db.db, id)).toEqual({ rows: 50, sum: 5_000 });
    const state = (await budgets.remaining([id], T0)).get(id)!;
    expect(state).toMatchObject({ spentTodayMinor: 5_000, spentLifetimeMinor: 5_000, remainingMinor: 0, active: true });
  });

  it('never exceeds the budget with uneven prices', async () => {
    const id = await addCampaign(env.db.db, { daily: 5_000 });
    const prices = Array.from({ length: 200 }, (_, i) => 40 + ((i * 37) % 121)); // 40..160
    const results = await Promise.all(prices.map((p, i) => budgets.charge(id, `clk_${id}_${i}`, p, T0)));
    const { rows, sum } = await ledgerOf(env.db.db, id);
    expect(rows).toBe(count(results, (r) => r.charged));
    expect(sum).toBe(results.reduce((s, r) => s + (r.charged ? r.amountMinor : 0), 0));
    expect(sum).toBeLessThanOrEqual(5_000);
    expect(sum).toBeGreaterThan(5_000 - 160); // refused only when the click did not fit
  });

  it('charges a click once when it is delivered many times at once and again later', async () => {
    const id = await addCampaign(env.db.db, { daily: 10_000 });
    const first = await Promise.all(Array.from({ length: 10 }, () => budgets.charge(id, `dup_${id}`, 120, T0)));
    expect(count(first, (r) => r.charged)).toBe(1);
    expect(first.filter((r) => !r.charged)).toEqual(Array(9).fill({ charged: false, amountMinor: 120, reason: 'already_charged' }));
    expect(await budgets.charge(id, `dup_${id}`, 120, T0 + 60_000)).toEqual({ charged: false, amountMinor: 120, reason: 'already_charged' });
    expect(await ledgerOf(env.db.db, id)).toEqual({ rows: 1, sum: 120 });
    expect((await budgets.remaining([id], T0)).get(id)?.spentTodayMinor).toBe(120);
  });

  it('holds the lifetime budget across days and the daily one per UTC day', async () => {
    const id = await addCampaign(env.db.db, { daily: 200, lifetime: 300 });
    const day1 = await Promise.all([0, 1, 2].map((i) => budgets.charge(id, `d1_${id}_${i}`, 100, T0)));
    expect(count(day1, (r) => r.charged)).toBe(2);
    expect(count(day1, (r) => r.reason === 'daily_budget')).toBe(1);
    const day2a = await budgets.charge(id, `d2_${id}_0`, 100, T0 + DAY);
    const day2b = await budgets.charge(id, `d2_${id}_1`, 100, T0 + DAY);
    expect([day2a.charged, day2b.reason]).toEqual([true, 'lifetime_budget']);
    const state = (await budgets.remaining([id], T0 + DAY)).get(id)!;
    expect(state).toMatchObject({ spentTodayMinor: 100, spentLifetimeMinor: 300, remainingMinor: 0 });
    expect((await budgets.remaining([id], T0)).get(id)?.spentTodayMinor).toBe(200);
  });

  it('refuses inactive, unknown, not yet started and ended campaigns and bad input', async () => {
    const paused = await addCampaign(env.db.db, { status: 'paused' });
    const later = await addCampaign(env.db.db, { startsAt: T0 + DAY });
    const ended = await addCampaign(env.db.db, { endsAt: T0 });
    for (const id of [paused, later, ended, 'cmp_missing']) {
      expect(await budgets.charge(id, `clk_${id}`, 100, T0)).toEqual({ charged: false, amountMinor: 0, reason: 'campaign_inactive' });
    }
    await expect(budgets.charge(paused, 'c', 0, T0)).rejects.toBeInstanceOf(ValidationError);
    await expect(budgets.charge(paused, 'x'.repeat(65), 10, T0)).rejects.toBeInstanceOf(ValidationError);
    const states = await budgets.remaining([paused, 'cmp_missing'], T0);
    expect([...states.keys()]).toEqual([paused]);
    expect(states.get(paused)?.active).toBe(false);
  });

  it('reports unlimited campaigns with a null remainder', async () => {
    const id = await addCampaign(env.db.db, { daily: null, lifetime: null });
    expect((await budgets.charge(id, `u_${id}`, 100_000, T0)).charged).toBe(true);
    expect((await budgets.remaining([id], T0)).get(id)).toMatchObject({ remainingMinor: null, spentTodayMinor: 100_000 });
  });

  it('gives the reservation back when the ledger write fails', async () => {
    const id = await addCampaign(env.db.db, { daily: 1_000 });
    const failing = createBudgetService({ db: env.db.db.withPlugin(new FailLedgerWrites()), redis, prefix: env.redisPrefix, campaignCacheMs: 0 });
    await expect(failing.charge(id, `f_${id}`, 600, T0)).rejects.toThrow(/ledger write failed/);
    expect((await budgets.remaining([id], T0)).get(id)?.spentTodayMinor).toBe(0);
    expect(await budgets.charge(id, `f_${id}`, 600, T0)).toEqual({ charged: true, amountMinor: 600, reason: null }); // retry of the same click
    expect(await ledgerOf(env.db.db, id)).toEqual({ rows: 1, sum: 600 });
  });

  it('rebuilds the counters from the ledger', async () => {
    const id = await addCampaign(env.db.db, { daily: 1_000 });
    for (let i = 0; i < 3; i++) await budgets.charge(id, `r_${id}_${i}`, 200, T0);
    // Corrupt the counters behind the service's back, then rebuild.
    if (redis) await redis.set(`${env.redisPrefix}:ads:spend:{${id}}:d:${new Date(T0).toISOString().slice(0, 10)}`, 0);
    else await env.db.db.updateTable('ad_spend_counter').set({ spent_minor: 0 }).where('campaign_id', '=', id).execute();
    expect((await budgets.remaining([id], T0)).get(id)?.spentTodayMinor).toBe(0);
    expect((await budgets.rebuild(T0)).campaigns).toBeGreaterThan(0);
    expect((await budgets.remaining([id], T0)).get(id)).toMatchObject({ spentTodayMinor: 600, spentLifetimeMinor: 600 });
    const more = await Promise.all([0, 1, 2].map((i) => budgets.charge(id, `r2_${id}_${i}`, 200, T0)));
    expect(count(more, (r) => r.charged)).toBe(2);
  });
});
