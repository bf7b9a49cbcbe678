// Ad selection: which creatives a placement shows to this request, ranked by expected value
// (pCTR × CPC bid, or CPM bid / 1000), each with a signed impression token. Campaigns, creatives
// and placement rules are held in memory and reloaded every few seconds (refreshMs), so a request
// costs no SQL: the static rules run in memory, then one Redis round trip for frequency caps (with
// the budget and pacing checks beside it), then one batch of features and one model call for the
// surviving creatives. To bound that batch, only the campaigns with the best expected value at the
// prior CTR (2%) are scored, up to maxScoredCreatives creatives; the others are excluded as
// `candidate_limit`. With `debug`, every campaign that did not serve is listed with the first rule
// that excluded it.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Db } from '../../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../../platform/errors/app-error.js';
import { CTR_PRIOR, targetedCategories } from '../../../../pipelines/features/definitions/ads-features.js';
import type { LoadedModel, ModelStore } from '../../model-store.js';
import type { FeatureAssembler } from '../../request-features.js';
import { ModelUnavailableError } from '../../scoring.errors.js';
import type { ImpressionToken } from '../ad-types.js';
import { signToken } from '../impression-token.js';
import { readPlacementIds, readPlacementRules, readServableCampaigns, readServableCreatives } from './ad-selection.repository.js';
import { createFrequencyCaps, DEFAULT_FREQUENCY_CAP, frequencyCapOf, type CapState, type FrequencyCap, type FrequencyCaps } from './frequency-caps.js';
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
  features: Pick<FeatureAssembler, 'ads'>;
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
  /** Statically eligible campaigns (time aside) per request context. */
  eligible: Map<string, CachedCampaign[]>;
}

const PRIOR_CTR = CTR_PRIOR.alpha / (CTR_PRIOR.alpha + CTR_PRIOR.beta);

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

  async function loadCatalog(): Promise<Catalog> {
    const at = now();
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
      loadedAt: at, campaigns, byId: new Map(campaigns.map((c) => [c.id, c])),
      rules: new Map(ruleRows.map((r) => [r.placement_id, toPlacementRule(r)])), placements: new Set(placements), eligible: new Map(),
    };
  }

  function reload(): Promise<Catalog> {
    loading ??= loadCatalog().then((c) => { catalog = c; return c; }).finally(() => { loading = null; });
    return loading;
  }

  async function current(): Promise<Catalog> {
    if (!catalog) return reload();
    // Stale: serve this one, reload behind (a failed reload keeps the last good catalog).
    if (now() - catalog.loadedAt > refreshMs && !loading) reload().catch(() => {});
    return catalog;
  }

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

  /** The first static rule excluding a campaign for this request, or null; `at` null skips the time checks. */
  function staticRule(c: CachedCampaign, rule: Rule, req: SelectRequest, at: number | null): ExclusionRule | null {
    if (at !== null && (c.startsAt > at || (c.endsAt !== null && c.endsAt <= at))) return 'not_started';
    if (c.creatives.length === 0) return 'no_creatives';
    const device = req.device ?? null, country = req.country ?? null;
    if (rule.devices && (device === null || !rule.devices.includes(device))) return 'placement_device';
    if (rule.countries && (country === null || !rule.countries.includes(country))) return 'placement_country';
    if (rule.allowedCategories && !c.categories.some((k) => rule.allowedCategories!.includes(k))) return 'category_not_allowed';
    if (rule.blockedCategories.length && c.categories.some((k) => rule.blockedCategories.includes(k))) return 'category_blocked';
    if (rule.allowedAdvertisers && !rule.allowedAdvertisers.includes(c.advertiserId)) return 'advertiser_not_allowed';
    if (rule.blockedAdvertisers.includes(c.advertiserId)) return 'advertiser_blocked';
    if (c.devices && (device === null || !c.devices.includes(device))) return 'targeting_device';
    if (c.countries && (country === null || !c.countries.includes(country))) return 'targeting_country';
    // Category is context, not a property of the visitor: only a request naming one is matched.
    if (req.category && c.categories.length > 0 && !c.categories.includes(req.category)) return 'targeting_category';
    return null;
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

  /**
   * Campaigns passing the static rules other than time, memoised per catalog and request context
   * (placement, device, country, category): the scan of every campaign runs once per context.
   */
  function staticallyEligible(cat: Catalog, rule: Rule, req: SelectRequest): readonly CachedCampaign[] {
    const key = `${req.placementId}\u0000${req.device ?? ''}\u0000${req.country ?? ''}\u0000${req.category ?? ''}`;
    let list = cat.eligible.get(key);
    if (!list) {
      list = cat.campaigns.filter((c) => staticRule(c, rule, req, null) === null);
      if (cat.eligible.size >= 10_000) cat.eligible.clear(); // unbounded contexts (free-text categories) must not grow it forever
      cat.eligible.set(key, list);
    }
    return list;
  }

  return {
    /** Placement rules, stored; a change reloads the catalog. */
    rules: createPlacementRuleService({ db: deps.db, now, onChange: () => { reload().catch(() => {}); } }) as PlacementRuleService,
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
      modelPromise.catch(() => {}); // awaited below; the dynamic checks run meanwhile

      // 1. Static rules, in memory (debug walks every campaign to name each one's rule).
      let eligible: CachedCampaign[];
      if (debug) {
        eligible = [];
        for (const c of cat.campaigns) {
          const code = staticRule(c, rule, req, at);
          if (code) exclude(c, code, staticDetail(c, rule, req, code, at)); else eligible.push(c);
        }
      } else {
        eligible = staticallyEligible(cat, rule, req).filter((c) => c.startsAt <= at && (c.endsAt === null || c.endsAt > at));
      }

      // 2. Frequency caps (one round trip), budget and pacing, side by side.
      const ids = eligible.map((c) => c.id);
      const subject = req.userId ? req.userId : req.sessionId ? `session:${req.sessionId}` : null;
      const [seen, budgets, rates] = await Promise.all([
        subject && ids.length ? caps.seen(subject, ids, at) : new Map<string, number>(),
        deps.budget && ids.length ? deps.budget.remaining(ids, at) : new Map<string, number | null>(),
        deps.pacer && ids.length ? deps.pacer.passThrough(ids, at) : new Map<string, number>(),
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
        // 3. The candidate limit: campaigns come in prior-value order.
        if (creativeCount + c.creatives.length > maxScored && candidates.length > 0) {
          if (!debug && creativeCount >= maxScored) break; // nothing more fits
          exclude(c, 'candidate_limit', `beyond the ${maxScored} best creatives at the prior CTR`);
          continue;
        }
        candidates.push(c);
        creativeCount += c.creatives.length;
      }

      // 4. pCTR of every candidate creative, one batch.
      const m = await modelPromise;
      const creativeIds = candidates.flatMap((c) => c.creatives);
      let scores: ArrayLike<number> = [];
      if (creativeIds.length) {
        const a = await deps.features.ads(m, { placementId: req.placementId, userId: req.userId ?? null, ip: req.ip ?? null, device: req.device ?? null, creativeIds });
        scores = m.compiled.predict(a.rows, a.n);
      }
      interface Ranked { c: CachedCampaign; creativeId: string; pctr: number; ev: number; tie: number }
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

      // 5. Rank by expected value (ties at random), one per advertiser, up to the count.
      ranked.sort((a, b) => b.ev - a.ev || a.tie - b.tie);
      const want = Math.min(req.count, rule.maxAds);
      const advertisers = new Set<string>();
      const results: SelectedAd[] = [];
      for (const r of ranked) {
        if (results.length >= want) { exclude(r.c, 'outranked', `expected value ${r.ev.toFixed(4)} below the ${want} shown`); continue; }
        if (rule.onePerAdvertiser && advertisers.has(r.c.advertiserId)) { exclude(r.c, 'one_per_advertiser', `advertiser ${r.c.advertiserId} already shown here`); continue; }
        advertisers.add(r.c.advertiserId);
        const payload: ImpressionToken = {
          impressionId: `imp_${randomBytes(12).toString('base64url')}`, campaignId: r.c.id, creativeId: r.creativeId, placementId: req.placementId,
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

    /** Reloads campaigns, creatives and rules now. */
    async refresh(): Promise<void> {
      await reload();
    },
  };
}
