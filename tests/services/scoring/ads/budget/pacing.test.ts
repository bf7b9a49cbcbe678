// Pacing over a simulated day of uneven traffic (most of it in the morning): with LinkedIn-style
// throttling the budget lasts into the last quarter of the day and is spent to within 10 %;
// without it the budget runs out in the morning. Then the shared stores: replicas see the same
// rates, and a replayed slot job changes nothing.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniform } from '../../../../../pipelines/synthetic/random.js';
import { createBudgetService, type BudgetService } from '../../../../../services/scoring/ads/budget/budget.service.js';
import { createMemoryPacingStore, createPacingStore, type PacingStore } from '../../../../../services/scoring/ads/budget/pacing-store.js';
import { createPacer } from '../../../../../services/scoring/ads/budget/pacing.js';
import { listBudgetedCampaigns } from '../../../../../services/scoring/ads/budget/pacing.repository.js';
import { REDIS_URL, useTestEnv } from '../../../../helpers/test-env.js';
import { addCampaign, DAY } from './budget-fixtures.js';

const DAY0 = Date.UTC(2026, 10, 27);
const SLOT = 15 * 60_000;
const PRICE = 100;
const BUDGET = 100_000; // 1,000 clicks
// Click opportunities per hour: a morning peak, a quieter afternoon and evening, a dead night.
const HOURLY = [1, 1, 1, 1, 1, 1, 6, 6, 6, 6, 6, 6, 3, 3, 3, 3, 3, 3, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5];
const OPPORTUNITIES = 4_000; // a day's demand: four times the budget

interface DayResult { spent: number; /** When the budget was spent out, if it was. */ exhaustedAt: number | null; charges: number }

/** One day: opportunities arrive as a Poisson process following HOURLY; each one that passes the pacer charges a click. */
async function simulateDay(budgets: BudgetService, campaignId: string, pacing: { profile?: number[] } | null, seed: string): Promise<DayResult> {
  const rnd = uniform(seed, 'traffic');
  const pacer = createPacer({ store: createMemoryPacingStore(), budgets, slotMs: SLOT, alpha: 0.1, profile: pacing?.profile, random: uniform(seed, 'pacer') });
  const total = HOURLY.reduce((a, b) => a + b, 0);
  let spent = 0;
  let charges = 0;
  let exhaustedAt: number | null = null;
  for (let slotStart = DAY0; slotStart < DAY0 + DAY; slotStart += SLOT) {
    const rate = (OPPORTUNITIES * HOURLY[Math.floor((slotStart - DAY0) / 3_600_000)]! / total) / 3_600_000; // per ms
    for (let t = slotStart - Math.log(1 - rnd()) / rate; t < slotStart + SLOT; t -= Math.log(1 - rnd()) / rate) {
      if (pacing && !(await pacer.passThrough([campaignId], t)).get(campaignId)) continue;
      const res = await budgets.charge(campaignId, `sim_${campaignId}_${charges++}`, PRICE, Math.floor(t));
      if (res.charged) spent += res.amountMinor;
      if (exhaustedAt === null && (!res.charged || spent >= BUDGET)) exhaustedAt = t; // the first refusal, or the click that spent it all
    }
    if (pacing) await pacer.updateSlot(slotStart + SLOT, [campaignId]);
  }
  return { spent, exhaustedAt, charges };
}

describe('pacing a day of uneven traffic (sqlite)', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let budgets: BudgetService;
  beforeAll(() => { budgets = createBudgetService({ db: env.db.db, prefix: env.redisPrefix }); });

  const lastQuarter = DAY0 + 0.75 * DAY;

  it('without pacing the budget runs out in the morning', async () => {
    const id = await addCampaign(env.db.db, { daily: BUDGET });
    const r = await simulateDay(budgets, id, null, 'unpaced');
    expect(r.spent).toBe(BUDGET);
    expect(r.exhaustedAt).not.toBeNull();
    expect(r.exhaustedAt!).toBeLessThan(DAY0 + 12 * 3_600_000);
  }, 60_000);

  for (const [label, profile] of [['with the traffic profile', HOURLY], ['with no profile (uniform target)', undefined]] as const) {
    it(`paced ${label}: spends within 10 % of the budget and lasts into the last quarter`, async () => {
      const id = await addCampaign(env.db.db, { daily: BUDGET });
      const r = await simulateDay(budgets, id, { profile: profile ? [...profile] : undefined }, `paced-${label}`);
      expect(r.spent).toBeGreaterThanOrEqual(0.9 * BUDGET);
      expect(r.spent).toBeLessThanOrEqual(BUDGET);
      if (r.exhaustedAt !== null) expect(r.exhaustedAt).toBeGreaterThanOrEqual(lastQuarter);
    }, 60_000);
  }

  it('follows the profile in its target curve', () => {
    const pacer = createPacer({ store: createMemoryPacingStore(), budgets, profile: [1, 3] });
    expect(pacer.targetFraction(DAY0)).toBe(0);
    expect(pacer.targetFraction(DAY0 + DAY / 4)).toBeCloseTo(0.125);
    expect(pacer.targetFraction(DAY0 + DAY / 2)).toBeCloseTo(0.25);
    expect(pacer.targetFraction(DAY0 + 0.75 * DAY)).toBeCloseTo(0.625);
    expect(() => createPacer({ store: createMemoryPacingStore(), budgets, slotMs: 7 * 60_000 + 1 })).toThrow(/invalid pacing options/);
  });
});

const STORES = [
  { label: 'database store on sqlite', dialect: 'sqlite', redis: false },
  { label: 'database store on mysql', dialect: 'mysql', redis: false },
  { label: 'redis store', dialect: 'mysql', redis: true },
] as const;

describe.each(STORES)('pacing state shared by replicas: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let redis: Redis | null = null;
  let store: PacingStore;
  let budgets: BudgetService;
  beforeAll(() => {
    if (target.redis) redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    store = createPacingStore({ db: env.db.db, redis, prefix: env.redisPrefix });
    budgets = createBudgetService({ db: env.db.db, redis, prefix: env.redisPrefix, campaignCacheMs: 0 });
  });
  afterAll(() => { redis?.disconnect(); });

  it('updates each campaign once per slot and every replica reads the same rates', async () => {
    expect(store.kind).toBe(target.redis ? 'redis' : 'database');
    const ahead = await addCampaign(env.db.db, { daily: 1_000 });
    const behind = await addCampaign(env.db.db, { daily: 1_000 });
    const unlimited = await addCampaign(env.db.db, { daily: null });
    const at = DAY0 + 6 * 3_600_000; // target: a quarter of the day's budget
    await budgets.charge(ahead, `p_${ahead}`, 600, at - 60_000);
    const a = createPacer({ store, budgets, alpha: 0.2, initialRate: 0.5, campaigns: (t) => listBudgetedCampaigns(env.db.db, t) });
    const b = createPacer({ store, budgets, alpha: 0.2, initialRate: 0.5 });

    const first = await a.updateSlot(at + 1_000, [ahead, behind, unlimited]);
    expect(first).toMatchObject({ slotEnd: at, updated: 3, skipped: 0 });
    const expected = new Map([[ahead, 0.4], [behind, 0.6], [unlimited, 1]]);
    for (const pacer of [a, b]) {
      const rates = await pacer.rates([ahead, behind, unlimited]);
      for (const [id, p] of expected) expect(rates.get(id)).toBeCloseTo(p);
    }
    // The job delivered twice, by either replica: nothing moves.
    expect(await b.updateSlot(at + 5_000, [ahead, behind, unlimited])).toMatchObject({ updated: 0, skipped: 3 });
    expect((await a.rates([ahead])).get(ahead)).toBeCloseTo(0.4);
    // The next slot applies again; with no list the pacer asks for the campaigns with a daily budget.
    const next = await a.updateSlot(at + SLOT);
    expect(next.updated).toBeGreaterThanOrEqual(2);
    expect((await b.rates([ahead])).get(ahead)).toBeCloseTo(0.32);
    expect((await b.rates([behind])).get(behind)).toBeCloseTo(0.72);
  });

  it('lets requests pass at the stored rate', async () => {
    const id = await addCampaign(env.db.db, { daily: 1_000 });
    await store.write([{ campaignId: id, rate: 0.25, slotStart: DAY0 }], DAY0);
    const pacer = createPacer({ store, budgets, random: uniform('pass', target.label) });
    let passed = 0;
    for (let i = 0; i < 2_000; i++) if ((await pacer.passThrough([id], DAY0)).get(id)) passed++;
    expect(passed / 2_000).toBeGreaterThan(0.2);
    expect(passed / 2_000).toBeLessThan(0.3);
  });
});
