// Ads feature sets: windowed CTRs per creative and placement, click velocity per IP and device
// (stream-maintained, batch-backfillable from the impression and click tables with the same
// meaning), campaign profiles, user-category affinity, provider activity, and the request-time
// features of an ad request.
import type { Db, Tx } from '../../../platform/db/database.js';
import type { FeatureDefinition, FeatureValue, FeatureValues } from '../feature-set.js';
import type { CatalogSet } from './batch-loader.js';
import {
  compareKeys, countWindows, numOrNull, pageEventKeys, pageKeys, readCampaigns, readClickTimes, readCreativeCampaigns,
  readProviderActivity, readUserClickTargets,
} from './feature-sources.repository.js';
import { WINDOWED_SETS, WINDOWS_MS, type ProviderActivityCounts, type VelocityCounts, type WindowCounts } from './window-inputs.js';

/** Beta(α, β) prior of every smoothed CTR: mean 2%, worth 100 impressions; CTR = (clicks + α) / (impressions + α + β). */
export const CTR_PRIOR = { alpha: 2, beta: 98 } as const;
/** Hashed crosses land in 2^20 buckets: few collisions for thousands of advertisers × tens of placements. */
export const CROSS_BUCKETS = 2 ** 20;
/** How many categories user_affinity keeps, by share of clicks. */
export const AFFINITY_TOP_K = 5;

const round = (x: number, digits = 6): number => Math.round(x * 10 ** digits) / 10 ** digits;
const HOUR = WINDOWS_MS['1h'];

export function smoothedCtr(clicks: number, impressions: number): number {
  return round((clicks + CTR_PRIOR.alpha) / (impressions + CTR_PRIOR.alpha + CTR_PRIOR.beta));
}

// --- creative_ctr, placement_ctr ------------------------------------------------------------------

const CTR_WINDOWS = { '1h': WINDOWS_MS['1h'], '24h': WINDOWS_MS['24h'], '7d': WINDOWS_MS['7d'] } as const;

function ctrFeatures(): FeatureDefinition<WindowCounts>[] {
  const out: FeatureDefinition<WindowCounts>[] = [];
  for (const [w, ms] of Object.entries(CTR_WINDOWS) as [keyof typeof CTR_WINDOWS, number][]) {
    const imp = `imp_${w}` as const, clk = `clk_${w}` as const;
    out.push({ name: `ctr_${w}`, type: 'float', ttlMs: ms, description: `smoothed CTR over the trailing ${w}: (clicks + ${CTR_PRIOR.alpha}) / (impressions + ${CTR_PRIOR.alpha + CTR_PRIOR.beta})`, compute: (c) => smoothedCtr(c[clk], c[imp]) });
  }
  for (const [w, ms] of Object.entries(CTR_WINDOWS) as [keyof typeof CTR_WINDOWS, number][]) {
    out.push({ name: `imp_${w}`, type: 'int', ttlMs: ms, description: `impressions in the trailing ${w}`, compute: (c) => c[`imp_${w}`] });
    out.push({ name: `clk_${w}`, type: 'int', ttlMs: ms, description: `clicks in the trailing ${w}`, compute: (c) => c[`clk_${w}`] });
  }
  return out;
}

/** Window counts of creatives or placements from the impression and click tables as of `asOf`. */
async function loadWindowCounts(db: Db | Tx, column: 'creative_id' | 'placement_id', keys: readonly string[], asOf: number): Promise<Map<string, WindowCounts>> {
  // Creatives are narrowed by their campaigns, so the (campaign_id, event_at) index serves the scan.
  const narrow = column === 'creative_id' ? { column: 'campaign_id', values: await readCreativeCampaigns(db, keys) } : undefined;
  const [imp, clk] = await Promise.all([
    countWindows(db, 'impression', column, keys, asOf, CTR_WINDOWS, narrow), countWindows(db, 'click', column, keys, asOf, CTR_WINDOWS, narrow),
  ]);
  const out = new Map<string, WindowCounts>();
  for (const k of keys) {
    const i = imp.get(k), c = clk.get(k);
    out.set(k, {
      asOf, imp_1h: i?.['1h'] ?? 0, clk_1h: c?.['1h'] ?? 0, imp_24h: i?.['24h'] ?? 0, clk_24h: c?.['24h'] ?? 0, imp_7d: i?.['7d'] ?? 0, clk_7d: c?.['7d'] ?? 0,
    });
  }
  return out;
}

// Creatives and placements are few (thousands at most) and their windows slide with time, so an
// incremental run lists them all: a value whose events slid out must drop to zero too. Asking
// which ones had events since (changedSince − 7 d) costs more than loading them all: measured 8 s
// for 4,000 creatives over 1M impressions, the EXISTS probe walks each creative's impressions
// from the oldest.
const allOf = (table: string) => (db: Parameters<typeof pageKeys>[0], q: Parameters<typeof pageKeys>[3]) =>
  pageKeys(db, { table, key: 'id' }, [], { asOf: q.asOf, limit: q.limit, ...(q.afterKey !== undefined ? { afterKey: q.afterKey } : {}) });

/** A windowed CTR set of creatives or placements: the same features, counted per entity column. */
function ctrSet(entity: 'creative' | 'placement'): CatalogSet<WindowCounts> {
  return {
    name: WINDOWED_SETS[entity], version: 1, entity, source: 'stream',
    description: `Impressions, clicks and Beta(${CTR_PRIOR.alpha}, ${CTR_PRIOR.beta})-smoothed CTR of a ${entity} over 1 h / 24 h / 7 d`,
    features: ctrFeatures(),
    batch: {
      listEntities: allOf(entity),
      load: (db, keys, asOf) => loadWindowCounts(db, `${entity}_id`, keys, asOf),
    },
  };
}

export const creativeCtr = ctrSet('creative');
export const placementCtr = ctrSet('placement');

// --- ip_velocity, device_velocity -----------------------------------------------------------------

function velocityFeatures(): FeatureDefinition<VelocityCounts>[] {
  return [
    { name: 'clicks_1m', type: 'int', ttlMs: WINDOWS_MS['1m'], description: 'clicks in the trailing minute', compute: (v) => v.clicks_1m },
    { name: 'clicks_1h', type: 'int', ttlMs: HOUR, description: 'clicks in the trailing hour', compute: (v) => v.clicks_1h },
    { name: 'impressions_1h', type: 'int', ttlMs: HOUR, description: 'impressions in the trailing hour', compute: (v) => v.impressions_1h },
    { name: 'clicks_per_impression_1h', type: 'float', ttlMs: HOUR, description: 'clicks_1h ÷ max(1, impressions_1h): far above any CTR when clicks come without impressions', compute: (v) => round(v.clicks_1h / Math.max(1, v.impressions_1h)) },
    { name: 'min_click_gap_ms', type: 'int', ttlMs: HOUR, description: 'smallest gap between consecutive clicks in the trailing hour; null with fewer than two', compute: (v) => v.min_click_gap_ms },
  ];
}

async function loadVelocity(db: Db | Tx, column: 'ip' | 'device', keys: readonly string[], asOf: number): Promise<Map<string, VelocityCounts>> {
  const [clk, imp, times] = await Promise.all([
    countWindows(db, 'click', column, keys, asOf, { '1m': WINDOWS_MS['1m'], '1h': HOUR }),
    countWindows(db, 'impression', column, keys, asOf, { '1h': HOUR }),
    readClickTimes(db, column, keys, asOf - HOUR, asOf),
  ]);
  const out = new Map<string, VelocityCounts>();
  for (const k of keys) out.set(k, { asOf, clicks_1m: clk.get(k)?.['1m'] ?? 0, clicks_1h: clk.get(k)?.['1h'] ?? 0, impressions_1h: imp.get(k)?.['1h'] ?? 0, min_click_gap_ms: minGap(times.get(k) ?? []) });
  return out;
}

/** Smallest difference between consecutive sorted times; null with fewer than two. */
export function minGap(sortedTimes: readonly number[]): number | null {
  let best: number | null = null;
  for (let i = 1; i < sortedTimes.length; i++) {
    const d = sortedTimes[i]! - sortedTimes[i - 1]!;
    if (best === null || d < best) best = d;
  }
  return best;
}

// Entities: the IPs / devices seen in the trailing hour (any older one has all-zero velocity);
// with changedSince, those seen since an hour before it (their values changed or dropped to zero).
const velocityLoader = (column: 'ip' | 'device'): CatalogSet<VelocityCounts>['batch'] => ({
  listEntities: (db, q) => pageEventKeys(db, ['impression', 'click'], column, HOUR, q),
  load: (db, keys, asOf) => loadVelocity(db, column, keys, asOf),
});

export const ipVelocity: CatalogSet<VelocityCounts> = {
  name: WINDOWED_SETS.ip, version: 1, entity: 'ip', source: 'stream',
  description: 'Click velocity of an IP address: clicks per minute and hour, clicks per impression, smallest gap between clicks',
  features: velocityFeatures(), batch: velocityLoader('ip'),
};

export const deviceVelocity: CatalogSet<VelocityCounts> = {
  name: WINDOWED_SETS.device, version: 1, entity: 'device', source: 'stream',
  description: 'Click velocity of a device: clicks per minute and hour, clicks per impression, smallest gap between clicks',
  features: velocityFeatures(), batch: velocityLoader('device'),
};

// --- provider_activity ----------------------------------------------------------------------------

export const providerActivity: CatalogSet<ProviderActivityCounts> = {
  name: WINDOWED_SETS.providerActivity, version: 1, entity: 'provider', source: 'stream',
  description: 'A provider\'s recent activity from proposal and hire events: proposals per day and week, hires per month, last activity',
  features: [
    { name: 'proposals_24h', type: 'int', ttlMs: WINDOWS_MS['24h'], description: 'proposals sent in the trailing 24 h', compute: (a) => a.proposals_24h },
    { name: 'proposals_7d', type: 'int', ttlMs: WINDOWS_MS['7d'], description: 'proposals sent in the trailing 7 days', compute: (a) => a.proposals_7d },
    { name: 'hires_30d', type: 'int', ttlMs: WINDOWS_MS['30d'], description: 'hires in the trailing 30 days', compute: (a) => a.hires_30d },
    { name: 'last_active_at', type: 'int', ttlMs: null, description: 'event time of the provider\'s latest proposal or hire (UTC ms)', compute: (a) => a.last_active_at },
    { name: 'hours_since_active', type: 'float', ttlMs: HOUR, description: 'hours from last_active_at to as-of; null when never active', compute: (a) => (a.last_active_at === null ? null : round((a.asOf - a.last_active_at) / HOUR, 3)) },
  ],
  batch: {
    // Changed: proposals or hires in (changedSince − 30 d, asOf], as for the windowed ad sets.
    listEntities: (db, q) => pageKeys(db, { table: 'provider', key: 'id', notAfter: 'joined_at' }, (['proposal', 'hire'] as const).map((table) => (
      { table, key: 'provider_id', stamp: 'event_at', lookbackMs: WINDOWS_MS['30d'] })), q),
    async load(db, keys, asOf) {
      const a = await readProviderActivity(db, keys, asOf, { '24h': WINDOWS_MS['24h'], '7d': WINDOWS_MS['7d'] }, WINDOWS_MS['30d']);
      return new Map(keys.map((k) => [k, {
        asOf, proposals_24h: a.proposals.get(k)?.['24h'] ?? 0, proposals_7d: a.proposals.get(k)?.['7d'] ?? 0,
        hires_30d: a.hires.get(k) ?? 0, last_active_at: a.lastAt.get(k) ?? null,
      }]));
    },
  },
};

// --- campaign_profile -------------------------------------------------------------------------------

export interface CampaignInput {
  campaignId: string; asOf: number; advertiserId: string; bidType: string; bidMinor: number; currency: string;
  dailyBudgetMinor: number | null; lifetimeBudgetMinor: number | null; startsAt: number; endsAt: number | null;
  status: string; categories: string[];
}

/** The categories of a campaign's targeting JSON ({"categories": [...]}); anything else targets none. */
export function targetedCategories(targeting: unknown): string[] {
  let t = targeting;
  if (typeof t === 'string') { try { t = JSON.parse(t); } catch { return []; } }
  const cats = (t as { categories?: unknown } | null)?.categories;
  return Array.isArray(cats) ? [...new Set(cats.filter((c): c is string => typeof c === 'string'))].sort(compareKeys) : [];
}

const cf = (name: string, type: FeatureDefinition['type'], description: string, compute: (c: CampaignInput) => FeatureValue): FeatureDefinition<CampaignInput> =>
  ({ name, type, description, ttlMs: null, compute });

export const campaignProfile: CatalogSet<CampaignInput> = {
  name: 'campaign_profile', version: 1, entity: 'campaign', source: 'batch',
  description: 'A campaign\'s bid, budgets, advertiser and targeted categories',
  features: [
    cf('advertiser_id', 'string', 'the advertiser running the campaign', (c) => c.advertiserId),
    cf('bid_type', 'string', 'cpc or cpm', (c) => c.bidType),
    cf('bid_minor', 'int', 'bid in minor units (per click, or per 1,000 impressions)', (c) => c.bidMinor),
    cf('currency', 'string', 'ISO 4217 currency of bid and budgets', (c) => c.currency),
    cf('daily_budget_minor', 'int', 'daily budget, null when uncapped', (c) => c.dailyBudgetMinor),
    cf('lifetime_budget_minor', 'int', 'lifetime budget, null when uncapped', (c) => c.lifetimeBudgetMinor),
    cf('targeted_categories', 'string_list', 'categories of the targeting JSON, sorted', (c) => c.categories),
    cf('status', 'string', 'draft, active, paused or ended', (c) => c.status),
    cf('running', 'bool', 'active and as-of within [starts_at, ends_at)', (c) => c.status === 'active' && c.startsAt <= c.asOf && (c.endsAt === null || c.asOf < c.endsAt)),
  ],
  batch: {
    // `running` flips when a campaign starts or ends: those after changedSince count as changed.
    listEntities: (db, q) => pageKeys(db, { table: 'campaign', key: 'id' }, ['updated_at', 'starts_at', 'ends_at'].map((stamp) => ({ table: 'campaign', key: 'id', stamp })), q),
    async load(db, keys, asOf) {
      const rows = await readCampaigns(db, keys);
      return new Map(rows.map((r) => [String(r.id), {
        campaignId: String(r.id), asOf, advertiserId: String(r.advertiser_id), bidType: String(r.bid_type), bidMinor: Number(r.bid_minor),
        currency: String(r.currency), dailyBudgetMinor: numOrNull(r.daily_budget_minor), lifetimeBudgetMinor: numOrNull(r.lifetime_budget_minor),
        startsAt: Number(r.starts_at), endsAt: numOrNull(r.ends_at), status: String(r.status), categories: targetedCategories(r.targeting),
      }]));
    },
  },
};

// --- user_affinity ------------------------------------------------------------------------------------

export interface UserAffinityInput { userId: string; asOf: number; clicks: number; byCategory: ReadonlyMap<string, number> }

/** Top categories by share of the user's clicks (ties by id): a click on a campaign targeting two categories counts for both. */
export function topAffinities(a: UserAffinityInput): { category: string; share: number }[] {
  return [...a.byCategory].map(([category, n]) => ({ category, share: round(n / Math.max(1, a.clicks)) }))
    .sort((x, y) => y.share - x.share || compareKeys(x.category, y.category)).slice(0, AFFINITY_TOP_K);
}

const WEEK = WINDOWS_MS['7d'];

export const userAffinity: CatalogSet<UserAffinityInput> = {
  name: 'user_affinity', version: 1, entity: 'user', source: 'batch',
  description: `Share of a user's clicks in the trailing 7 days per targeted category, top ${AFFINITY_TOP_K}`,
  features: [
    { name: 'clicks_7d', type: 'int', ttlMs: WEEK, description: 'the user\'s clicks in the trailing 7 days', compute: (a) => a.clicks },
    { name: 'top_categories', type: 'string_list', ttlMs: WEEK, description: `up to ${AFFINITY_TOP_K} categories by share of clicks on campaigns targeting them`, compute: (a) => topAffinities(a).map((x) => x.category) },
    { name: 'top_category_shares', type: 'float_list', ttlMs: WEEK, description: 'share of the 7-day clicks for each of top_categories (aligned)', compute: (a) => topAffinities(a).map((x) => x.share) },
  ],
  batch: {
    // Users who clicked in the 7 days up to as-of (with changedSince: since 7 days before it).
    listEntities: (db, q) => pageEventKeys(db, ['click'], 'user_id', WEEK, q),
    async load(db, keys, asOf) {
      const out = new Map<string, UserAffinityInput & { byCategory: Map<string, number> }>(
        keys.map((k) => [k, { userId: k, asOf, clicks: 0, byCategory: new Map<string, number>() }]));
      for (const r of await readUserClickTargets(db, keys, asOf - WEEK, asOf)) {
        const u = out.get(String(r.user_id));
        if (!u) continue;
        u.clicks++;
        for (const c of targetedCategories(r.targeting)) u.byCategory.set(c, (u.byCategory.get(c) ?? 0) + 1);
      }
      return out;
    },
  },
};

// --- ad_request (request time) ------------------------------------------------------------------------

/** FNV-1a 32-bit over the UTF-8 bytes: stable across processes and versions (unlike a seeded hash). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** The bucket of a cross of two ids: FNV-1a of "a\u0001b" modulo CROSS_BUCKETS. */
export function crossBucket(a: string, b: string, buckets = CROSS_BUCKETS): number {
  return fnv1a32(`${a}\u0001${b}`) % buckets;
}

export interface AdRequest {
  /** Request time (UTC ms). */
  at: number;
  device: string | null;
  advertiserId: string;
  placementId: string;
  /** The campaign's targeted categories (campaign_profile.targeted_categories). */
  campaignCategories?: readonly string[];
  /** The user's user_affinity values, when the user is known. */
  userAffinity?: FeatureValues | null;
}

/** Share of the user's clicks on the campaign's best-matching targeted category; null for an unknown user. */
/** ad_request's user_category_affinity; the ad selector keys its pCTR cache by it without computing the other request features. */
export function categoryAffinity(r: Pick<AdRequest, 'userAffinity' | 'campaignCategories'>): number | null {
  if (!r.userAffinity) return null;
  const cats = r.userAffinity.top_categories, shares = r.userAffinity.top_category_shares;
  if (!Array.isArray(cats) || !Array.isArray(shares)) return null;
  const wanted = new Set(r.campaignCategories ?? []);
  let best = 0;
  cats.forEach((c, i) => { if (wanted.has(String(c))) best = Math.max(best, Number(shares[i] ?? 0)); });
  return best;
}

export const adRequest: CatalogSet<AdRequest> = {
  name: 'ad_request', version: 1, entity: 'impression', source: 'request',
  description: 'Features of one ad request: time, device, hashed crosses and the user\'s affinity to the campaign\'s categories',
  features: [
    { name: 'hour_of_day', type: 'int', ttlMs: null, description: 'UTC hour of the request, 0–23', compute: (r) => new Date(r.at).getUTCHours() },
    { name: 'day_of_week', type: 'int', ttlMs: null, description: 'UTC day of the week, 0 = Sunday', compute: (r) => new Date(r.at).getUTCDay() },
    { name: 'device', type: 'string', ttlMs: null, description: 'device class (mobile, desktop, tablet; "unknown" when absent)', compute: (r) => r.device ?? 'unknown' },
    { name: 'advertiser_x_placement', type: 'int', ttlMs: null, description: `FNV-1a 32-bit of advertiser id × placement id, mod 2^${Math.log2(CROSS_BUCKETS)}`, compute: (r) => crossBucket(r.advertiserId, r.placementId) },
    { name: 'device_x_placement', type: 'int', ttlMs: null, description: `FNV-1a 32-bit of device × placement id, mod 2^${Math.log2(CROSS_BUCKETS)}`, compute: (r) => crossBucket(r.device ?? 'unknown', r.placementId) },
    { name: 'user_category_affinity', type: 'float', ttlMs: null, description: 'the user\'s 7-day click share on the best-matching targeted category of the campaign; null for an unknown user', compute: categoryAffinity },
  ],
};

/** The ad_request values for one request. */
export function computeAdRequestFeatures(r: AdRequest): FeatureValues {
  const out: FeatureValues = {};
  for (const f of adRequest.features) out[f.name] = f.compute(r);
  return out;
}
