// Ad selection: which creatives a placement shows to this request, ranked by expected value
// (pCTR × CPC bid, or CPM bid / 1000), each with a signed impression token. Campaigns, creatives
// and placement rules are held in memory and reloaded every few seconds (refreshMs, and at once
// after a rule change), so a request costs no SQL. Only the campaigns with the best expected value
// at the prior CTR (2%) are scored, up to maxScoredCreatives creatives; the others are excluded as
// `candidate_limit`. A request therefore walks its placement's precomputed list (the campaigns its
// category and advertiser rules admit, best prior value first) only as far as that limit: the
// request's own checks (time, device, country, browsed category) as it goes, then one round trip
// for the frequency caps and the budgets of that stretch, pacing from an in-memory snapshot, and
// pCTRs from a cache per context bucket (pctr-cache.ts; misses scored in one batch). Budgets are
// read per request, so an exhausted campaign stops at once. With `debug` the exact slow path runs:
// every campaign is checked, scored afresh, and listed with the first rule that excluded it.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../../platform/errors/app-error.js';
import { categoryAffinity, CTR_PRIOR, targetedCategories } from '../../../../pipelines/features/definitions/ads-features.js';
import { featureSet } from '../../../../pipelines/features/definitions/catalog.js';
import type { FeatureValues } from '../../../../pipelines/features/feature-set.js';
import type { OnlineStore } from '../../../../pipelines/features/store/feature-store.types.js';
import type { LoadedModel, ModelStore } from '../../model-store.js';
import { adsVisitorInputs, columnPlan, type FeatureAssembler } from '../../request-features.js';
import { ModelUnavailableError } from '../../scoring.errors.js';
import type { ImpressionToken } from '../ad-types.js';
import { signToken } from '../impression-token.js';
import { readPlacementIds, readPlacementRules, readServableCampaigns, readServableCreatives } from './ad-selection.repository.js';
import { createFrequencyCaps, DEFAULT_FREQUENCY_CAP, frequencyCapOf, type CapState, type FrequencyCap, type FrequencyCaps } from './frequency-caps.js';
import { createCoalescer, createGateSnapshot } from './gate-snapshot.js';
import { createPctrCache } from './pctr-cache.js';
import { createPlacementRuleService, DEFAULT_RULE, MAX_ADS_LIMIT, toPlacementRule, type PlacementRule, type PlacementRuleService } from './placement-rules.js';

export const ADS_SELECT_MODEL = 'ads-ctr';

/** Why a campaign did not serve, in the order the rules are checked. */
export type ExclusionRule =
  | 'not_started' | 'no_creatives'
  | 'placement_device' | 'placement_country' | 'category_not_allowed' | 'category_blocked' | 'advertiser_not_allowed' | 'advertiser_blocked'
  | 'targeting_device' | 'targeting_country' | 'targeting_category'
  | 'frequency_cap' | 'budget' | 'pacing' | 'candidate_limit' | 'min_pctr' | 'one_per_advertiser' | 'outranked';

export interface Exclusion { campaignId: string; rule: ExclusionRule; detail: string }

export interface SelectRequest {
  placementId: string;
  userId?: string | null;
  /** Frequency caps count per user, or per session when the user is anonymous. */
  sessionId?: string | null;
  device?: string | null;
  /** ISO 3166-1 alpha-2. */
  country?: string | null;
  /** The category being browsed: campaigns targeting categories must target it. */
  category?: string | null;
  ip?: string | null;
  count: number;
  debug?: boolean;
}

export interface SelectedAd {
  creativeId: string;
  campaignId: string;
  advertiserId: string;
  pctr: number;
  /** Minor units per impression: pctr × CPC bid, or CPM bid / 1000. */
  expectedValue: number;
  bidType: 'cpc' | 'cpm';
  /** The bid as the campaign states it: per click (cpc) or per 1,000 impressions (cpm). */
  priceMinor: number;
  currency: string;
  token: string;
}

export interface SelectResult {
  results: SelectedAd[];
  excluded?: Exclusion[];
  model: string;
  version: number;
}

/** Remaining spend per campaign, minor units (null: uncapped). A campaign at ≤ 0 does not serve; an absent id is not gated. */
export interface BudgetGate { remaining(campaignIds: readonly string[], at: number): Promise<ReadonlyMap<string, number | null>> | ReadonlyMap<string, number | null> }
/** Pacing pass-through rate per campaign in [0, 1]; the request serves the campaign with that probability. Absent ids pass. */
export interface PacingGate { passThrough(campaignIds: readonly string[], at: number): Promise<ReadonlyMap<string, number>> | ReadonlyMap<string, number> }

export interface AdSelectorDeps {
  db: Db;
  redis: Redis | null;
  /** The configured redis.prefix. */
  prefix: string;
  store: Pick<ModelStore, 'get'>;
  /** adsVisitors, when given, lets the pCTR cache serve models reading the visitor's features (else those score every request). */
  features: Pick<FeatureAssembler, 'ads'> & Partial<Pick<FeatureAssembler, 'adsVisitors'>>;
  /**
   * The online store `features` reads. When given, visitors with a user_affinity share the pCTR
   * cache: a model that reads the user only through ad_request__user_category_affinity gets one
   * entry per creative and affinity value (from the stored campaign_profile categories) instead of
   * a bucket per visitor.
   */
  online?: Pick<OnlineStore, 'readMany'>;
  budget?: BudgetGate;
  pacer?: PacingGate;
  tokenSecret: string;
  /** How long an impression token stays valid (default 30 min). */
  tokenTtlMs?: number;
  now?: () => number;
  /** In [0, 1): pacing draws and ties (default Math.random). */
  random?: () => number;
  /** Served ads model (default ads-ctr@champion); `choose` overrides it (canary / experiments). */
  model?: { name: string; alias: string };
  choose?: (unitId: string | null, req: SelectRequest) => Promise<LoadedModel> | LoadedModel;
  /** How often the in-memory catalog is reloaded (default 5 s). */
  refreshMs?: number;
  /** Most creatives scored per request (default 50; see docs/benchmarks.md "Ads: selection" for the cost of more). */
  maxScoredCreatives?: number;
  /** For campaigns whose targeting names no frequencyCap (default 3 per 24 h). */
  defaultFrequencyCap?: FrequencyCap;
  /** Injected counters (default: Redis when given, else the database). */
  frequencyCaps?: FrequencyCaps;
  /** How long predicted CTRs are reused per context bucket (default 5 s: the CTR windows they read span 1 h to 7 d; 0: score every request). */
  pctrCacheMs?: number;
  /** How often the pacing rates of every campaign are read again (default 1 s; rates change once per pacing slot). */
  pacingRefreshMs?: number;
  /** How often every campaign's remaining budget is read again (default 1 s; served campaigns are always read afresh). */
  budgetRefreshMs?: number;
}

interface CachedCampaign {
  id: string; advertiserId: string; bidType: 'cpc' | 'cpm'; bidMinor: number; currency: string;
  startsAt: number; endsAt: number | null;
  categories: readonly string[]; devices: readonly string[] | null; countries: readonly string[] | null;
  cap: FrequencyCap; creatives: readonly string[];
  /** Expected value per impression at the prior CTR: the pre-ranking before scoring. */
  priorValue: number;
}

interface Catalog {
  loadedAt: number; campaigns: CachedCampaign[]; byId: Map<string, CachedCampaign>; rules: Map<string, PlacementRule>; placements: Set<string>;
  /** Rule changes seen when it was loaded: an older catalog is not served. */
  generation: number;
  /** Per placement, the campaigns its category and advertiser rules admit (with creatives), best prior value first. */
  byPlacement: Map<string, CachedCampaign[]>;
  /** Per placement and browsed category, that list less the campaigns targeting other categories (same order). */
  byPlacementCategory: Map<string, { byCategory: Map<string, CachedCampaign[]>; other: CachedCampaign[] }>;
  /** Every category some campaign targets: a browsed category outside it admits only untargeted campaigns. */
  targeted: Set<string>;
}

const PRIOR_CTR = CTR_PRIOR.alpha / (CTR_PRIOR.alpha + CTR_PRIOR.beta);
const HOUR_MS = 3_600_000;
const EMPTY_SEEN: ReadonlyMap<string, number> = new Map();
const EMPTY_RATES: ReadonlyMap<string, number> = new Map();
const NO_CATEGORIES: readonly string[] = [];
const AFFINITY = 'user_category_affinity';
const AFFINITY_COLUMN = `ad_request__${AFFINITY}`;
const CAMPAIGN_PROFILE = featureSet('campaign_profile');

/** A request's pCTR cache bucket; `user`: the visitor's user_affinity when pCTRs are kept per creative and affinity value. */
interface PctrBucket { key: string; user: FeatureValues | null }

interface Ranked { c: CachedCampaign; creativeId: string; pctr: number; ev: number; tie: number }

function stringList(v: unknown): string[] | null {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
}

export const expectedValue = (bidType: 'cpc' | 'cpm', bidMinor: number, pctr: number): number => (bidType === 'cpc' ? pctr * bidMinor : bidMinor / 1000);

export type AdSelector = ReturnType<typeof createAdSelector>;

export function createAdSelector(deps: AdSelectorDeps) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const ttl = deps.tokenTtlMs ?? 30 * 60_000;
  const refreshMs = deps.refreshMs ?? 5_000;
  const maxScored = deps.maxScoredCreatives ?? 50;
  const defaultCap = deps.defaultFrequencyCap ?? DEFAULT_FREQUENCY_CAP;
  const modelRef = deps.model ?? { name: ADS_SELECT_MODEL, alias: 'champion' };
  const caps = deps.frequencyCaps ?? createFrequencyCaps({ db: deps.db, redis: deps.redis, prefix: deps.prefix, defaultCap });
  if (!deps.tokenSecret) throw new Error('ads selection needs a token secret');

  let catalog: Catalog | null = null;
  let loading: Promise<Catalog> | null = null;
  let generation = 0; // bumped by every rule change: the catalog must be reloaded before serving
  const pctrTtl = deps.pctrCacheMs ?? 5_000;
  const pctrs = createPctrCache({ now, ttlMs: pctrTtl });
  const cachePctrs = pctrTtl > 0;

  async function loadCatalog(): Promise<Catalog> {
    const at = now();
    const gen = generation;
    const [rows, creatives, ruleRows, placements] = await Promise.all([
      readServableCampaigns(deps.db, at), readServableCreatives(deps.db, at), readPlacementRules(deps.db), readPlacementIds(deps.db),
    ]);
    const campaigns: CachedCampaign[] = [];
    for (const r of rows) {
      let t: unknown = null;
      try { t = r.targeting ? JSON.parse(r.targeting) : null; } catch { t = null; }
      const bidType = r.bidType === 'cpm' ? 'cpm' : 'cpc';
      const o = (t && typeof t === 'object' ? t : {}) as Record<string, unknown>;
      campaigns.push({
        id: r.id, advertiserId: r.advertiserId, bidType, bidMinor: r.bidMinor, currency: r.currency, startsAt: r.startsAt, endsAt: r.endsAt,
        categories: targetedCategories(t), devices: stringList(o.devices), countries: stringList(o.countries),
        cap: frequencyCapOf(t) ?? defaultCap, creatives: creatives.get(r.id) ?? [],
        priorValue: expectedValue(bidType, r.bidMinor, PRIOR_CTR),
      });
    }
    // Best prior value first (ties by id): the order the candidate limit cuts in.
    campaigns.sort((a, b) => b.priorValue - a.priorValue || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      loadedAt: at, campaigns, byId: new Map(campaigns.map((c) => [c.id, c])), generation: gen,
      rules: new Map(ruleRows.map((r) => [r.placement_id, toPlacementRule(r)])), placements: new Set(placements), byPlacement: new Map(),
      byPlacementCategory: new Map(), targeted: new Set(campaigns.flatMap((c) => c.categories)),
    };
  }

  function reload(): Promise<Catalog> {
    loading ??= loadCatalog().then((c) => { catalog = c; return c; }).finally(() => { loading = null; });
    return loading;
  }

  async function current(): Promise<Catalog> {
    // After a rule change, wait for a catalog loaded since (a load already in flight may predate it).
    while (!catalog || catalog.generation !== generation) await reload();
    // Stale: serve this one, reload behind (a failed reload keeps the last good catalog).
    if (now() - catalog.loadedAt > refreshMs && !loading) reload().catch(() => {});
    return catalog;
  }

  /** The catalog is out of date (a rule changed): the next selection waits for a fresh one. */
  function invalidate(): void {
    generation++;
    reload().catch(() => {});
  }

  // Pacing rates change once per slot and budgets only shrink between charges: both are held in
  // memory for every campaign (gate-snapshot.ts) rather than read per request per candidate. A
  // budget snapshot may be a moment old, so the campaigns about to be served are read again
  // (exhausted ones are dropped, remembered, and the next ones taken): none is served out of budget.
  const pacing = deps.pacer ? createGateSnapshot((ids, at) => deps.pacer!.passThrough(ids, at), { refreshMs: deps.pacingRefreshMs ?? 1_000, now }) : null;
  const budgets = deps.budget ? createGateSnapshot((ids, at) => deps.budget!.remaining(ids, at), { refreshMs: deps.budgetRefreshMs ?? 1_000, now }) : null;
  /** Campaigns found exhausted since, by when: they stay out until a snapshot read after that says otherwise. */
  const exhausted = new Map<string, number>();
  const allIds = (cat: Catalog) => () => cat.campaigns.map((c) => c.id);
  // The reads every served selection needs (picks' budgets, the visitor's features) are coalesced
  // across the selections in flight: one round trip per turn of the event loop, not one each.
  const verifyBudgets = deps.budget ? createCoalescer<string, number | null>((ids) => deps.budget!.remaining(ids, now())) : null;
  const adsVisitors = deps.features.adsVisitors?.bind(deps.features);
  const visitors = adsVisitors ? createCoalescer<string, Awaited<ReturnType<typeof adsVisitors>>[number]>(async (keys) => {
    const got = await adsVisitors(keys.map((k) => { const i = k.indexOf('\u0000'); return { userId: k.slice(0, i) || null, ip: k.slice(i + 1) || null }; }));
    return new Map(keys.map((k, i) => [k, got[i]!]));
  }) : null;
  // Every campaign's stored categories (campaign_profile, what the assembler computes the affinity
  // from), read again as often as pCTRs expire. Only the cache keys use them: an entry is kept only
  // when the row scored for it had the affinity its key names (see affinityScores).
  const online = deps.online;
  const storedCategories = online && cachePctrs ? createGateSnapshot<readonly string[]>(async (ids) => {
    const [rows] = await online.readMany([{ set: CAMPAIGN_PROFILE, entityKeys: ids }], now());
    return new Map(ids.map((id, i) => {
      const v = rows![i]!.values.targeted_categories;
      return [id, Array.isArray(v) ? v.map(String) : NO_CATEGORIES];
    }));
  }, { refreshMs: pctrTtl, now }) : null;

  async function pickModel(unitId: string | null, req: SelectRequest): Promise<LoadedModel> {
    if (deps.choose) return deps.choose(unitId, req);
    const m = deps.store.get(modelRef.name, modelRef.alias);
    if (!m) throw new ModelUnavailableError(modelRef.name, `no version of ${modelRef.name}@${modelRef.alias} is loaded`);
    return m;
  }

  function check(req: SelectRequest): void {
    const problems: { path: string; message: string }[] = [];
    if (typeof req.placementId !== 'string' || req.placementId.length === 0) problems.push({ path: 'placementId', message: 'is required' });
    if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_ADS_LIMIT) problems.push({ path: 'count', message: `must be an integer from 1 to ${MAX_ADS_LIMIT}` });
    if (problems.length) throw new ValidationError(`invalid ad selection request: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  }

  type Rule = Omit<PlacementRule, 'placementId' | 'updatedAt'>;

  /** The placement rules that depend on the campaign alone (creatives, categories, advertisers). */
  function placementRule(c: CachedCampaign, rule: Rule): ExclusionRule | null {
    if (c.creatives.length === 0) return 'no_creatives';
    if (rule.allowedCategories && !c.categories.some((k) => rule.allowedCategories!.includes(k))) return 'category_not_allowed';
    if (rule.blockedCategories.length && c.categories.some((k) => rule.blockedCategories.includes(k))) return 'category_blocked';
    if (rule.allowedAdvertisers && !rule.allowedAdvertisers.includes(c.advertiserId)) return 'advertiser_not_allowed';
    if (rule.blockedAdvertisers.includes(c.advertiserId)) return 'advertiser_blocked';
    return null;
  }

  /** The placement's device and country rules, the same for every campaign. */
  function requestRule(rule: Rule, req: SelectRequest): ExclusionRule | null {
    const device = req.device ?? null, country = req.country ?? null;
    if (rule.devices && (device === null || !rule.devices.includes(device))) return 'placement_device';
    if (rule.countries && (country === null || !rule.countries.includes(country))) return 'placement_country';
    return null;
  }

  /** The campaign's own time window and targeting against this request. */
  function targetingRule(c: CachedCampaign, req: SelectRequest, at: number): ExclusionRule | null {
    if (c.startsAt > at || (c.endsAt !== null && c.endsAt <= at)) return 'not_started';
    const device = req.device ?? null, country = req.country ?? null;
    if (c.devices && (device === null || !c.devices.includes(device))) return 'targeting_device';
    if (c.countries && (country === null || !c.countries.includes(country))) return 'targeting_country';
    // Category is context, not a property of the visitor: only a request naming one is matched.
    if (req.category && c.categories.length > 0 && !c.categories.includes(req.category)) return 'targeting_category';
    return null;
  }

  /** The first static rule excluding a campaign for this request, or null, in the documented order. */
  function staticRule(c: CachedCampaign, rule: Rule, req: SelectRequest, at: number): ExclusionRule | null {
    if (c.startsAt > at || (c.endsAt !== null && c.endsAt <= at)) return 'not_started';
    if (c.creatives.length === 0) return 'no_creatives';
    return requestRule(rule, req) ?? placementRule(c, rule) ?? targetingRule(c, req, at);
  }

  /** The debug text of a static exclusion (built only in debug mode). */
  function staticDetail(c: CachedCampaign, rule: Rule, req: SelectRequest, code: ExclusionRule, at: number): string {
    const device = req.device ?? 'unknown', country = req.country ?? 'unknown';
    switch (code) {
      case 'not_started': return c.startsAt > at ? `starts at ${new Date(c.startsAt).toISOString()}` : `ended at ${new Date(c.endsAt!).toISOString()}`;
      case 'no_creatives': return 'the campaign has no creatives';
      case 'placement_device': return `placement serves ${rule.devices!.join(', ')}; request device ${device}`;
      case 'placement_country': return `placement serves ${rule.countries!.join(', ')}; request country ${country}`;
      case 'category_not_allowed': return `targets ${c.categories.join(', ') || 'no category'}; placement allows ${rule.allowedCategories!.join(', ')}`;
      case 'category_blocked': return `targets ${c.categories.find((k) => rule.blockedCategories.includes(k))}, blocked on this placement`;
      case 'advertiser_not_allowed': return `advertiser ${c.advertiserId} is not allowed on this placement`;
      case 'advertiser_blocked': return `advertiser ${c.advertiserId} is blocked on this placement`;
      case 'targeting_device': return `targets ${c.devices!.join(', ')}; request device ${device}`;
      case 'targeting_country': return `targets ${c.countries!.join(', ')}; request country ${country}`;
      default: return `targets ${c.categories.join(', ')}; request category ${req.category}`;
    }
  }

  /** The placement's campaign list, computed once per catalog (rules are part of the catalog). */
  function placementList(cat: Catalog, placementId: string, rule: Rule): readonly CachedCampaign[] {
    let list = cat.byPlacement.get(placementId);
    if (!list) cat.byPlacement.set(placementId, list = cat.campaigns.filter((c) => placementRule(c, rule) === null));
    return list;
  }

  /**
   * The placement's list as a request browsing `category` walks it: without the campaigns that
   * targetingRule would exclude as targeting_category (same order), computed once per catalog, so a
   * browsed category does not walk past the campaigns of every other one. One list per targeted
   * category; any other category admits only the untargeted campaigns (one list for all of them).
   */
  function requestList(cat: Catalog, placementId: string, rule: Rule, category: string | null | undefined): readonly CachedCampaign[] {
    const all = placementList(cat, placementId, rule);
    if (!category) return all;
    let lists = cat.byPlacementCategory.get(placementId);
    if (!lists) {
      // Every category's list in one pass: a campaign joins the lists of its categories, an untargeted one all of them.
      const byCategory = new Map([...cat.targeted].map((k): [string, CachedCampaign[]] => [k, []]));
      const other: CachedCampaign[] = [];
      for (const c of all) {
        if (c.categories.length === 0) { other.push(c); for (const l of byCategory.values()) l.push(c); } else for (const k of c.categories) byCategory.get(k)!.push(c);
      }
      cat.byPlacementCategory.set(placementId, lists = { byCategory, other });
    }
    return lists.byCategory.get(category) ?? lists.other;
  }

  /**
   * The pCTR cache bucket of this request: placement, device, UTC hour, and the visitor's own
   * features when the model reads them (null: the model reads visitor features this assembler
   * cannot fetch, so nothing is cached). A user_affinity read only through
   * ad_request__user_category_affinity (one number per campaign) does not split the bucket when
   * the stored categories are at hand: `user` carries it and entries are kept per affinity value.
   */
  async function bucketOf(m: LoadedModel, req: SelectRequest, at: number): Promise<PctrBucket | null> {
    const reads = adsVisitorInputs(m);
    let visitor = '';
    let user: FeatureValues | null = null;
    if ((reads.user && req.userId) || (reads.ip && req.ip)) {
      if (!visitors) return null;
      const k = `${reads.user ? req.userId ?? '' : ''}\u0000${reads.ip ? req.ip ?? '' : ''}`;
      const v = (await visitors([k])).get(k)!;
      // A visitor the store knows nothing of reads like an anonymous one: they share a bucket.
      if (reads.user && v.user.found) {
        if (storedCategories && !columnPlan(m).sets.includes('user_affinity')) user = v.user.values;
        else visitor += `u${JSON.stringify(v.user.values)}`;
      }
      if (reads.ip && v.ip.found) visitor += `i${JSON.stringify(v.ip.values)}`;
    }
    return { key: `${req.placementId}\u0000${req.device ?? ''}\u0000${Math.floor(at / HOUR_MS)}\u0000${visitor}`, user };
  }

  /**
   * pCTRs of a visitor with an affinity from the bucket shared with every visitor: an entry per
   * creative and affinity value (the creative id alone when the value is null, as for an anonymous
   * visitor, whose row is then the same). The value is computed as the assembler computes it, from
   * the stored categories held in memory; a scored row whose affinity is not the one its entry
   * names (the categories changed since they were read) is not kept, and is scored afresh for this
   * request: a pCTR served is always the model's on that visitor's row.
   */
  async function affinityScores(m: LoadedModel, req: SelectRequest, at: number, cat: Catalog, bucket: PctrBucket, candidates: readonly CachedCampaign[], creativeIds: string[]): Promise<ArrayLike<number>> {
    const categories = (await storedCategories!.get(allIds(cat), at)).values;
    const entries: string[] = [];
    for (const c of candidates) {
      const a = categoryAffinity({ campaignCategories: categories.get(c.id) ?? NO_CATEGORIES, userAffinity: bucket.user });
      for (const id of c.creatives) entries.push(a === null ? id : `${id}\u0000${a}`);
    }
    const scores = await pctrs.get(m, bucket.key, entries, async (keys) => {
      const ids = keys.map((e) => { const cut = e.indexOf('\u0000'); return cut < 0 ? e : e.slice(0, cut); });
      const a = await deps.features.ads(m, { placementId: req.placementId, userId: req.userId ?? null, ip: req.ip ?? null, device: req.device ?? null, creativeIds: ids });
      const out = Array.from(m.compiled.predict(a.rows, a.n));
      for (let i = 0; i < keys.length; i++) {
        const cut = keys[i]!.indexOf('\u0000');
        const named = cut < 0 ? null : Number(keys[i]!.slice(cut + 1));
        if ((a.rawAt(i)[AFFINITY_COLUMN] ?? null) !== named) out[i] = NaN; // not what the key says: not kept
      }
      return out;
    });
    let redo: number[] | null = null;
    for (let i = 0; i < scores.length; i++) if (Number.isNaN(scores[i])) (redo ??= []).push(i);
    if (redo) {
      const fresh = await scoreFresh(m, req, redo.map((i) => creativeIds[i]!));
      redo.forEach((i, j) => { scores[i] = fresh[j]!; });
    }
    return scores;
  }

  async function scoreFresh(m: LoadedModel, req: SelectRequest, creativeIds: string[]): Promise<ArrayLike<number>> {
    const a = await deps.features.ads(m, { placementId: req.placementId, userId: req.userId ?? null, ip: req.ip ?? null, device: req.device ?? null, creativeIds });
    return m.compiled.predict(a.rows, a.n);
  }

  /**
   * Debug: every campaign checked in the documented order (static rules, frequency cap, budget,
   * pacing, candidate limit), the gates asked about every statically eligible campaign.
   */
  async function candidatesExact(cat: Catalog, rule: Rule, req: SelectRequest, subject: string | null, at: number, exclude: (c: CachedCampaign, rule: ExclusionRule, detail: string) => void): Promise<CachedCampaign[]> {
    const eligible: CachedCampaign[] = [];
    for (const c of cat.campaigns) {
      const code = staticRule(c, rule, req, at);
      if (code) exclude(c, code, staticDetail(c, rule, req, code, at)); else eligible.push(c);
    }
    const ids = eligible.map((c) => c.id);
    const [seen, budgets, rates] = await Promise.all([
      subject && ids.length ? caps.seen(subject, ids, at) : new Map<string, number>(),
      deps.budget && ids.length ? deps.budget.remaining(ids, at) : new Map<string, number | null>(),
      deps.pacer && ids.length ? deps.pacer.passThrough(ids, at) : EMPTY_RATES,
    ]);
    const candidates: CachedCampaign[] = [];
    let creativeCount = 0;
    for (const c of eligible) {
      const count = seen.get(c.id) ?? 0;
      if (count >= c.cap.count) { exclude(c, 'frequency_cap', `${count} of ${c.cap.count} impressions in ${c.cap.windowMs} ms`); continue; }
      const left = budgets.get(c.id);
      if (typeof left === 'number' && left <= 0) { exclude(c, 'budget', `remaining ${left} ${c.currency} minor units`); continue; }
      const rate = rates.get(c.id);
      if (rate !== undefined && !(random() < rate)) { exclude(c, 'pacing', `pass-through rate ${rate}`); continue; }
      if (creativeCount + c.creatives.length > maxScored && candidates.length > 0) {
        exclude(c, 'candidate_limit', `beyond the ${maxScored} best creatives at the prior CTR`);
        continue;
      }
      candidates.push(c);
      creativeCount += c.creatives.length;
    }
    return candidates;
  }

  /**
   * Serving: the same candidates as the exact walk, found by walking the placement's list only as
   * far as the candidate limit. The gates are asked about a stretch at a time (usually one): the
   * campaigns passing this request's checks that could still fit, with room for some to fail caps,
   * budget or pacing. A campaign that cannot fit is skipped before any gate (it would be cut anyway).
   */
  async function candidatesFast(cat: Catalog, rule: Rule, req: SelectRequest, subject: string | null, at: number): Promise<CachedCampaign[]> {
    const candidates: CachedCampaign[] = [];
    if (requestRule(rule, req)) return candidates;
    const list = requestList(cat, req.placementId, rule, req.category);
    const [rates, left] = await Promise.all([
      pacing ? pacing.get(allIds(cat), at).then((x) => x.values) : EMPTY_RATES,
      budgets ? budgets.get(allIds(cat), at) : null,
    ]);
    const outOfBudget = (id: string): boolean => {
      if (!left) return false;
      const v = left.values.get(id);
      if (typeof v === 'number' && v <= 0) return true;
      const since = exhausted.get(id);
      if (since === undefined) return false;
      if (since >= left.readAt) return true;
      exhausted.delete(id); // the snapshot was read after: it knows
      return false;
    };
    let next = 0, creativeCount = 0;
    while (creativeCount < maxScored && next < list.length) {
      const room = maxScored - creativeCount;
      const want = room + Math.max(8, room >> 1); // creatives gathered: the room plus slack for gate failures
      const stretch: CachedCampaign[] = [];
      let gathered = 0;
      for (; next < list.length && gathered < want; next++) {
        const c = list[next]!;
        if (candidates.length > 0 && c.creatives.length > room) continue;
        if (targetingRule(c, req, at) !== null) continue;
        stretch.push(c);
        gathered += c.creatives.length;
      }
      if (stretch.length === 0) break;
      const seen = subject ? await caps.seen(subject, stretch.map((c) => c.id), at) : EMPTY_SEEN;
      for (const c of stretch) {
        if (creativeCount >= maxScored) break;
        if ((seen.get(c.id) ?? 0) >= c.cap.count) continue;
        if (creativeCount + c.creatives.length > maxScored && candidates.length > 0) continue;
        if (outOfBudget(c.id)) continue;
        const rate = rates.get(c.id);
        if (rate !== undefined && !(random() < rate)) continue;
        candidates.push(c);
        creativeCount += c.creatives.length;
      }
    }
    return candidates;
  }

  return {
    /** Placement rules, stored; a change reloads the catalog before the next selection. */
    rules: createPlacementRuleService({ db: deps.db, now, onChange: invalidate }) as PlacementRuleService,
    frequencyCaps: caps,

    async select(req: SelectRequest): Promise<SelectResult> {
      check(req);
      const at = now();
      let cat = await current();
      if (!cat.placements.has(req.placementId) && now() - cat.loadedAt > 1_000) cat = await reload(); // created since the last load?
      if (!cat.placements.has(req.placementId)) throw new NotFoundError(`placement ${req.placementId} does not exist`, { placementId: req.placementId });
      const rule = cat.rules.get(req.placementId) ?? DEFAULT_RULE;
      const debug = req.debug === true;
      const excluded: Exclusion[] = [];
      const exclude = (c: CachedCampaign, rule: ExclusionRule, detail: string) => { if (debug) excluded.push({ campaignId: c.id, rule, detail }); };
      const unitId = req.userId ?? req.sessionId ?? null;
      const modelPromise = pickModel(unitId, req);
      modelPromise.catch(() => {}); // awaited below; the gates run meanwhile
      const keyPromise = debug || !cachePctrs ? null : modelPromise.then((m) => bucketOf(m, req, at));
      keyPromise?.catch(() => {});

      // 1–3. Static rules, frequency caps, budget, pacing and the candidate limit.
      const subject = req.userId ? req.userId : req.sessionId ? `session:${req.sessionId}` : null;
      const candidates = debug ? await candidatesExact(cat, rule, req, subject, at, exclude) : await candidatesFast(cat, rule, req, subject, at);

      // 4. pCTR of every candidate creative: one batch, or the bucket's cache and a batch of its misses.
      const m = await modelPromise;
      const creativeIds: string[] = [];
      for (const c of candidates) for (const id of c.creatives) creativeIds.push(id);
      let scores: ArrayLike<number> = [];
      if (creativeIds.length) {
        const bucket = keyPromise ? await keyPromise : null;
        scores = bucket === null ? await scoreFresh(m, req, creativeIds)
          : bucket.user === null ? await pctrs.get(m, bucket.key, creativeIds, (ids) => scoreFresh(m, req, ids))
            : await affinityScores(m, req, at, cat, bucket, candidates, creativeIds);
      }
      const ranked: Ranked[] = [];
      let k = 0;
      for (const c of candidates) {
        let best: Ranked | null = null;
        let bestPctr = -1;
        for (const creativeId of c.creatives) {
          const pctr = scores[k++]!;
          bestPctr = Math.max(bestPctr, pctr);
          if (pctr < rule.minPctr) continue;
          if (!best || pctr > best.pctr) best = { c, creativeId, pctr, ev: expectedValue(c.bidType, c.bidMinor, pctr), tie: 0 };
        }
        if (best) { best.tie = random(); ranked.push(best); } else exclude(c, 'min_pctr', `best pCTR ${bestPctr.toFixed(5)} < ${rule.minPctr}`);
      }

      // 5. Rank by expected value (ties at random), one per advertiser, up to the count. Serving
      // (budget snapshot): the picks' budgets are read afresh; an exhausted one drops out and the picking reruns.
      ranked.sort((a, b) => b.ev - a.ev || a.tie - b.tie);
      const want = Math.min(req.count, rule.maxAds);
      const pickFrom = (pool: readonly Ranked[], record: boolean): Ranked[] => {
        const advertisers = new Set<string>();
        const picks: Ranked[] = [];
        for (const r of pool) {
          if (picks.length >= want) { if (!record) break; exclude(r.c, 'outranked', `expected value ${r.ev.toFixed(4)} below the ${want} shown`); continue; }
          if (rule.onePerAdvertiser && advertisers.has(r.c.advertiserId)) { if (record) exclude(r.c, 'one_per_advertiser', `advertiser ${r.c.advertiserId} already shown here`); continue; }
          advertisers.add(r.c.advertiserId);
          picks.push(r);
        }
        return picks;
      };
      let pool: readonly Ranked[] = ranked;
      let picks = pickFrom(pool, debug);
      if (!debug && verifyBudgets) {
        const verified = new Set<string>();
        for (;;) {
          const fresh = picks.filter((r) => !verified.has(r.c.id)).map((r) => r.c.id);
          if (fresh.length === 0) break;
          const remaining = await verifyBudgets(fresh);
          const out = new Set(fresh.filter((id) => { const v = remaining.get(id); return typeof v === 'number' && v <= 0; }));
          for (const id of fresh) if (!out.has(id)) verified.add(id);
          if (out.size === 0) break;
          const t = now();
          for (const id of out) exhausted.set(id, t);
          pool = pool.filter((r) => !out.has(r.c.id));
          picks = pickFrom(pool, false);
        }
      }
      const results: SelectedAd[] = [];
      const nonce = picks.length ? randomBytes(12 * picks.length) : null; // one random draw for every impression id of the answer
      for (const r of picks) {
        const payload: ImpressionToken = {
          impressionId: `imp_${nonce!.subarray(12 * results.length, 12 * results.length + 12).toString('base64url')}`, campaignId: r.c.id, creativeId: r.creativeId, placementId: req.placementId,
          userId: req.userId ?? null, bidType: r.c.bidType, priceMinor: r.c.bidMinor, currency: r.c.currency, issuedAt: at, expiresAt: at + ttl,
        };
        results.push({
          creativeId: r.creativeId, campaignId: r.c.id, advertiserId: r.c.advertiserId, pctr: r.pctr, expectedValue: r.ev,
          bidType: r.c.bidType, priceMinor: r.c.bidMinor, currency: r.c.currency, token: signToken(payload, deps.tokenSecret),
        });
      }
      return { results, ...(debug ? { excluded } : {}), model: m.model, version: m.version };
    },

    /** A campaign's frequency cap (its targeting's, else the default). */
    capOf(campaignId: string): FrequencyCap {
      return catalog?.byId.get(campaignId)?.cap ?? defaultCap;
    },

    /** Counts a served impression against the user's (or session's) cap of its campaign. */
    async recordImpression(token: Pick<ImpressionToken, 'campaignId' | 'userId'>, at: number, sessionId?: string | null): Promise<CapState & { windowEndsAt: number } | null> {
      const subject = token.userId ? token.userId : sessionId ? `session:${sessionId}` : null;
      if (!subject) return null;
      if (!catalog) await reload();
      return caps.recordImpression(subject, token.campaignId, at, this.capOf(token.campaignId));
    },

    /** Reloads campaigns, creatives and rules now; selections from this call on wait for the new catalog. */
    async refresh(): Promise<void> {
      invalidate();
      await current();
    },

    /** Creatives whose pCTR came from the cache, and scored ones, since the start. */
    pctrCacheStats: () => pctrs.stats(),
  };
}
