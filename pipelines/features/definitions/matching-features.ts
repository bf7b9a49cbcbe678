// Matching feature sets: the provider and job profiles (batch, from the source tables as of a
// time), the IDF of each skill, and the pair features computed per request from a provider's and a
// job's values, each with the readable parts an explanation shows.
import type { Db, Tx } from '../../../platform/db/database.js';
import type { FeatureDefinition, FeatureValue, FeatureValues } from '../feature-set.js';
import type { BatchLoader, CatalogSet, EntityPageQuery } from './batch-loader.js';
import type { ConnectionGraph, Proximity } from './connection-graph.js';
import {
  compareKeys, numOrNull, pageKeys, readCategoryBudgets, readCategoryHireRates, readJobPairs, readJobs, readJobSkills,
  readLastProposalAt, readConnectionCounts, readProviderHiredTags, readProviderHires, readProviderQualifications, readProviders,
  readProviderSkills, readSkillJobCounts,
} from './feature-sources.repository.js';

const DAY = 86_400_000;
export const SENIORITY = ['entry', 'intermediate', 'expert'] as const;

/** Bayesian-smoothed rating: (C·m + n·r) / (C + n), a prior of C = 5 reviews at mean m = 4.5. */
export const RATING_PRIOR = { mean: 4.5, weight: 5 } as const;
/** Trailing window of jobs the skill IDF counts over. */
export const IDF_WINDOW_MS = 90 * DAY;
/** A job's hours when its category has fewer than this many past hires to estimate them from. */
export const HOURS_MIN_HIRES = 5;
export const DEFAULT_JOB_HOURS = 20;
/** Below this many priced jobs in a category, the wanted seniority is the middle one. */
export const SENIORITY_MIN_JOBS = 5;
/** Width (in ln units) of the price-fit fall-off outside the budget. */
export const PRICE_FIT_SIGMA = 0.5;

// --- shared helpers ------------------------------------------------------------------------------

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
/** Hours ahead of UTC of an IANA time zone at a time (DST-aware); null for an unknown zone. */
export function utcOffsetHours(timezone: string | null | undefined, at: number): number | null {
  if (!timezone) return null;
  // Zone transitions fall on quarter hours (UTC), so one lookup per zone and quarter hour is exact;
  // Intl's formatToParts per row was most of a training-set build's pair features.
  const key = `${timezone}|${Math.floor(at / QUARTER_HOUR)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const offset = offsetOf(timezone, at);
  if (offsetCache.size >= OFFSET_CACHE_MAX) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

const QUARTER_HOUR = 900_000;
const OFFSET_CACHE_MAX = 200_000;
const offsetCache = new Map<string, number | null>();

function offsetOf(timezone: string, at: number): number | null {
  let f = offsetFormats.get(timezone);
  if (!f) {
    try { f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' }); } catch { return null; }
    offsetFormats.set(timezone, f);
  }
  const name = f.formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) + Number(m[3]) / 60) : 0;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();
/** Minor units as a person reads them: "$45", "€1,200" (the currency's own number of decimals). */
export function formatMoney(minor: number, currency: string): string {
  let f = moneyFormats.get(currency);
  if (!f) {
    const digits = new Intl.NumberFormat('en-US', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 });
    moneyFormats.set(currency, f);
    moneyDigits.set(currency, digits);
  }
  return f.format(minor / 10 ** moneyDigits.get(currency)!);
}
const moneyDigits = new Map<string, number>();

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort(compareKeys);
const round = (x: number, digits = 6): number => Math.round(x * 10 ** digits) / 10 ** digits;
const pushTo = <V>(m: Map<string, V[]>, k: string, v: V) => { const l = m.get(k); if (l) l.push(v); else m.set(k, [v]); };

// --- provider_profile ------------------------------------------------------------------------

export interface ProviderInput {
  providerId: string;
  asOf: number;
  hourlyRateMinor: number;
  currency: string;
  country: string;
  timezone: string;
  level: string;
  /** Sorted by skill id. */
  skills: { id: string; level: number; category: string | null; parent: string | null }[];
  qualifications: string[];
  rating: number | null;
  reviewCount: number;
  responseRate: number | null;
  /** Hires by asOf; of them, with an outcome known by asOf; of those, completed. */
  hires: number;
  finished: number;
  completed: number;
  /** Latest of the profile's last_active_at and the provider's proposals and hires, all ≤ asOf. */
  lastActiveAt: number | null;
  clients: string[];
  seoTags: string[];
  connections: number;
}

export function smoothedRating(rating: number | null, reviews: number): number {
  const n = rating === null ? 0 : reviews;
  return ((RATING_PRIOR.weight * RATING_PRIOR.mean) + n * (rating ?? 0)) / (RATING_PRIOR.weight + n);
}

const pf = (name: string, type: FeatureDefinition['type'], description: string, compute: (p: ProviderInput) => FeatureValue, ttlMs: number | null = null): FeatureDefinition<ProviderInput> =>
  ({ name, type, description, ttlMs, compute });

export const providerProfile: CatalogSet<ProviderInput> = {
  name: 'provider_profile', version: 1, entity: 'provider', source: 'batch',
  description: 'A provider\'s skills, price, place, reputation and history, from the source tables as of a time',
  features: [
    pf('provider_id', 'string', 'the entity key, so request-time pair features can find the provider in the connection graph', (p) => p.providerId),
    pf('skill_ids', 'string_list', 'skills on the profile, sorted', (p) => p.skills.map((s) => s.id)),
    pf('skill_levels', 'float_list', 'self-assessed level 1–5 of each skill, aligned with skill_ids', (p) => p.skills.map((s) => s.level)),
    pf('qualification_ids', 'string_list', 'qualifications obtained by as-of (or undated), sorted', (p) => p.qualifications),
    pf('categories', 'string_list', 'categories of the profile\'s skills', (p) => sorted(p.skills.flatMap((s) => (s.category ? [s.category] : [])))),
    pf('parent_categories', 'string_list', 'parent categories of those categories', (p) => sorted(p.skills.flatMap((s) => (s.parent ? [s.parent] : [])))),
    pf('hourly_rate_minor', 'int', 'hourly rate in minor units of currency', (p) => p.hourlyRateMinor),
    pf('currency', 'string', 'ISO 4217 currency of the rate', (p) => p.currency),
    pf('country', 'string', 'ISO 3166 country', (p) => p.country),
    pf('timezone', 'string', 'IANA time zone (offsets are recomputed at request time)', (p) => p.timezone),
    pf('utc_offset_h', 'float', 'hours ahead of UTC of the time zone at as-of (DST-aware)', (p) => utcOffsetHours(p.timezone, p.asOf)),
    pf('seniority', 'int', 'level as an ordinal: entry 0, intermediate 1, expert 2', (p) => Math.max(0, SENIORITY.indexOf(p.level as never))),
    pf('smoothed_rating', 'float', `Bayesian-smoothed rating (C·m + n·r)/(C + n), prior m = ${RATING_PRIOR.mean}, C = ${RATING_PRIOR.weight} reviews; unrated → m`,
      (p) => round(smoothedRating(p.rating, p.reviewCount))),
    pf('log_review_count', 'float', 'ln(1 + review count)', (p) => round(Math.log1p(p.rating === null ? 0 : p.reviewCount))),
    pf('response_rate', 'float', 'share of messages answered, from the profile; null when unknown', (p) => p.responseRate),
    pf('hire_count', 'int', 'hires made by as-of', (p) => p.hires),
    pf('completion_rate', 'float', 'completed ÷ hires whose outcome was known by as-of (ongoing hires are not failures); null with none', (p) => (p.finished > 0 ? round(p.completed / p.finished) : null)),
    pf('last_active_at', 'int', 'latest activity ≤ as-of: profile last_active_at, proposals, hires (UTC ms)', (p) => p.lastActiveAt),
    pf('days_since_active', 'float', 'days from last_active_at to as-of; null when never active', (p) => (p.lastActiveAt === null ? null : round((p.asOf - p.lastActiveAt) / DAY, 3)), DAY),
    pf('client_ids', 'string_list', 'clients the provider was hired by before as-of', (p) => p.clients),
    pf('seo_tags', 'string_list', 'SEO tags of the jobs the provider was hired for before as-of', (p) => p.seoTags),
    pf('connection_count', 'int', 'connections made by as-of', (p) => p.connections),
  ],
  batch: {
    listEntities: (db, q) => pageKeys(db, { table: 'provider', key: 'id', notAfter: 'joined_at' }, [
      { table: 'provider', key: 'id', stamp: 'updated_at' },
      { table: 'provider_skill', key: 'provider_id', stamp: 'updated_at' },
      { table: 'provider_qualification', key: 'provider_id', stamp: 'updated_at' },
      { table: 'proposal', key: 'provider_id', stamp: 'ingested_at' },
      { table: 'hire', key: 'provider_id', stamp: 'ingested_at' },
      { table: 'completion', key: 'provider_id', stamp: 'ingested_at', via: ['hire', 'id', 'hire_id'] },
      { table: 'connection', key: 'user_a', stamp: 'updated_at' },
      { table: 'connection', key: 'user_b', stamp: 'updated_at' },
    ], q),
    load: loadProviders,
  },
};

async function loadProviders(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, ProviderInput>> {
  const out = new Map<string, ProviderInput>();
  if (keys.length === 0) return out;
  const [rows, skills, quals, hires, tags, lastProposal, connections] = await Promise.all([
    readProviders(db, keys), readProviderSkills(db, keys), readProviderQualifications(db, keys, asOf), readProviderHires(db, keys, asOf),
    readProviderHiredTags(db, keys, asOf), readLastProposalAt(db, keys, asOf), readConnectionCounts(db, keys, asOf),
  ]);
  for (const r of rows) {
    const lastActive = numOrNull(r.last_active_at);
    out.set(String(r.id), {
      providerId: String(r.id), asOf, hourlyRateMinor: Number(r.hourly_rate_minor), currency: String(r.currency), country: String(r.country),
      timezone: String(r.timezone), level: String(r.level), skills: [], qualifications: [], rating: numOrNull(r.rating),
      reviewCount: Number(r.review_count ?? 0), responseRate: numOrNull(r.response_rate), hires: 0, finished: 0, completed: 0,
      // The profile's last_active_at is a snapshot; it only counts when it is not after as-of.
      lastActiveAt: lastActive !== null && lastActive <= asOf ? lastActive : null,
      clients: [], seoTags: [], connections: connections.get(String(r.id)) ?? 0,
    });
  }
  for (const s of skills) out.get(String(s.provider_id))?.skills.push({ id: String(s.skill_id), level: Number(s.level), category: s.category_id ?? null, parent: s.parent_id ?? null });
  for (const q of quals) out.get(String(q.provider_id))?.qualifications.push(String(q.qualification_id));
  const clients = new Map<string, string[]>();
  const seen = new Set<string>(); // a hire with several completion rows counts once (the first outcome)
  for (const h of hires) {
    const p = out.get(String(h.provider_id));
    if (!p || seen.has(String(h.hire_id))) continue;
    seen.add(String(h.hire_id));
    p.hires++;
    if (h.outcome != null) { p.finished++; if (h.outcome === 'completed') p.completed++; }
    p.lastActiveAt = Math.max(p.lastActiveAt ?? 0, Number(h.event_at));
    if (h.client_id != null) pushTo(clients, p.providerId, String(h.client_id));
  }
  for (const t of tags) out.get(String(t.provider_id))?.seoTags.push(String(t.tag_id));
  for (const p of out.values()) {
    p.skills.sort((a, b) => compareKeys(a.id, b.id));
    p.qualifications = sorted(p.qualifications);
    p.seoTags = sorted(p.seoTags);
    p.clients = sorted(clients.get(p.providerId) ?? []);
    const lp = lastProposal.get(p.providerId);
    if (lp !== undefined) p.lastActiveAt = Math.max(p.lastActiveAt ?? 0, lp);
  }
  return out;
}

// --- job_profile -----------------------------------------------------------------------------

export interface JobInput {
  jobId: string;
  asOf: number;
  clientId: string | null;
  clientTimezone: string | null;
  categoryId: string | null;
  parentCategoryId: string | null;
  required: string[];
  nice: string[];
  qualifications: string[];
  seoTags: string[];
  budgetMinMinor: number | null;
  budgetMaxMinor: number | null;
  fixedPriceMinor: number | null;
  currency: string;
  /** Hours the budget buys, estimated from the category's past hires (DEFAULT_JOB_HOURS without enough). */
  estimatedHours: number;
  /** Mid-rank share of the category's jobs (posted by asOf, same currency) priced below this one; null with too few. */
  budgetPercentile: number | null;
}

/** What a budget aims at: the fixed price, else the middle of the range. */
export function budgetTarget(j: { fixedPriceMinor: number | null; budgetMinMinor: number | null; budgetMaxMinor: number | null }): number | null {
  if (j.fixedPriceMinor != null) return j.fixedPriceMinor;
  if (j.budgetMaxMinor == null) return j.budgetMinMinor;
  return ((j.budgetMinMinor ?? j.budgetMaxMinor) + j.budgetMaxMinor) / 2;
}

/** Hourly budget range: the budget (range or fixed price) spread over the estimated hours. */
export function hourlyBudget(j: JobInput): { min: number; max: number } | null {
  const lo = j.fixedPriceMinor ?? j.budgetMinMinor ?? j.budgetMaxMinor;
  const hi = j.fixedPriceMinor ?? j.budgetMaxMinor ?? j.budgetMinMinor;
  if (lo == null || hi == null || j.estimatedHours <= 0) return null;
  return { min: Math.round(lo / j.estimatedHours), max: Math.round(hi / j.estimatedHours) };
}

/** Tertiles of the category's budget distribution: below 1/3 entry, below 2/3 intermediate, else expert. */
export function wantedSeniority(percentile: number | null): number {
  if (percentile === null) return 1;
  return percentile < 1 / 3 ? 0 : percentile < 2 / 3 ? 1 : 2;
}

const jf = (name: string, type: FeatureDefinition['type'], description: string, compute: (j: JobInput) => FeatureValue): FeatureDefinition<JobInput> =>
  ({ name, type, description, ttlMs: null, compute });

export const jobProfile: CatalogSet<JobInput> = {
  name: 'job_profile', version: 1, entity: 'job', source: 'batch',
  description: 'A job\'s skills, category, budget, client and wanted seniority, from the source tables as of a time',
  features: [
    jf('required_skill_ids', 'string_list', 'required skills, sorted', (j) => j.required),
    jf('nice_skill_ids', 'string_list', 'nice-to-have skills, sorted', (j) => j.nice),
    jf('qualification_ids', 'string_list', 'required qualifications, sorted', (j) => j.qualifications),
    jf('category_id', 'string', 'the job\'s category', (j) => j.categoryId),
    jf('parent_category_id', 'string', 'its parent category', (j) => j.parentCategoryId),
    jf('budget_min_minor', 'int', 'budget range low end (minor units), null for fixed price', (j) => j.budgetMinMinor),
    jf('budget_max_minor', 'int', 'budget range high end (minor units)', (j) => j.budgetMaxMinor),
    jf('fixed_price_minor', 'int', 'fixed price (minor units), null for a range', (j) => j.fixedPriceMinor),
    jf('currency', 'string', 'ISO 4217 currency of the budget', (j) => j.currency),
    jf('budget_target_minor', 'float', 'fixed price, else middle of the range', (j) => budgetTarget(j)),
    jf('estimated_hours', 'float', `hours the budget buys: Σ hire amount ÷ Σ hired provider's hourly rate over the category's hires by as-of (same currency); ${DEFAULT_JOB_HOURS} h with fewer than ${HOURS_MIN_HIRES} hires`,
      (j) => round(j.estimatedHours, 3)),
    jf('hourly_budget_min_minor', 'int', 'budget low end ÷ estimated hours', (j) => hourlyBudget(j)?.min ?? null),
    jf('hourly_budget_max_minor', 'int', 'budget high end ÷ estimated hours', (j) => hourlyBudget(j)?.max ?? null),
    jf('client_id', 'string', 'the client who posted the job', (j) => j.clientId),
    jf('client_timezone', 'string', 'the client\'s IANA time zone', (j) => j.clientTimezone),
    jf('client_utc_offset_h', 'float', 'hours ahead of UTC of the client\'s time zone at as-of', (j) => utcOffsetHours(j.clientTimezone, j.asOf)),
    jf('seo_tags', 'string_list', 'SEO tags of the job, sorted', (j) => j.seoTags),
    jf('budget_percentile', 'float', `mid-rank share of the category's jobs posted by as-of (same currency) with a lower budget target; null below ${SENIORITY_MIN_JOBS} jobs`, (j) => j.budgetPercentile),
    jf('wanted_seniority', 'int', 'seniority the budget asks for: tertile of budget_percentile (entry 0, intermediate 1, expert 2; 1 when unknown)', (j) => wantedSeniority(j.budgetPercentile)),
  ],
  batch: {
    listEntities: (db, q) => pageKeys(db, { table: 'job', key: 'id', notAfter: 'posted_at' }, [
      { table: 'job', key: 'id', stamp: 'updated_at' },
      { table: 'job_skill', key: 'job_id', stamp: 'updated_at' },
      { table: 'job_qualification', key: 'job_id', stamp: 'updated_at' },
      { table: 'job_tag', key: 'job_id', stamp: 'updated_at' },
    ], q),
    load: loadJobs,
  },
};

async function loadJobs(db: Db | Tx, keys: readonly string[], asOf: number): Promise<Map<string, JobInput>> {
  const out = new Map<string, JobInput>();
  if (keys.length === 0) return out;
  const [rows, skills, quals, tags] = await Promise.all([
    readJobs(db, keys), readJobSkills(db, keys), readJobPairs(db, 'job_qualification', 'qualification_id', keys), readJobPairs(db, 'job_tag', 'tag_id', keys),
  ]);
  const categories = sorted(rows.flatMap((r) => (r.category_id ? [String(r.category_id)] : [])));
  const [budgets, hireRates] = await Promise.all([readCategoryBudgets(db, categories, asOf), readCategoryHireRates(db, categories, asOf)]);
  // Per category and currency, the sorted budget targets: the distribution a job is placed in.
  const dist = new Map<string, number[]>();
  for (const b of budgets) {
    const t = budgetTarget({ fixedPriceMinor: numOrNull(b.fixed_price_minor), budgetMinMinor: numOrNull(b.budget_min_minor), budgetMaxMinor: numOrNull(b.budget_max_minor) });
    if (t !== null) pushTo(dist, `${b.category_id}|${b.currency}`, t);
  }
  for (const l of dist.values()) l.sort((a, b) => a - b);
  for (const r of rows) {
    const h = r.category_id ? hireRates.get(String(r.category_id)) : undefined;
    const j: JobInput = {
      jobId: String(r.id), asOf, clientId: r.client_id ?? null, clientTimezone: r.client_timezone ?? null,
      categoryId: r.category_id ?? null, parentCategoryId: r.parent_id ?? null, required: [], nice: [], qualifications: [], seoTags: [],
      budgetMinMinor: numOrNull(r.budget_min_minor), budgetMaxMinor: numOrNull(r.budget_max_minor), fixedPriceMinor: numOrNull(r.fixed_price_minor),
      currency: String(r.currency),
      estimatedHours: h && h.n >= HOURS_MIN_HIRES && h.rate > 0 ? h.amount / h.rate : DEFAULT_JOB_HOURS,
      budgetPercentile: null,
    };
    const list = dist.get(`${r.category_id}|${r.currency}`) ?? [];
    const target = budgetTarget(j);
    if (target !== null && list.length >= SENIORITY_MIN_JOBS) {
      const below = lowerBound(list, target), equal = lowerBound(list, target, true) - below;
      j.budgetPercentile = round((below + equal / 2) / list.length);
    }
    out.set(j.jobId, j);
  }
  for (const s of skills) {
    const j = out.get(String(s.job_id));
    if (j) (Number(s.required) ? j.required : j.nice).push(String(s.skill_id));
  }
  for (const q of quals) out.get(String(q.job_id))?.qualifications.push(String(q.v));
  for (const t of tags) out.get(String(t.job_id))?.seoTags.push(String(t.v));
  for (const j of out.values()) {
    j.required = sorted(j.required); j.nice = sorted(j.nice); j.qualifications = sorted(j.qualifications); j.seoTags = sorted(j.seoTags);
  }
  return out;
}

/** First index whose value is ≥ x (> x with `after`), in a sorted list. */
function lowerBound(list: readonly number[], x: number, after = false): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (after ? list[mid]! <= x : list[mid]! < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// --- skill_idf ---------------------------------------------------------------------------------

export interface SkillIdfInput { skillId: string; asOf: number; jobs: number; jobsWithSkill: number }

/** Smoothed IDF: ln((1 + N) / (1 + df)) + 1, so a skill no job lists still gets a finite (highest) weight. */
export function idf(jobs: number, jobsWithSkill: number): number {
  return Math.log((1 + jobs) / (1 + jobsWithSkill)) + 1;
}

// Counted over jobs (demand), not providers: the overlap is weighted on the job's side, and a skill
// that many jobs ask for tells less about why this provider fits this job than a rarely asked one.
// A trailing 90 days, not "open at as-of": open jobs are few at any instant, so their IDF is noisy.
export const skillIdf: CatalogSet<SkillIdfInput> = {
  name: 'skill_idf', version: 1, entity: 'skill', source: 'batch',
  description: 'Inverse document frequency of each skill over the jobs posted in the 90 days up to as-of',
  features: [
    { name: 'idf', type: 'float', ttlMs: null, description: 'ln((1 + N) / (1 + df)) + 1, N jobs posted in the window, df of them listing the skill', compute: (s) => round(idf(s.jobs, s.jobsWithSkill)) },
    { name: 'job_count', type: 'int', ttlMs: null, description: 'df: jobs in the window listing the skill (required or nice-to-have)', compute: (s) => s.jobsWithSkill },
    { name: 'window_jobs', type: 'int', ttlMs: null, description: 'N: jobs posted in the window', compute: (s) => s.jobs },
  ],
  batch: {
    listEntities: (db, q) => pageKeys(db, { table: 'skill', key: 'id' }, [
      { table: 'skill', key: 'id', stamp: 'updated_at' },
      { table: 'job_skill', key: 'skill_id', stamp: 'updated_at' },
    ], q),
    async load(db, keys, asOf) {
      const { jobs, df } = await readSkillJobCounts(db, keys, asOf - IDF_WINDOW_MS, asOf);
      return new Map(keys.map((k) => [k, { skillId: k, asOf, jobs, jobsWithSkill: df.get(k) ?? 0 }]));
    },
  },
};

/** The IDF of every skill listed by a job in the window, for computePairFeatures. */
export async function loadSkillIdf(db: Db | Tx, asOf: number): Promise<Map<string, number>> {
  const { jobs, df } = await readSkillJobCounts(db, null, asOf - IDF_WINDOW_MS, asOf);
  const out = new Map<string, number>();
  for (const [k, n] of df) out.set(k, round(idf(jobs, n)));
  return out;
}

// --- match_pair (request time) -------------------------------------------------------------------

export interface PairContext {
  /** Skill → IDF (skill_idf values or loadSkillIdf); a skill missing here weighs the highest IDF present. */
  idf: ReadonlyMap<string, number>;
  /** The connection graph; without it the network features are null. */
  graph?: ConnectionGraph;
  /** Request time: recency and time-zone offsets are recomputed at it (default: the provider values' as-of). */
  now?: number;
}

export interface PairInput {
  provider: FeatureValues;
  job: FeatureValues;
  ctx: PairContext;
  proximity: Proximity | null;
}

// Pair features run for every candidate of every ranking, over the same provider and job values
// (the scoring entity cache hands out the same objects): each list's string form and Set are built
// once per value and remembered by identity. They are read only, never mutated.
const NO_STRINGS: readonly string[] = Object.freeze([]);
const lists = new WeakMap<object, readonly string[]>();
const sets = new WeakMap<object, ReadonlySet<string>>();
const joined = new WeakMap<object, WeakMap<object, readonly string[]>>();
const list = (v: FeatureValue | undefined): readonly string[] => {
  if (!Array.isArray(v)) return NO_STRINGS;
  let l = lists.get(v);
  if (l === undefined) {
    l = (v as unknown[]).every((x) => typeof x === 'string') ? v as string[] : (v as unknown[]).map(String);
    lists.set(v, l);
  }
  return l;
};
const setOf = (v: FeatureValue | undefined): ReadonlySet<string> => {
  if (!Array.isArray(v)) return new Set();
  let s = sets.get(v);
  if (s === undefined) { s = new Set(list(v)); sets.set(v, s); }
  return s;
};
/** `a` then `b` as one list, remembered per pair of lists. */
const concat = (a: FeatureValue | undefined, b: FeatureValue | undefined): readonly string[] => {
  if (!Array.isArray(a) || !Array.isArray(b)) return [...list(a), ...list(b)];
  let byB = joined.get(a);
  if (byB === undefined) { byB = new WeakMap(); joined.set(a, byB); }
  let l = byB.get(b);
  if (l === undefined) { l = [...list(a), ...list(b)]; byB.set(b, l); }
  return l;
};
const numv = (v: FeatureValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: FeatureValue | undefined): string | null => (typeof v === 'string' ? v : null);
const fmtH = (h: number) => `UTC${h >= 0 ? '+' : '−'}${Math.abs(h)}`;

function overlap(want: readonly string[], have: ReadonlySet<string>): { hit: string[]; n: number } {
  return { hit: want.filter((x) => have.has(x)), n: want.length };
}

function offsets(i: PairInput): { provider: number | null; client: number | null } {
  const now = i.ctx.now;
  return {
    provider: now !== undefined ? utcOffsetHours(str(i.provider.timezone), now) ?? numv(i.provider.utc_offset_h) : numv(i.provider.utc_offset_h),
    client: now !== undefined ? utcOffsetHours(str(i.job.client_timezone), now) ?? numv(i.job.client_utc_offset_h) : numv(i.job.client_utc_offset_h),
  };
}

function daysSinceActive(i: PairInput): number | null {
  const last = numv(i.provider.last_active_at);
  if (i.ctx.now === undefined || last === null) return numv(i.provider.days_since_active);
  return round(Math.max(0, i.ctx.now - last) / DAY, 3);
}

/** A pair feature's value and its readable text; an expensive text is a thunk, built only when explained. */
type PairPart = { value: FeatureValue; text: string | (() => string) };

function priceFit(i: PairInput): PairPart {
  const rate = numv(i.provider.hourly_rate_minor), pc = str(i.provider.currency), jc = str(i.job.currency);
  const lo = numv(i.job.hourly_budget_min_minor), hi = numv(i.job.hourly_budget_max_minor);
  if (rate === null || lo === null || hi === null || !pc || !jc) return { value: null, text: 'no rate or budget to compare' };
  if (pc !== jc) return { value: null, text: () => `rate in ${pc}, budget in ${jc}: not compared` };
  const text = (where: string) => () => {
    const budget = lo === hi ? `${formatMoney(lo, jc)}/h` : `${formatMoney(lo, jc)}–${formatMoney(hi, jc)}/h`;
    const hours = numv(i.job.estimated_hours);
    const tail = hours !== null ? ` (over ≈ ${Math.round(hours)} h)` : '';
    return `rate ${formatMoney(rate, pc)}/h ${where} budget ${budget}${tail}`;
  };
  if (rate >= lo && rate <= hi) return { value: 1, text: text('within') };
  const bound = rate < lo ? lo : hi;
  const d = bound > 0 && rate > 0 ? Math.log(rate / bound) : Infinity;
  return { value: round(Math.exp(-(d * d) / (2 * PRICE_FIT_SIGMA ** 2))), text: text(rate < lo ? 'below' : 'above') };
}

/** The highest IDF of a table (what an unseen skill weighs), once per table rather than once per pair. */
const maxIdf = new WeakMap<ReadonlyMap<string, number>, number>();
function fallbackIdf(idf: ReadonlyMap<string, number>): number {
  let m = maxIdf.get(idf);
  if (m === undefined) {
    m = 1;
    if (idf.size > 0) { m = -Infinity; for (const v of idf.values()) if (v > m) m = v; }
    maxIdf.set(idf, m);
  }
  return m;
}

function idfWeights(i: PairInput): PairPart {
  const want = concat(i.job.required_skill_ids, i.job.nice_skill_ids);
  if (want.length === 0) return { value: null, text: 'the job lists no skills' };
  const fallback = fallbackIdf(i.ctx.idf);
  const have = setOf(i.provider.skill_ids);
  let num = 0, den = 0;
  const hits: { s: string; w: number }[] = [];
  for (const s of want) {
    const w = i.ctx.idf.get(s) ?? fallback;
    den += w;
    if (have.has(s)) { num += w; hits.push({ s, w }); }
  }
  return {
    value: round(num / den),
    text: () => {
      hits.sort((a, b) => b.w - a.w);
      const rarest = hits.length > 0 ? `; rarest matched: ${hits.slice(0, 2).map((h) => h.s).join(', ')}` : '';
      return `${hits.length} of ${want.length} job skills matched, ${Math.round((100 * num) / den)}% of their IDF weight${rarest}`;
    },
  };
}

function share(want: readonly string[], have: ReadonlySet<string>, what: string, none: string): { value: number | null; text: string } {
  if (want.length === 0) return { value: null, text: none };
  const o = overlap(want, have);
  return { value: round(o.hit.length / o.n), text: `${o.hit.length} of ${o.n} ${what}` };
}

const pair = (
  name: string, type: FeatureDefinition['type'], description: string, part: (i: PairInput) => PairPart,
): FeatureDefinition<PairInput> => ({
  name, type, description, ttlMs: null, compute: (i) => part(i).value,
  explain: (i) => { const t = part(i).text; return typeof t === 'function' ? t() : t; },
});

const SENIORITY_NAMES = SENIORITY as readonly string[];

export const matchPair: CatalogSet<PairInput> = {
  name: 'match_pair', version: 1, entity: 'pair', source: 'request',
  description: 'Provider × job features computed per request from provider_profile, job_profile, skill_idf and the connection graph',
  features: [
    pair('required_skill_coverage', 'float', 'share of the job\'s required skills the provider has; null when none required',
      (i) => share(list(i.job.required_skill_ids), setOf(i.provider.skill_ids), 'required skills', 'the job requires no skills')),
    pair('skill_overlap_idf', 'float', 'IDF-weighted share of the job\'s skills (required and nice-to-have) the provider has', idfWeights),
    pair('nice_to_have_overlap', 'float', 'share of the job\'s nice-to-have skills the provider has; null when none',
      (i) => share(list(i.job.nice_skill_ids), setOf(i.provider.skill_ids), 'nice-to-have skills', 'the job lists no nice-to-have skills')),
    pair('qualification_match', 'float', 'share of the job\'s required qualifications the provider holds; null when none required',
      (i) => share(list(i.job.qualification_ids), setOf(i.provider.qualification_ids), 'required qualifications', 'the job requires no qualification')),
    pair('category_match', 'float', '1 when one of the provider\'s skill categories is the job\'s, 0.5 when one shares its parent, else 0', (i) => {
      const cat = str(i.job.category_id), parent = str(i.job.parent_category_id);
      if (!cat) return { value: null, text: 'the job has no category' };
      if (setOf(i.provider.categories).has(cat)) return { value: 1, text: `works in the job's category ${cat}` };
      if (parent && (setOf(i.provider.parent_categories).has(parent) || setOf(i.provider.categories).has(parent))) {
        return { value: 0.5, text: `works in the same parent category ${parent}` };
      }
      return { value: 0, text: `no skills in ${cat} or its parent` };
    }),
    pair('price_fit', 'float', `1 when the hourly rate is within the job's hourly budget, else exp(−ln(rate/nearest bound)²/2σ²), σ = ${PRICE_FIT_SIGMA}; null across currencies`, priceFit),
    pair('seo_tag_overlap', 'float', 'share of the job\'s SEO tags found on jobs the provider was hired for; null when the job has none',
      (i) => share(list(i.job.seo_tags), setOf(i.provider.seo_tags), 'of the job\'s tags on past hires', 'the job has no SEO tags')),
    pair('network_hops', 'int', 'hops from the provider to the job\'s client in the connection graph, 1–3; null beyond 3 or without a graph', (i) => {
      if (!i.proximity) return { value: null, text: 'no connection graph' };
      const { hops, via, shared } = i.proximity;
      if (hops === 1) return { value: 1, text: 'directly connected to the client' };
      if (hops === 2) return { value: 2, text: `2 hops via ${shared === 1 ? 'a shared connection' : `${shared} shared connections`} (${via})` };
      if (hops === 3) return { value: 3, text: `3 hops via ${via}` };
      return { value: null, text: 'no connection within 3 hops' };
    }),
    pair('network_proximity', 'float', '1 / hops (0 beyond 3 hops); null without a graph', (i) => {
      if (!i.proximity) return { value: null, text: 'no connection graph' };
      return { value: i.proximity.hops ? round(1 / i.proximity.hops) : 0, text: i.proximity.hops ? `${i.proximity.hops} hop${i.proximity.hops > 1 ? 's' : ''} to the client` : 'not within 3 hops of the client' };
    }),
    pair('shared_connections', 'int', 'connections the provider and the client have in common; null without a graph', (i) => (
      i.proximity ? { value: i.proximity.shared, text: `${i.proximity.shared} shared connection${i.proximity.shared === 1 ? '' : 's'} with the client` } : { value: null, text: 'no connection graph' })),
    pair('past_client_work', 'bool', 'the provider was hired by this client before', (i) => {
      const c = str(i.job.client_id);
      const yes = c !== null && setOf(i.provider.client_ids).has(c);
      return { value: yes, text: yes ? `worked for client ${c} before` : 'never hired by this client' };
    }),
    pair('smoothed_rating', 'float', 'provider_profile.smoothed_rating', (i) => ({ value: numv(i.provider.smoothed_rating), text: `rating ${numv(i.provider.smoothed_rating)?.toFixed(2) ?? 'unknown'} (smoothed)` })),
    pair('log_review_count', 'float', 'provider_profile.log_review_count', (i) => {
      const v = numv(i.provider.log_review_count);
      return { value: v, text: v === null ? 'review count unknown' : `${Math.round(Math.expm1(v))} reviews` };
    }),
    pair('response_rate', 'float', 'provider_profile.response_rate', (i) => {
      const v = numv(i.provider.response_rate);
      return { value: v, text: v === null ? 'response rate unknown' : `answers ${Math.round(v * 100)}% of messages` };
    }),
    pair('completion_rate', 'float', 'provider_profile.completion_rate', (i) => {
      const v = numv(i.provider.completion_rate);
      return { value: v, text: v === null ? 'no finished hires yet' : `completed ${Math.round(v * 100)}% of finished hires` };
    }),
    pair('days_since_active', 'float', 'days from the provider\'s last activity to the request (or to the profile\'s as-of)', (i) => {
      const v = daysSinceActive(i);
      return { value: v, text: v === null ? 'never active' : `last active ${v < 1 ? 'within a day' : `${Math.floor(v)} days ago`}` };
    }),
    pair('timezone_distance_h', 'float', 'hours between the provider\'s and the client\'s UTC offsets, around the clock (0–12)', (i) => {
      const o = offsets(i);
      if (o.provider === null || o.client === null) return { value: null, text: 'time zone unknown' };
      const d = Math.abs(o.provider - o.client) % 24;
      const v = Math.min(d, 24 - d);
      return { value: v, text: `provider ${fmtH(o.provider)}, client ${fmtH(o.client)}: ${v} h apart` };
    }),
    pair('seniority_gap', 'int', 'provider seniority − the job\'s wanted seniority (−2…2)', (i) => {
      const p = numv(i.provider.seniority), w = numv(i.job.wanted_seniority);
      if (p === null || w === null) return { value: null, text: 'seniority unknown' };
      const g = p - w;
      return { value: g, text: `${SENIORITY_NAMES[p]} provider for a job priced for ${SENIORITY_NAMES[w]} (${g > 0 ? '+' : ''}${g})` };
    }),
  ],
};

function pairInput(provider: FeatureValues, job: FeatureValues, ctx: PairContext): PairInput {
  const providerId = str(provider.provider_id), clientId = str(job.client_id);
  return { provider, job, ctx, proximity: ctx.graph && providerId && clientId ? ctx.graph.proximity(providerId, clientId) : null };
}

/** Pair feature values only (the scoring hot path: the readable parts are built for explained rows alone). */
export function computePairValues(provider: FeatureValues, job: FeatureValues, ctx: PairContext): FeatureValues {
  const input = pairInput(provider, job, ctx);
  const values: FeatureValues = {};
  for (const f of matchPair.features) values[f.name] = f.compute(input);
  return values;
}

/** Pair features and their readable parts for one provider × job, from their stored values. */
export function computePairFeatures(
  provider: FeatureValues, job: FeatureValues, ctx: PairContext,
): { values: FeatureValues; explanations: Record<string, string> } {
  const input = pairInput(provider, job, ctx);
  const values: FeatureValues = {}, explanations: Record<string, string> = {};
  for (const f of matchPair.features) {
    values[f.name] = f.compute(input);
    if (f.explain) explanations[f.name] = f.explain(input);
  }
  return { values, explanations };
}

export type { EntityPageQuery, BatchLoader };
