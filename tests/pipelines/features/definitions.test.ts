// Feature definitions on a hand-made marketplace: the batch loaders and transforms as of a fixed
// time give the values worked out by hand below (events after as-of never count), changedSince
// finds only changed entities, pair features explain themselves, and the CLI prints the catalog.
import { spawnSync } from 'node:child_process';
import type { Kysely } from 'kysely';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { insertNewRows } from '../../../pipelines/contract/source.repository.js';
import { schemaHash, type FeatureValues } from '../../../pipelines/features/feature-set.js';
import {
  computeAdRequestFeatures, crossBucket, CTR_PRIOR, fnv1a32,
} from '../../../pipelines/features/definitions/ads-features.js';
import { computeBatch, FEATURE_SETS, featureSet } from '../../../pipelines/features/definitions/catalog.js';
import { ConnectionGraph, loadConnectionGraph } from '../../../pipelines/features/definitions/connection-graph.js';
import { computePairFeatures, loadSkillIdf, RATING_PRIOR, utcOffsetHours } from '../../../pipelines/features/definitions/matching-features.js';
import type { AppError } from '../../../platform/errors/app-error.js';
import { buildCli } from '../../../services/cli/cli.js';
import { DIALECTS, useTestEnv } from '../../helpers/test-env.js';

const DAY = 86_400_000, HOUR = 3_600_000, MIN = 60_000;
/** As-of of every assertion: Saturday 2026-01-10 00:00 UTC (New York is UTC−5, Berlin UTC+1, Kolkata UTC+5:30). */
const T = Date.UTC(2026, 0, 10);
const S0 = T - 100 * DAY; // updated_at of every static row

const at = (event_at: number) => ({ event_at, ingested_at: event_at + 1000 });

async function seed(db: Kysely<never>): Promise<void> {
  const put = (table: string, key: string[], rows: Record<string, unknown>[]) => insertNewRows(db as never, table, key, rows);
  const id = ['id'];
  await put('category', id, [
    { id: 'cat_dev', slug: 'dev', name: 'Development', parent_id: null, updated_at: S0 },
    { id: 'cat_design', slug: 'design', name: 'Design', parent_id: null, updated_at: S0 },
  ]);
  await put('category', id, [
    { id: 'cat_web', slug: 'web', name: 'Web', parent_id: 'cat_dev', updated_at: S0 },
    { id: 'cat_mobile', slug: 'mobile', name: 'Mobile', parent_id: 'cat_dev', updated_at: S0 },
    { id: 'cat_logo', slug: 'logo', name: 'Logo', parent_id: 'cat_design', updated_at: S0 },
  ]);
  await put('skill', id, [
    { id: 'sk_react', slug: 'react', name: 'React', category_id: 'cat_web', updated_at: S0 },
    { id: 'sk_node', slug: 'node', name: 'Node', category_id: 'cat_web', updated_at: S0 },
    { id: 'sk_css', slug: 'css', name: 'CSS', category_id: 'cat_web', updated_at: S0 },
    { id: 'sk_swift', slug: 'swift', name: 'Swift', category_id: 'cat_mobile', updated_at: S0 },
    { id: 'sk_logo', slug: 'logo', name: 'Logo design', category_id: 'cat_logo', updated_at: S0 },
  ]);
  await put('qualification', id, [{ id: 'ql_aws', name: 'AWS', issuer: 'Amazon', updated_at: S0 }]);
  await put('seo_tag', id, [{ id: 'tag_web', slug: 'web', updated_at: S0 }, { id: 'tag_react', slug: 'react-developer', updated_at: S0 }]);
  await put('client', id, [
    { id: 'c1', name: 'Blue Labs', country: 'US', timezone: 'America/New_York', joined_at: T - 500 * DAY, updated_at: S0 },
    { id: 'c2', name: 'Nova Works', country: 'DE', timezone: 'Europe/Berlin', joined_at: T - 500 * DAY, updated_at: S0 },
  ]);
  const provider = (o: Record<string, unknown>) => ({
    headline: 'x', country: 'IN', review_count: 0, rating: null, response_rate: null, completed_jobs: 0, joined_at: T - 400 * DAY,
    last_active_at: null, profile_event_at: 0, updated_at: S0, ...o,
  });
  await put('provider', id, [
    provider({ id: 'p1', hourly_rate_minor: 4500, currency: 'USD', timezone: 'Asia/Kolkata', level: 'expert', rating: 4.8, review_count: 20, response_rate: 0.9, last_active_at: T - 3 * DAY }),
    // Its profile says active after as-of: that snapshot must not count.
    provider({ id: 'p2', hourly_rate_minor: 3000, currency: 'EUR', country: 'DE', timezone: 'Europe/Berlin', level: 'intermediate', last_active_at: T + DAY }),
    provider({ id: 'p3', hourly_rate_minor: 2000, currency: 'USD', country: 'US', timezone: 'America/New_York', level: 'entry', rating: 4.0, review_count: 2 }),
    provider({ id: 'p4', hourly_rate_minor: 2000, currency: 'USD', timezone: 'Asia/Kolkata', level: 'entry', joined_at: T + DAY }), // joins after as-of
  ]);
  await put('provider_skill', ['provider_id', 'skill_id'], [
    { provider_id: 'p1', skill_id: 'sk_react', level: 5, years: 6, updated_at: S0 },
    { provider_id: 'p1', skill_id: 'sk_node', level: 4, years: 4, updated_at: S0 },
    { provider_id: 'p1', skill_id: 'sk_css', level: 3, years: 4, updated_at: S0 },
    { provider_id: 'p2', skill_id: 'sk_swift', level: 3, years: 2, updated_at: S0 },
    { provider_id: 'p2', skill_id: 'sk_node', level: 2, years: 1, updated_at: S0 },
    { provider_id: 'p3', skill_id: 'sk_logo', level: 2, years: 1, updated_at: S0 },
  ]);
  await put('provider_qualification', ['provider_id', 'qualification_id'], [{ provider_id: 'p1', qualification_id: 'ql_aws', obtained_at: T - 100 * DAY, updated_at: S0 }]);
  const job = (o: Record<string, unknown>) => ({
    kind: 'job', title: 't', budget_min_minor: null, budget_max_minor: null, fixed_price_minor: null, currency: 'USD',
    closes_at: null, status: 'open', updated_at: S0, ...o,
  });
  await put('job', id, [
    job({ id: 'j0', client_id: 'c1', category_id: 'cat_web', fixed_price_minor: 90000, posted_at: T - 60 * DAY, status: 'filled' }),
    job({ id: 'j1', client_id: 'c1', category_id: 'cat_web', budget_min_minor: 60000, budget_max_minor: 120000, posted_at: T - 10 * DAY }),
    job({ id: 'j2', client_id: 'c2', category_id: 'cat_logo', fixed_price_minor: 50000, posted_at: T - 20 * DAY, status: 'filled' }),
    job({ id: 'j3', client_id: 'c2', category_id: 'cat_web', fixed_price_minor: 200000, posted_at: T + 2 * DAY }), // after as-of
    job({ id: 'j4', client_id: 'c2', category_id: 'cat_web', fixed_price_minor: 30000, posted_at: T - 30 * DAY }),
    job({ id: 'j5', client_id: 'c2', category_id: 'cat_web', fixed_price_minor: 40000, posted_at: T - 30 * DAY }),
    job({ id: 'j6', client_id: 'c2', category_id: 'cat_web', fixed_price_minor: 80000, posted_at: T - 30 * DAY }),
  ]);
  await put('job_skill', ['job_id', 'skill_id'], [
    { job_id: 'j0', skill_id: 'sk_react', required: 1, updated_at: S0 },
    { job_id: 'j1', skill_id: 'sk_react', required: 1, updated_at: S0 },
    { job_id: 'j1', skill_id: 'sk_node', required: 1, updated_at: S0 },
    { job_id: 'j1', skill_id: 'sk_css', required: 1, updated_at: S0 },
    { job_id: 'j1', skill_id: 'sk_swift', required: 0, updated_at: S0 },
    { job_id: 'j2', skill_id: 'sk_logo', required: 1, updated_at: S0 },
    { job_id: 'j3', skill_id: 'sk_react', required: 1, updated_at: S0 },
  ]);
  await put('job_qualification', ['job_id', 'qualification_id'], [{ job_id: 'j1', qualification_id: 'ql_aws', updated_at: S0 }]);
  await put('job_tag', ['job_id', 'tag_id'], [
    { job_id: 'j0', tag_id: 'tag_react', updated_at: S0 }, { job_id: 'j1', tag_id: 'tag_react', updated_at: S0 },
    { job_id: 'j1', tag_id: 'tag_web', updated_at: S0 }, { job_id: 'j2', tag_id: 'tag_web', updated_at: S0 },
  ]);
  await put('connection', ['user_a', 'user_b'], [
    { user_a: 'c1', user_b: 'p2', kind: 'past_work', connected_at: T - 30 * DAY, updated_at: S0 },
    { user_a: 'p1', user_b: 'p2', kind: 'colleague', connected_at: T - 30 * DAY, updated_at: S0 },
    { user_a: 'p1', user_b: 'p3', kind: 'follow', connected_at: T + DAY, updated_at: S0 }, // after as-of
  ]);
  await put('proposal', id, [
    { id: 'pr0', provider_id: 'p1', job_id: 'j0', price_minor: 90000, currency: 'USD', ...at(T - 55 * DAY) },
    { id: 'pr1', provider_id: 'p1', job_id: 'j1', price_minor: 90000, currency: 'USD', ...at(T - 9 * DAY) },
    { id: 'pr2', provider_id: 'p2', job_id: 'j1', price_minor: 80000, currency: 'EUR', ...at(T - 6 * DAY) },
    { id: 'pr3', provider_id: 'p3', job_id: 'j2', price_minor: 50000, currency: 'USD', ...at(T - 19 * DAY) },
    { id: 'pr4', provider_id: 'p2', job_id: 'j3', price_minor: 99000, currency: 'EUR', ...at(T + 3 * DAY) }, // after as-of
  ]);
  await put('hire', id, [
    { id: 'h0', job_id: 'j0', provider_id: 'p1', proposal_id: 'pr0', amount_minor: 90000, currency: 'USD', ...at(T - 50 * DAY) },
    { id: 'h2', job_id: 'j2', provider_id: 'p3', proposal_id: 'pr3', amount_minor: 50000, currency: 'USD', ...at(T - 18 * DAY) },
    { id: 'h3', job_id: 'j1', provider_id: 'p1', proposal_id: 'pr1', amount_minor: 90000, currency: 'USD', ...at(T + DAY) }, // after as-of
  ]);
  await put('completion', id, [
    { id: 'co0', hire_id: 'h0', outcome: 'completed', rating: 5, ...at(T - 40 * DAY) },
    { id: 'co2', hire_id: 'h2', outcome: 'cancelled', rating: null, ...at(T - 5 * DAY) },
    { id: 'co3', hire_id: 'h3', outcome: 'completed', rating: 5, ...at(T + 2 * DAY) }, // after as-of
  ]);
  // --- ads ---
  await put('advertiser', id, [{ id: 'adv1', name: 'Adv', client_id: 'c1', updated_at: S0 }]);
  const campaign = (o: Record<string, unknown>) => ({
    advertiser_id: 'adv1', name: 'n', bid_type: 'cpc', bid_minor: 80, currency: 'USD', daily_budget_minor: 5000, lifetime_budget_minor: 100000,
    starts_at: T - 30 * DAY, ends_at: T + 30 * DAY, status: 'active', updated_at: S0, ...o,
  });
  await put('campaign', id, [
    campaign({ id: 'cmp1', targeting: JSON.stringify({ categories: ['cat_web'] }) }),
    campaign({ id: 'cmp2', bid_type: 'cpm', bid_minor: 500, targeting: JSON.stringify({ categories: ['cat_web', 'cat_logo'] }), ends_at: T - DAY }),
  ]);
  await put('creative', id, [
    { id: 'cr1', campaign_id: 'cmp1', title: 't', url: 'https://ads.example.com/1', updated_at: S0 },
    { id: 'cr2', campaign_id: 'cmp2', title: 't', url: 'https://ads.example.com/2', updated_at: S0 },
  ]);
  await put('placement', id, [{ id: 'pl_top', slot: 'top', name: 'Top', updated_at: S0 }, { id: 'pl_side', slot: 'side', name: 'Side', updated_at: S0 }]);
  const ev = (eid: string, creative: string, placement: string, user: string | null, ip: string, device: string, t: number, extra: Record<string, unknown> = {}) => ({
    id: eid, campaign_id: creative === 'cr1' ? 'cmp1' : 'cmp2', creative_id: creative, placement_id: placement, user_id: user, ip, device,
    fraud_label: user === null ? 1 : 0, ...at(t), ...extra,
  });
  await put('impression', id, [
    ev('i1', 'cr1', 'pl_top', 'p2', '10.0.0.1', 'mobile', T - 30 * MIN),
    ev('i2', 'cr1', 'pl_top', 'p2', '10.0.0.1', 'mobile', T - 2 * HOUR),
    ev('i3', 'cr1', 'pl_side', 'p3', '10.0.0.2', 'desktop', T - 2 * DAY),
    ev('i4', 'cr1', 'pl_top', 'p3', '10.0.0.2', 'desktop', T - 8 * DAY), // outside 7 d
    ev('i5', 'cr1', 'pl_top', 'p2', '10.0.0.1', 'mobile', T + 10 * MIN), // after as-of
    ev('i6', 'cr2', 'pl_side', 'p2', '10.0.0.1', 'mobile', T - 3 * HOUR),
  ]);
  await put('click', id, [
    ev('k1', 'cr1', 'pl_top', 'p2', '10.0.0.1', 'mobile', T - 29 * MIN, { impression_id: 'i1' }),
    ev('k2', 'cr1', 'pl_side', 'p3', '10.0.0.2', 'desktop', T - 2 * DAY + 5000, { impression_id: 'i3' }),
    ev('k3', 'cr2', 'pl_side', 'p2', '10.0.0.1', 'mobile', T - 3 * HOUR + 5000, { impression_id: 'i6' }),
    // A burst from one IP without impressions.
    ev('k4', 'cr1', 'pl_top', null, '203.0.113.9', 'desktop', T - 40_000, { impression_id: null }),
    ev('k5', 'cr1', 'pl_top', null, '203.0.113.9', 'desktop', T - 30_000, { impression_id: null }),
    ev('k6', 'cr1', 'pl_top', null, '203.0.113.9', 'desktop', T - 29_700, { impression_id: null }),
    ev('k7', 'cr1', 'pl_top', 'p2', '10.0.0.1', 'mobile', T + 11 * MIN, { impression_id: 'i5' }), // after as-of
  ]);
}

async function valuesOf(db: unknown, name: string, keys: string[], asOf = T): Promise<Map<string, FeatureValues>> {
  return computeBatch(featureSet(name), db as never, keys, asOf);
}

describe.each(DIALECTS)('feature definitions on a hand-made marketplace (%s)', (dialect) => {
  const env = useTestEnv({ dialect });
  const db = () => env.db.db;
  beforeAll(async () => { await seed(db() as never); });

  it('computes provider_profile as of a time from the source tables', async () => {
    const v = await valuesOf(db(), 'provider_profile', ['p1', 'p2', 'p3']);
    const { mean: m, weight: C } = RATING_PRIOR;
    expect(v.get('p1')).toEqual({
      provider_id: 'p1',
      skill_ids: ['sk_css', 'sk_node', 'sk_react'], skill_levels: [3, 4, 5], qualification_ids: ['ql_aws'],
      categories: ['cat_web'], parent_categories: ['cat_dev'], hourly_rate_minor: 4500, currency: 'USD', country: 'IN',
      timezone: 'Asia/Kolkata', utc_offset_h: 5.5, seniority: 2,
      smoothed_rating: (C * m + 20 * 4.8) / (C + 20), // (5·4.5 + 20·4.8) / 25 = 4.74
      log_review_count: Number(Math.log(21).toFixed(6)),
      response_rate: 0.9,
      hire_count: 1, // h3 is after as-of
      completion_rate: 1, // h0 completed; co3 after as-of
      last_active_at: T - 3 * DAY, days_since_active: 3, // profile T−3 d beats proposals (T−9 d) and hires (T−50 d)
      client_ids: ['c1'], seo_tags: ['tag_react'], // j0's tags; j1 was hired after as-of
      connection_count: 1, // p1–p2; p1–p3 is after as-of
    });
    const p2 = v.get('p2')!;
    expect(p2).toMatchObject({
      utc_offset_h: 1, seniority: 1, smoothed_rating: m, log_review_count: 0, response_rate: null, hire_count: 0, completion_rate: null,
      last_active_at: T - 6 * DAY, days_since_active: 6, // the profile's T+1 d snapshot is ignored; the proposal at T−6 d counts, T+3 d not
      connection_count: 2, client_ids: [], categories: ['cat_mobile', 'cat_web'],
    });
    expect(v.get('p3')).toMatchObject({
      utc_offset_h: -5, seniority: 0, smoothed_rating: Number(((C * m + 2 * 4.0) / (C + 2)).toFixed(6)), // 30.5 / 7
      hire_count: 1, completion_rate: 0, // one finished hire, cancelled
      last_active_at: T - 18 * DAY, client_ids: ['c2'], seo_tags: ['tag_web'], connection_count: 0,
    });
    // Later, the events after T count.
    const later = (await valuesOf(db(), 'provider_profile', ['p1'], T + 5 * DAY)).get('p1')!;
    expect(later).toMatchObject({ hire_count: 2, connection_count: 2, client_ids: ['c1'], seo_tags: ['tag_react', 'tag_web'], completion_rate: 1 });
  });

  it('computes job_profile with the hourly budget and the wanted seniority', async () => {
    const v = await valuesOf(db(), 'job_profile', ['j1', 'j2']);
    // cat_web has 1 hire by T (< 5), so hours default to 20: $600–$1,200 → $30–$60/h.
    // Budget targets of cat_web jobs posted by T: 30000, 40000, 80000, 90000 (j0), 90000 (j1); j3 is later.
    // j1's mid-rank: (3 below + 2 equal / 2) / 5 = 0.8 → top tertile → expert (2).
    expect(v.get('j1')).toEqual({
      required_skill_ids: ['sk_css', 'sk_node', 'sk_react'], nice_skill_ids: ['sk_swift'], qualification_ids: ['ql_aws'],
      category_id: 'cat_web', parent_category_id: 'cat_dev', budget_min_minor: 60000, budget_max_minor: 120000, fixed_price_minor: null,
      currency: 'USD', budget_target_minor: 90000, estimated_hours: 20, hourly_budget_min_minor: 3000, hourly_budget_max_minor: 6000,
      client_id: 'c1', client_timezone: 'America/New_York', client_utc_offset_h: -5, seo_tags: ['tag_react', 'tag_web'],
      budget_percentile: 0.8, wanted_seniority: 2,
    });
    // cat_logo has one job: too few for a percentile → intermediate.
    expect(v.get('j2')).toMatchObject({ fixed_price_minor: 50000, hourly_budget_min_minor: 2500, hourly_budget_max_minor: 2500, budget_percentile: null, wanted_seniority: 1, client_utc_offset_h: 1 });
  });

  it('computes skill IDF over the jobs of the trailing 90 days', async () => {
    const v = await valuesOf(db(), 'skill_idf', ['sk_react', 'sk_node', 'sk_logo']);
    // Jobs posted in (T−90 d, T]: j0, j1, j2, j4, j5, j6 = 6 (j3 is later). react: j0, j1; node: j1.
    expect(v.get('sk_react')).toEqual({ idf: Number((Math.log(7 / 3) + 1).toFixed(6)), job_count: 2, window_jobs: 6 });
    expect(v.get('sk_node')).toEqual({ idf: Number((Math.log(7 / 2) + 1).toFixed(6)), job_count: 1, window_jobs: 6 });
    const all = await loadSkillIdf(db(), T);
    expect(all.get('sk_swift')).toBe(Number((Math.log(7 / 2) + 1).toFixed(6)));
  });

  it('pages entities in key order, leaves out those not there yet, and finds only changed ones', async () => {
    const set = featureSet('provider_profile');
    expect(await set.batch!.listEntities(db(), { asOf: T, limit: 2 })).toEqual(['p1', 'p2']);
    expect(await set.batch!.listEntities(db(), { asOf: T, afterKey: 'p2', limit: 2 })).toEqual(['p3']); // p4 joins after T
    expect(await featureSet('job_profile').batch!.listEntities(db(), { asOf: T, limit: 100 })).toEqual(['j0', 'j1', 'j2', 'j4', 'j5', 'j6']);
    // Proposals, hires and completions ingested after T − 7 d: co2 (p3), h3 and co3 (p1), pr4 (p2).
    expect(await set.batch!.listEntities(db(), { asOf: T + 10 * DAY, changedSince: T - 7 * DAY, limit: 10 })).toEqual(['p1', 'p2', 'p3']);
    const since = T + 10 * DAY, later = T + 20 * DAY;
    expect(await set.batch!.listEntities(db(), { asOf: later, changedSince: since, limit: 10 })).toEqual([]);
    const k = db() as unknown as Kysely<Record<string, Record<string, unknown>>>;
    await k.updateTable('provider').set({ updated_at: since + 1 }).where('id', '=', 'p2').execute();
    await k.updateTable('provider_skill').set({ updated_at: since + 1 }).where('provider_id', '=', 'p3').execute();
    await k.updateTable('job_tag').set({ updated_at: since + 1 }).where('job_id', '=', 'j2').execute();
    expect(await set.batch!.listEntities(db(), { asOf: later, changedSince: since, limit: 10 })).toEqual(['p2', 'p3']);
    expect(await set.batch!.listEntities(db(), { asOf: later, changedSince: since, afterKey: 'p2', limit: 10 })).toEqual(['p3']);
    expect(await featureSet('job_profile').batch!.listEntities(db(), { asOf: later, changedSince: since, limit: 10 })).toEqual(['j2']);
    // Creatives and placements are always all listed: their windows slide without any write.
    expect(await featureSet('creative_ctr').batch!.listEntities(db(), { asOf: later, changedSince: since, limit: 10 })).toEqual(['cr1', 'cr2']);
    // Other windowed sets: entities with events in (changedSince − window, asOf], new ones or ones that slid out.
    const activity = featureSet('provider_activity').batch!;
    expect(await activity.listEntities(db(), { asOf: later, changedSince: T + 30 * DAY - 5 * DAY, limit: 10 })).toEqual(['p1', 'p2']); // h3 at T + 1 d, pr4 at T + 3 d
    const users = featureSet('user_affinity').batch!;
    expect(await users.listEntities(db(), { asOf: later, limit: 10 })).toEqual([]);
    expect(await users.listEntities(db(), { asOf: later, changedSince: T + 6 * DAY, limit: 10 })).toEqual(['p2']); // k7 at T + 11 min
  });

  it('computes pair features with readable parts', async () => {
    const [providers, jobs, idf, graph] = await Promise.all([
      valuesOf(db(), 'provider_profile', ['p1', 'p2', 'p3']), valuesOf(db(), 'job_profile', ['j1']), loadSkillIdf(db(), T), loadConnectionGraph(db(), T),
    ]);
    const j1 = jobs.get('j1')!;
    const { values, explanations } = computePairFeatures(providers.get('p1')!, j1, { idf, graph });
    const a = Math.log(7 / 2) + 1, b = Math.log(7 / 3) + 1; // IDF of css/node/swift, of react
    expect(values).toEqual({
      required_skill_coverage: 1, skill_overlap_idf: Number(((2 * a + b) / (3 * a + b)).toFixed(6)), nice_to_have_overlap: 0,
      qualification_match: 1, category_match: 1, price_fit: 1, seo_tag_overlap: 0.5,
      network_hops: 2, network_proximity: 0.5, shared_connections: 1, past_client_work: true,
      smoothed_rating: 4.74, log_review_count: Number(Math.log(21).toFixed(6)), response_rate: 0.9, completion_rate: 1, days_since_active: 3,
      timezone_distance_h: 10.5, // +5:30 vs −5
      seniority_gap: 0, // expert for a job priced for expert
    });
    expect(explanations).toMatchObject({
      required_skill_coverage: '3 of 3 required skills',
      nice_to_have_overlap: '0 of 1 nice-to-have skills',
      qualification_match: '1 of 1 required qualifications',
      category_match: "works in the job's category cat_web",
      price_fit: 'rate $45/h within budget $30–$60/h (over ≈ 20 h)',
      seo_tag_overlap: "1 of 2 of the job's tags on past hires",
      network_hops: '2 hops via a shared connection (p2)',
      past_client_work: 'worked for client c1 before',
      log_review_count: '20 reviews',
      timezone_distance_h: 'provider UTC+5.5, client UTC−5: 10.5 h apart',
      seniority_gap: 'expert provider for a job priced for expert (0)',
    });
    expect(explanations.skill_overlap_idf).toMatch(/^3 of 4 job skills matched, \d+% of their IDF weight/);

    const p2 = computePairFeatures(providers.get('p2')!, j1, { idf, graph });
    expect(p2.values).toMatchObject({ price_fit: null, network_hops: 1, category_match: 1, required_skill_coverage: Number((1 / 3).toFixed(6)), nice_to_have_overlap: 1, past_client_work: false });
    expect(p2.explanations).toMatchObject({ price_fit: 'rate in EUR, budget in USD: not compared', network_hops: 'directly connected to the client', required_skill_coverage: '1 of 3 required skills' });

    const p3 = computePairFeatures(providers.get('p3')!, j1, { idf, graph, now: T + 2 * DAY });
    expect(p3.values).toMatchObject({ network_hops: null, network_proximity: 0, category_match: 0, qualification_match: 0, days_since_active: 20, seniority_gap: -2 });
    expect(p3.explanations.network_hops).toBe('no connection within 3 hops');
    // Without a graph the network features are null, not zero.
    expect(computePairFeatures(providers.get('p1')!, j1, { idf }).values.network_hops).toBeNull();
  });

  it('counts impressions and clicks in the trailing windows, never after as-of', async () => {
    const { alpha: A, beta: B } = CTR_PRIOR;
    const cr = await valuesOf(db(), 'creative_ctr', ['cr1', 'cr2']);
    // cr1: impressions i1 (30 min), i2 (2 h), i3 (2 d); i4 is 8 d old, i5 after T. Clicks k1, k4–k6 within 1 h, k2 at 2 d; k7 after T.
    expect(cr.get('cr1')).toEqual({
      ctr_1h: Number(((4 + A) / (1 + A + B)).toFixed(6)), ctr_24h: Number(((4 + A) / (2 + A + B)).toFixed(6)), ctr_7d: Number(((5 + A) / (3 + A + B)).toFixed(6)),
      imp_1h: 1, clk_1h: 4, imp_24h: 2, clk_24h: 4, imp_7d: 3, clk_7d: 5,
    });
    expect(cr.get('cr2')).toMatchObject({ ctr_1h: A / (A + B), imp_1h: 0, clk_1h: 0, imp_24h: 1, clk_24h: 1, imp_7d: 1, clk_7d: 1 });
    const pl = await valuesOf(db(), 'placement_ctr', ['pl_side']);
    expect(pl.get('pl_side')).toMatchObject({ imp_1h: 0, imp_24h: 1, clk_24h: 1, imp_7d: 2, clk_7d: 2 });

    const ipSet = featureSet('ip_velocity');
    expect(await ipSet.batch!.listEntities(db(), { asOf: T, limit: 10 })).toEqual(['10.0.0.1', '203.0.113.9']); // 10.0.0.2 last seen 2 d ago
    const ip = await valuesOf(db(), 'ip_velocity', ['10.0.0.1', '203.0.113.9']);
    expect(ip.get('203.0.113.9')).toEqual({ clicks_1m: 3, clicks_1h: 3, impressions_1h: 0, clicks_per_impression_1h: 3, min_click_gap_ms: 300 });
    expect(ip.get('10.0.0.1')).toEqual({ clicks_1m: 0, clicks_1h: 1, impressions_1h: 1, clicks_per_impression_1h: 1, min_click_gap_ms: null });
    const dev = await valuesOf(db(), 'device_velocity', ['desktop', 'mobile']);
    expect(dev.get('desktop')).toMatchObject({ clicks_1m: 3, clicks_1h: 3, impressions_1h: 0, min_click_gap_ms: 300 });
    expect(dev.get('mobile')).toMatchObject({ clicks_1m: 0, clicks_1h: 1, impressions_1h: 1 });
  });

  it('computes user affinity, provider activity and campaign profiles', async () => {
    expect(await featureSet('user_affinity').batch!.listEntities(db(), { asOf: T, limit: 10 })).toEqual(['p2', 'p3']);
    const ua = await valuesOf(db(), 'user_affinity', ['p2']);
    // p2 clicked k1 (cmp1: web) and k3 (cmp2: web, logo) in 7 d; k7 is after T. web 2/2, logo 1/2.
    expect(ua.get('p2')).toEqual({ clicks_7d: 2, top_categories: ['cat_web', 'cat_logo'], top_category_shares: [1, 0.5] });
    const act = await valuesOf(db(), 'provider_activity', ['p1', 'p2', 'p3']);
    expect(act.get('p1')).toEqual({ proposals_24h: 0, proposals_7d: 0, hires_30d: 0, last_active_at: T - 9 * DAY, hours_since_active: 9 * 24 });
    expect(act.get('p2')).toMatchObject({ proposals_7d: 1, hires_30d: 0, last_active_at: T - 6 * DAY });
    expect(act.get('p3')).toMatchObject({ proposals_7d: 0, hires_30d: 1, last_active_at: T - 18 * DAY });
    const cmp = await valuesOf(db(), 'campaign_profile', ['cmp1', 'cmp2']);
    expect(cmp.get('cmp1')).toEqual({
      advertiser_id: 'adv1', bid_type: 'cpc', bid_minor: 80, currency: 'USD', daily_budget_minor: 5000, lifetime_budget_minor: 100000,
      targeted_categories: ['cat_web'], status: 'active', running: true,
    });
    expect(cmp.get('cmp2')).toMatchObject({ targeted_categories: ['cat_logo', 'cat_web'], running: false }); // ended at T − 1 d
    const req = computeAdRequestFeatures({
      at: T + 14 * HOUR + 30 * MIN, device: 'mobile', advertiserId: 'adv1', placementId: 'pl_top',
      campaignCategories: cmp.get('cmp2')!.targeted_categories as string[], userAffinity: ua.get('p2')!,
    });
    expect(req).toEqual({
      hour_of_day: 14, day_of_week: 6, device: 'mobile', advertiser_x_placement: fnv1a32('adv1\u0001pl_top') % 2 ** 20,
      device_x_placement: fnv1a32('mobile\u0001pl_top') % 2 ** 20, user_category_affinity: 1,
    });
  });
});

describe('time-zone offsets', () => {
  it('follow daylight saving to the minute, cached or not', () => {
    const switchAt = Date.UTC(2026, 2, 8, 7, 0, 0); // New York springs forward at 02:00 EST
    for (let pass = 0; pass < 2; pass++) { // the second pass reads the cache
      expect(utcOffsetHours('America/New_York', switchAt - 1)).toBe(-5);
      expect(utcOffsetHours('America/New_York', switchAt)).toBe(-4);
      expect(utcOffsetHours('Asia/Kolkata', switchAt)).toBe(5.5);
      expect(utcOffsetHours('Australia/Lord_Howe', Date.UTC(2026, 3, 4, 14, 59))).toBe(11);
      expect(utcOffsetHours('Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15, 0))).toBe(10.5);
    }
    expect(utcOffsetHours('Not/AZone', switchAt)).toBeNull();
  });
});

describe('feature catalog', () => {
  it('hashes FNV-1a as specified and buckets crosses stably', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(crossBucket('adv1', 'pl_top')).toBe(crossBucket('adv1', 'pl_top'));
    expect(crossBucket('adv1', 'pl_top')).not.toBe(crossBucket('pl_top', 'adv1'));
  });

  it('finds three hops through the graph and no further', () => {
    const g = new ConnectionGraph([['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['a', 'x'], ['x', 'c']]);
    expect(g.proximity('a', 'b')).toMatchObject({ hops: 1 });
    expect(g.proximity('a', 'c')).toEqual({ hops: 2, shared: 2, via: 'b' });
    expect(g.proximity('a', 'd')).toMatchObject({ hops: 3 });
    expect(g.proximity('a', 'e')).toEqual({ hops: null, shared: 0, via: null });
  });

  it('keeps schema hashes stable and different across versions', () => {
    const set = featureSet('provider_profile');
    expect(schemaHash(set)).toBe(schemaHash(featureSet('provider_profile', 1)));
    expect(schemaHash(set)).toMatch(/^[0-9a-f]{64}$/);
    expect(schemaHash({ ...set, version: 2 })).not.toBe(schemaHash(set));
    const hashes = FEATURE_SETS.map((s) => schemaHash(s));
    expect(new Set(hashes).size).toBe(hashes.length);
    // Pinned: a change to names, types or TTLs must come with a new version.
    expect(schemaHash(featureSet('match_pair')).slice(0, 12)).toBe('82e3b2751a15');
  });

  it('refuses unknown sets and versions, naming them', () => {
    expect(() => featureSet('nope')).toThrow(/unknown feature set "nope"/);
    expect(() => featureSet('job_profile', 9)).toThrow(/job_profile has no version 9/);
    try { featureSet('nope'); } catch (e) { expect((e as AppError).code).toBe('not_found'); }
  });
});

describe('gigintel features (CLI)', () => {
  let out = '';
  afterEach(() => { vi.restoreAllMocks(); out = ''; });
  const run = async (args: string[]) => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
    await buildCli().parseAsync(['node', 'gigintel', 'features', ...args]);
    vi.restoreAllMocks();
    return out;
  };

  it('lists every set with entity, source, feature count and hash prefix', async () => {
    const text = await run(['list']);
    expect(text).toMatch(/^SET\s+ENTITY\s+SOURCE\s+FEATURES\s+BATCH\s+SCHEMA$/m);
    for (const s of FEATURE_SETS) {
      expect(text).toMatch(new RegExp(`^${s.name}@v${s.version}\\s+${s.entity}\\s+${s.source}\\s+${s.features.length}\\s+(yes|no)\\s+${schemaHash(s).slice(0, 12)}$`, 'm'));
    }
  });

  it('describes a set: every feature with type, TTL and description, and as JSON', async () => {
    const text = await run(['describe', 'creative_ctr']);
    expect(text).toContain('creative_ctr@v1  entity creative, source stream, batch-computable');
    expect(text).toMatch(/^ctr_1h\s+float\s+1h\s+smoothed CTR over the trailing 1h/m);
    expect(text).toMatch(/^imp_7d\s+int\s+7d\s+impressions in the trailing 7d$/m);
    const json = JSON.parse(await run(['describe', 'match_pair', '--version', '1', '--json']));
    expect(json).toMatchObject({ name: 'match_pair', version: 1, entity: 'pair', source: 'request', schemaHash: schemaHash(featureSet('match_pair')) });
    expect(json.features.find((f: { name: string }) => f.name === 'price_fit')).toMatchObject({ type: 'float', ttlMs: null, explained: true });
  });

  it('exits 2 with a clear message for an unknown set', () => {
    const r = spawnSync(process.execPath, [new URL('../../../bin/gigintel.js', import.meta.url).pathname, 'features', 'describe', 'nope'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^gigintel: unknown feature set "nope"; known sets: provider_profile, /);
  });
});
