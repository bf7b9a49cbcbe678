// The serving shortcuts of ad selection, on both dialects (MySQL with Redis, SQLite without): the
// pCTR cache per context bucket (equal to fresh scoring, reused within its TTL, dropped by a model
// swap, split by the visitor's own features when the model reads them), the budget snapshot (an
// exhausted campaign stops at the very next request), the pacing snapshot, and a rule change
// applied before the next selection.
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialiseArtifact } from '../../../../../model-registry/artifact.js';
import { WINDOWED_SETS } from '../../../../../pipelines/features/definitions/window-inputs.js';
import { createOnlineStore } from '../../../../../pipelines/features/store/create-online-store.js';
import type { OnlineStore } from '../../../../../pipelines/features/store/feature-store.types.js';
import { SYNTHETIC_END } from '../../../../../pipelines/synthetic/generate-marketplace.js';
import { uniform } from '../../../../../pipelines/synthetic/random.js';
import { createAdSelector, type AdSelectorDeps, type SelectRequest, type SelectResult } from '../../../../../services/scoring/ads/selection/ad-selector.js';
import { prepareModel, type LoadedModel } from '../../../../../services/scoring/model-store.js';
import { createFeatureAssembler, type FeatureAssembler } from '../../../../../services/scoring/request-features.js';
import { DIALECTS, REDIS_URL, useTestEnv } from '../../../../helpers/test-env.js';
import { adsEncoding, logisticOver } from '../../scoring-fixtures.js';

const DAY = 86_400_000;
const T0 = SYNTHETIC_END;
const CATS = ['cat_x', 'cat_y', 'cat_z'];
// 12 campaigns of 6 advertisers, 1–2 creatives each, one category each.
const CAMPAIGNS = Array.from({ length: 12 }, (_, i) => ({ id: `kc_${i}`, adv: `kadv_${i % 6}`, bid: 40 + 5 * i, category: CATS[i % 3]!, creatives: 1 + (i % 2) }));
const PLACEMENT = 'kpl_1';
const ids = (r: SelectResult) => r.results.map((x) => x.campaignId);

/** The fixture's logistic model reading the stored 24 h CTR, and (affinity > 0) the user's category affinity. */
function ctrModel(seed: string, version: number, affinity = 0, ctrWeight = 30): LoadedModel {
  const servable = logisticOver(adsEncoding(), seed);
  const d = servable.featureNames.length;
  const coef = servable.featureNames.map((f) => (f === 'creative_ctr__ctr_24h' ? ctrWeight : f === 'ad_request__user_category_affinity' ? affinity : 0));
  Object.assign(servable, { means: Array(d).fill(0), stds: Array(d).fill(1), intercept: -4, coef });
  const art = serialiseArtifact(servable);
  return prepareModel('ads-ctr', 'champion', { version, algorithm: 'logistic', featureSets: [] }, art.bytes, art.sha256);
}

describe.each(DIALECTS)('ad selection caches (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let clock = T0; // frozen unless a test moves it
  const now = () => clock;
  let model: LoadedModel, deps: AdSelectorDeps;
  let online: OnlineStore, features: FeatureAssembler, redis: Redis | null = null;
  const r = uniform(`cache-ctr-${dialect}`);
  const ctrValues = (ctr: number) => ({ ctr_1h: ctr, ctr_24h: ctr, ctr_7d: ctr, imp_1h: 100, clk_1h: 1, imp_24h: 1000, clk_24h: 10, imp_7d: 5000, clk_7d: 50 });
  const writeCtr = (creativeId: string, ctr: number) => online.write([{ featureSet: WINDOWED_SETS.creative, version: 1, entityKey: creativeId, eventAt: clock, values: ctrValues(ctr) }], clock);
  const req = (extra: Partial<SelectRequest> = {}): SelectRequest => ({ placementId: PLACEMENT, count: 10, device: 'mobile', country: 'US', ...extra });
  /** The model's pCTR of each creative on its features now, for this visitor. */
  const exact = async (m: LoadedModel, creativeIds: string[], userId: string | null = null) => {
    const a = await features.ads(m, { placementId: PLACEMENT, userId, ip: null, device: 'mobile', creativeIds });
    return Array.from(m.compiled.predict(a.rows, a.n));
  };

  beforeAll(async () => {
    const db = env.db.db;
    const k = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    for (const adv of new Set(CAMPAIGNS.map((c) => c.adv))) await k.insertInto('advertiser').values({ id: adv, name: adv, client_id: null, updated_at: T0 }).execute();
    for (const c of CAMPAIGNS) {
      await k.insertInto('campaign').values({
        id: c.id, advertiser_id: c.adv, name: c.id, bid_type: 'cpc', bid_minor: c.bid, currency: 'USD', daily_budget_minor: 100_000, lifetime_budget_minor: null,
        starts_at: T0 - DAY, ends_at: T0 + 30 * DAY, targeting: JSON.stringify({ categories: [c.category] }), status: 'active', updated_at: T0,
      }).execute();
      for (let n = 1; n <= c.creatives; n++) await k.insertInto('creative').values({ id: `${c.id}_cr${n}`, campaign_id: c.id, title: c.id, url: `https://ads.example.com/${c.id}/${n}`, updated_at: T0 }).execute();
    }
    await k.insertInto('placement').values({ id: PLACEMENT, slot: 'cache_slot', name: 'Cache test', updated_at: T0 }).execute();
    if (dialect === 'mysql') redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    online = createOnlineStore({ db, redis, prefix: `${env.redisPrefix}:` });
    for (const c of CAMPAIGNS) for (let n = 1; n <= c.creatives; n++) await writeCtr(`${c.id}_cr${n}`, Math.round((0.005 + r() * 0.05) * 1e6) / 1e6);
    // A user who clicks cat_x ads.
    await online.write([{ featureSet: 'user_affinity', version: 1, entityKey: 'u_fan', eventAt: T0, values: { clicks_7d: 4, top_categories: ['cat_x'], top_category_shares: [1] } }], T0);
    features = createFeatureAssembler({ db, online, now });
    model = ctrModel(`cache-${dialect}`, 1);
    deps = {
      db, redis, prefix: `${env.redisPrefix}:`, store: { get: () => model }, features, tokenSecret: 'cache-secret', now, random: uniform(`cache-random-${dialect}`),
    };
  }, 120_000);
  afterAll(async () => { redis?.disconnect(); });

  it('serves the pCTRs fresh scoring gives, reuses them within the TTL, and scores again after it', async () => {
    const s = createAdSelector({ ...deps, pctrCacheMs: 5_000 });
    await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false });
    const first = await s.select(req());
    expect(first.results.length).toBe(10);
    expect(first.results.map((x) => x.pctr)).toEqual(await exact(model, first.results.map((x) => x.creativeId)));
    expect(ids(first)).toEqual(ids(await s.select(req({ debug: true })))); // the exact path agrees
    const scored = s.pctrCacheStats().misses;
    expect(scored).toBe(CAMPAIGNS.reduce((n, c) => n + c.creatives, 0));

    // A stored CTR moves: within the TTL the cached pCTR serves, after it the new one.
    const top = first.results[0]!;
    const bottom = first.results.at(-1)!;
    await writeCtr(bottom.creativeId, 0.2);
    const within = await s.select(req());
    expect(within.results.find((x) => x.creativeId === bottom.creativeId)?.pctr).toBe(bottom.pctr);
    expect(s.pctrCacheStats().misses).toBe(scored);
    expect(s.pctrCacheStats().hits).toBeGreaterThanOrEqual(scored);
    clock += 5_000;
    try {
      const after = await s.select(req());
      expect(after.results[0]!.creativeId).toBe(bottom.creativeId); // now the best
      expect(after.results[0]!.pctr).toBeCloseTo((await exact(model, [bottom.creativeId]))[0]!, 12);
      expect(after.results[0]!.pctr).toBeGreaterThan(top.pctr);
    } finally {
      clock = T0;
      await writeCtr(bottom.creativeId, 0.01);
    }
  });

  it('never serves the previous model\'s pCTRs after a hot swap', async () => {
    const held = model;
    const s = createAdSelector({ ...deps, pctrCacheMs: 60_000 });
    await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false });
    try {
      const before = await s.select(req());
      model = ctrModel(`cache-${dialect}`, 2, 0, 60); // a new version weighs the CTR twice as much
      const after = await s.select(req());
      expect(after.version).toBe(2);
      expect(after.results.map((x) => x.pctr)).toEqual(await exact(model, after.results.map((x) => x.creativeId)));
      const was = await exact(held, after.results.map((x) => x.creativeId));
      after.results.forEach((x, i) => expect(x.pctr).toBeGreaterThan(was[i]!));
      expect(before.results.map((x) => x.pctr)).toEqual(await exact(held, before.results.map((x) => x.creativeId)));
    } finally {
      model = held;
    }
  });

  it('keys the cache by the visitor\'s features when the model reads them', async () => {
    const held = model;
    model = ctrModel(`cache-${dialect}`, 3, 2); // affinity to the campaign's category raises the pCTR
    try {
      const s = createAdSelector({ ...deps, pctrCacheMs: 60_000 });
      await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false });
      const anonymous = await s.select(req({ userId: 'u_nobody' }));
      const fan = await s.select(req({ userId: 'u_fan' }));
      const stranger = await s.select(req({ userId: 'u_stranger' })); // no features: the anonymous bucket
      expect(fan.results.map((x) => x.pctr)).toEqual(await exact(model, fan.results.map((x) => x.creativeId), 'u_fan'));
      expect(anonymous.results.map((x) => x.pctr)).toEqual(await exact(model, anonymous.results.map((x) => x.creativeId), null));
      expect(stranger.results).toEqual(anonymous.results.map((x) => ({ ...x, token: expect.any(String) })));
      // The fan's affinity moves the pCTR of the cat_x campaigns: not the anonymous bucket's values.
      const anon = await exact(model, fan.results.map((x) => x.creativeId), null);
      const moved = fan.results.filter((x, i) => x.pctr !== anon[i]).map((x) => CAMPAIGNS.find((c) => c.id === x.campaignId)!.category);
      expect(moved).toContain('cat_x');
    } finally {
      model = held;
    }
  });

  it('shares pCTRs between visitors with an affinity: one entry per creative and affinity value, each equal to fresh scoring', async () => {
    const held = model;
    model = ctrModel(`cache-${dialect}`, 4, 2); // reads the user only through ad_request__user_category_affinity
    const profile = (id: string, categories: string[]) => ({ featureSet: 'campaign_profile', version: 1, entityKey: id, eventAt: T0, values: { targeted_categories: categories, bid_minor: 50 } });
    const affinity = (user: string, categories: string[], shares: number[]) => ({ featureSet: 'user_affinity', version: 1, entityKey: user, eventAt: T0, values: { clicks_7d: 4, top_categories: categories, top_category_shares: shares } });
    const top = CAMPAIGNS.at(-1)!; // the highest bid, cat_z: always among the ten shown
    await online.write(CAMPAIGNS.map((c) => profile(c.id, [c.category])), T0);
    await online.write([
      affinity('u_x1', ['cat_x'], [1]), affinity('u_x2', ['cat_x', 'cat_w'], [1, 0.5]), affinity('u_y', ['cat_y'], [0.5]),
      affinity('u_z', ['cat_z'], [0.3]), affinity('u_zy', ['cat_z', 'cat_y'], [0.3, 0.3]),
    ], T0);
    const all = CAMPAIGNS.reduce((n, c) => n + c.creatives, 0);
    const creativesOf = (cat: string) => CAMPAIGNS.filter((c) => c.category === cat).reduce((n, c) => n + c.creatives, 0);
    try {
      const s = createAdSelector({ ...deps, online, pctrCacheMs: 60_000 });
      await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false });
      const served = async (userId: string | null) => {
        const r = await s.select(req({ userId }));
        expect(ids(r)).toContain(top.id);
        expect(r.results.map((x) => x.pctr)).toEqual(await exact(model, r.results.map((x) => x.creativeId), userId));
        return r;
      };
      const anonymous = await served(null);
      expect(s.pctrCacheStats().misses).toBe(all);
      // u_x1: 1 on cat_x campaigns, 0 on the rest: every creative gets an entry of its value.
      const x1 = await served('u_x1');
      expect(s.pctrCacheStats().misses).toBe(2 * all);
      expect(x1.results.map((x) => x.pctr)).not.toEqual(anonymous.results.map((x) => x.pctr));
      // u_x2 has other features but the same value on every campaign: nothing is scored.
      await served('u_x2');
      expect(s.pctrCacheStats().misses).toBe(2 * all);
      // u_y: 0.5 on cat_y campaigns and 0 on cat_x ones (new entries), 0 on cat_z ones (already there).
      await served('u_y');
      expect(s.pctrCacheStats().misses).toBe(2 * all + creativesOf('cat_y') + creativesOf('cat_x'));

      // The stored categories change within the TTL (the selector still holds the old ones): the top
      // campaign moves from cat_z to cat_y. u_z's entry for it names 0.3 but its row now reads 0: not
      // kept, and u_z is served the fresh pCTR. u_zy's row reads 0.3 (through cat_y), as its key names.
      await online.write([profile(top.id, ['cat_y'])], T0);
      await served('u_z');
      await served('u_zy');
      clock += 60_000; // the categories are read again with the pCTRs
      await served('u_z');
      await served('u_zy');
    } finally {
      model = held;
      clock = T0;
      await online.write([profile(top.id, [top.category])], T0);
    }
  });

  it('stops a campaign at the very next request once its budget is exhausted, without reading every budget again', async () => {
    const remaining = new Map(CAMPAIGNS.map((c) => [c.id, 5_000 as number]));
    const calls: number[] = [];
    let pacingReads = 0;
    const s = createAdSelector({
      ...deps, budgetRefreshMs: 60_000, pacingRefreshMs: 60_000,
      budget: { remaining: (list) => { calls.push(list.length); return new Map(list.map((id) => [id, remaining.get(id) ?? null])); } },
      pacer: { passThrough: (list) => { pacingReads++; return new Map(list.map((id) => [id, 1])); } },
    });
    await s.rules.upsert(PLACEMENT, { maxAds: 3, onePerAdvertiser: true });
    const first = await s.select(req());
    expect(first.results).toHaveLength(3);
    expect(calls[0]).toBe(CAMPAIGNS.length); // the snapshot: every campaign once
    expect(calls.slice(1)).toEqual([3]); // then only the three about to be served
    const gone = first.results[0]!.campaignId;
    remaining.set(gone, 0); // charged to the limit elsewhere; the snapshot still says 5,000
    const next = await s.select(req());
    expect(ids(next)).not.toContain(gone);
    expect(next.results).toHaveLength(3);
    // The same answer as the exact path, which asks the gate about every campaign (one per advertiser applies after the drop).
    const exactPath = await createAdSelector({ ...deps, budget: { remaining: (list) => new Map(list.map((id) => [id, remaining.get(id) ?? null])) } }).select(req({ debug: true }));
    expect(exactPath.excluded!.find((e) => e.campaignId === gone)).toMatchObject({ rule: 'budget' });
    expect(ids(next)).toEqual(ids(exactPath));
    const again = await s.select(req());
    expect(ids(again)).not.toContain(gone); // remembered: not even a candidate
    expect(calls.filter((n) => n === CAMPAIGNS.length)).toHaveLength(1); // no snapshot re-read needed
    expect(pacingReads).toBe(1);
    // Money comes back (a budget raised): a snapshot read after that lets it serve again.
    remaining.set(gone, 5_000);
    clock += 60_001;
    try {
      await s.select(req()); // triggers the background re-read
      await new Promise((res) => setTimeout(res, 50));
      expect(ids(await s.select(req()))).toContain(gone);
      expect(pacingReads).toBe(2);
    } finally {
      clock = T0;
    }
  });

  it('applies a rule change to the next selection without a refresh', async () => {
    const s = createAdSelector({ ...deps, refreshMs: 60_000 });
    await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false });
    const all = await s.select(req());
    const blocked = all.results[0]!.advertiserId;
    await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false, blockedAdvertisers: [blocked] });
    const after = await s.select(req());
    expect(after.results.length).toBeGreaterThan(0);
    expect(after.results.map((x) => x.advertiserId)).not.toContain(blocked);
    await s.rules.upsert(PLACEMENT, { maxAds: 10, onePerAdvertiser: false, allowedCategories: ['cat_y'] });
    const onlyY = await s.select(req());
    expect(onlyY.results.map((x) => CAMPAIGNS.find((c) => c.id === x.campaignId)!.category)).toEqual(onlyY.results.map(() => 'cat_y'));
  });
});
