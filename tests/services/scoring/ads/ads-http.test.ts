// Ads delivery over HTTP, end to end on both dialects (MySQL with Redis): selection with signed
// tokens and debug exclusions, an impression, a click charged once against the budget with its
// ad_charge transaction flowing into finance, a duplicate and a tokenless click flagged and never
// charged, a too-fast click released by an operator and then charged exactly once, placement rules.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedMarketplace } from '../../../../pipelines/synthetic/seed-marketplace.js';
import { startTestApp, type TestApp } from '../../../helpers/test-app.js';
import { DIALECTS, useTestEnv } from '../../../helpers/test-env.js';
import { adsEncoding, logisticOver, point, registerModel } from '../scoring-fixtures.js';

type Selected = { creativeId: string; campaignId: string; bidType: string; priceMinor: number; currency: string; token: string };

describe.each(DIALECTS)('ads delivery (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  let t: TestApp;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const raw = () => env.db.db as unknown as Kysely<any>;
  const post = (url: string, payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url, headers: t.adminAuth, payload });
  let placement = '';

  beforeAll(async () => {
    t = await startTestApp(env.config({
      'rateLimit.enabled': false, 'queue.pollIntervalMs': 20, 'registry.gatedAliases': [], 'scoring.models': ['ads-ctr'],
      'ads.tokenSecret': 'a-test-secret-that-is-long-enough-123456', 'ads.pacing.enabled': false, 'ads.frequencyCap': '50/86400000',
    }, { redis: dialect === 'mysql' }));
    // A marketplace whose campaigns run today.
    await seedMarketplace(env.db.db, { providers: 60, jobs: 20, days: 3, seed: `ads-${dialect}`, events: 2_000, end: Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000 });
    await raw().updateTable('campaign').set({ bid_type: 'cpc', daily_budget_minor: 1_000_000, lifetime_budget_minor: null, status: 'active' }).execute();
    await point(t.services.registry, 'ads-ctr', 'champion', await registerModel(t.services.registry, 'ads-ctr', logisticOver(adsEncoding(), 'ads-http')));
    await t.services.scoring.store.refresh();
    await t.services.ads.selector.refresh();
    placement = String((await raw().selectFrom('placement').select('id').orderBy('id').executeTakeFirstOrThrow()).id);
    await t.platform.queue.startWorkers();
  }, 120_000);
  afterAll(async () => { await t?.close(); });

  const select = async (user: string, count = 2) => {
    const res = await post('/v1/ads/select', { placementId: placement, userId: user, device: 'mobile', count, debug: true });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ results: Selected[]; excluded: { campaignId: string; rule: string }[] }>();
  };

  it('selects ranked ads with signed tokens, and says why others were excluded', async () => {
    const r = await select('u-1', 3);
    expect(r.results.length).toBeGreaterThan(0);
    for (const a of r.results) expect(a.token).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(r.excluded.length).toBeGreaterThan(0);
    for (const e of r.excluded) expect(typeof e.rule).toBe('string');
    expect(new Set(r.results.map((a) => a.campaignId)).size).toBe(r.results.length);
  });

  it('charges a real click once, records it and its ad charge, and flags the duplicate', async () => {
    const [ad] = (await select('u-2', 1)).results;
    const at = Date.now();
    expect((await post('/v1/ads/impressions', { token: ad!.token, at })).statusCode).toBe(200);
    const click = await post('/v1/ads/clicks', { token: ad!.token, clickId: 'clk-real-1', at: at + 5_000 });
    expect(click.json()).toMatchObject({ charged: true, flagged: false, amountMinor: ad!.priceMinor, currency: ad!.currency });
    // The same click delivered again (a client retry): still charged once.
    expect((await post('/v1/ads/clicks', { token: ad!.token, clickId: 'clk-real-1', at: at + 5_000 })).json()).toMatchObject({ charged: false, reason: 'already_charged' });
    // Another click on the same impression: a duplicate click, flagged.
    const again = await post('/v1/ads/clicks', { token: ad!.token, clickId: 'clk-real-2', at: at + 9_000 });
    expect(again.json()).toMatchObject({ charged: false, flagged: true, reason: 'flagged' });
    expect(again.json().reasons).toContain('duplicate_click');
    const clickId = click.json().clickId as string;
    await vi.waitFor(async () => {
      const txns = await raw().selectFrom('transaction').selectAll().where('idempotency_key', '=', `ad_charge:${clickId}`).execute();
      expect(txns.map((x) => [x.kind, Number(x.amount_minor)])).toEqual([['ad_charge', ad!.priceMinor]]);
      expect((await raw().selectFrom('click').select('id').where('id', '=', clickId).execute()).length).toBe(1);
    }, { timeout: 20_000, interval: 100 });
    expect(Number((await raw().selectFrom('ad_spend_ledger').select((eb) => eb.fn.countAll().as('n')).where('click_id', '=', clickId).executeTakeFirst())!.n)).toBe(1);
  });

  it('flags a click without a valid token, never charging it', async () => {
    const res = await post('/v1/ads/clicks', { token: 'forged.token', clickId: 'clk-forged' });
    expect(res.json()).toMatchObject({ flagged: true, charged: false, reasons: expect.arrayContaining(['invalid_token']) });
    const list = await t.app.inject({ method: 'GET', url: '/v1/ads/flagged-clicks?status=flagged', headers: t.adminAuth });
    expect(list.json().items.map((c: { clickId: string }) => c.clickId)).toContain('clk-forged');
  });

  it('charges a too-fast click only when an operator releases it, and only once', async () => {
    const [ad] = (await select('u-3', 1)).results;
    const at = Date.now();
    await post('/v1/ads/impressions', { token: ad!.token, at });
    const fast = (await post('/v1/ads/clicks', { token: ad!.token, at: at + 10 })).json();
    expect(fast).toMatchObject({ flagged: true, charged: false });
    expect(fast.reasons).toContain('too_fast');
    const release = await post(`/v1/ads/flagged-clicks/${fast.clickId}/review`, { decision: 'release' });
    expect(release.json()).toMatchObject({ status: 'released', outcome: { charged: true, amountMinor: ad!.priceMinor } });
    const twice = await post(`/v1/ads/flagged-clicks/${fast.clickId}/review`, { decision: 'release' });
    expect(twice.json().outcome).toBeNull();
    expect(Number((await raw().selectFrom('ad_spend_ledger').select((eb) => eb.fn.countAll().as('n')).where('click_id', '=', fast.clickId).executeTakeFirst())!.n)).toBe(1);
  });

  it('keeps placement rules: defaults, set, applied, removed', async () => {
    const url = `/v1/ads/placements/${placement}/rule`;
    expect((await t.app.inject({ method: 'GET', url, headers: t.adminAuth })).json()).toMatchObject({ placementId: placement, maxAds: 3 });
    const put = await t.app.inject({ method: 'PUT', url, headers: t.adminAuth, payload: { maxAds: 1, devices: ['desktop'] } });
    expect(put.json()).toMatchObject({ maxAds: 1, devices: ['desktop'] });
    await t.services.ads.selector.refresh();
    const r = await select('u-4', 3);
    expect(r.results).toEqual([]);
    expect(r.excluded.every((e) => e.rule === 'placement_device')).toBe(true);
    expect((await t.app.inject({ method: 'DELETE', url, headers: t.adminAuth })).json()).toEqual({ removed: true });
    const bad = await t.app.inject({ method: 'PUT', url, headers: t.adminAuth, payload: { maxAds: 0 } });
    expect(bad.statusCode).toBe(400);
  });
});
