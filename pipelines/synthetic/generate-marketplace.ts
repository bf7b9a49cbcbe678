// Generates the synthetic marketplace as a stream of table chunks in foreign-key order: the same
// options give the same rows, byte for byte (every draw comes from seeded streams, every time from
// a fixed epoch). Only the people, jobs and graph are held in memory; events are streamed.
import { TABLE_SPECS } from '../contract/table-specs.js';
import {
  budgetTarget, clickProbability, creativeQuality, hireUtility, HIRE_NOISE_SD, HIRE_TEMPERATURE, PENALISED_GENDER, PLACEMENTS,
  priceFit, qualificationMatch, skillCoverage, userAffinity,
} from './hire-utility.js';
import {
  COUNTRY_MIX, COUNTRY_TAIL, LEVEL_MIX, PRICE_LOG_BY_LEVEL, PRICE_LOG_SHIFT_BY_FAMILY, RATING_MIX, REVIEWS_LOG, SKILLS_PER_PROFILE,
  TIMEZONES, UNRATED_BY_LEVEL,
} from './profile-distributions.js';
import { hashUnit, Random, Zipf } from './random.js';
import { QUALIFICATIONS, seoTags, slugify, TAXONOMY } from './taxonomy.js';

export interface MarketplaceOptions {
  providers: number;
  jobs: number;
  days: number;
  seed: string | number;
  /** Hire-utility penalty for the penalised group (0: none). */
  bias?: number;
  /** Target number of event rows (proposals, hires, completions, impressions, clicks, conversions, transactions). */
  events?: number;
  /** When the history ends (UTC ms; default SYNTHETIC_END). The demo ends it today, so "now" is inside the data. */
  end?: number;
  chunkSize?: number;
}

export interface TableChunk { table: string; rows: Record<string, unknown>[] }
export type ProgressFn = (phase: string, done: number, total: number) => void;

/** Tables in the order they are written: every table only references tables before it. */
export const SEED_TABLES = [
  'category', 'skill', 'qualification', 'seo_tag', 'client', 'provider', 'provider_skill', 'provider_qualification',
  'sensitive_attribute', 'connection', 'job', 'job_skill', 'job_qualification', 'job_tag', 'proposal', 'hire', 'completion',
  'advertiser', 'campaign', 'creative', 'placement', 'impression', 'click', 'conversion', 'transaction',
] as const;
const EVENT_TABLES = new Set(['proposal', 'hire', 'completion', 'impression', 'click', 'conversion', 'transaction']);

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** All times end here: a fixed epoch, so nothing depends on when the seed runs. */
export const SYNTHETIC_END = Date.UTC(2026, 0, 1);
const LEVELS = ['entry', 'intermediate', 'expert'] as const;
const GENDERS = [['f', 0.44], ['m', 0.52], ['x', 0.04]] as const;
const AGE_BANDS = [['18-24', 0.2], ['25-34', 0.38], ['35-44', 0.24], ['45-54', 0.12], ['55+', 0.06]] as const;
const CLIENT_COUNTRIES = [['US', 0.34], ['GB', 0.1], ['CA', 0.06], ['AU', 0.06], ['DE', 0.08], ['FR', 0.05], ['NL', 0.04], ['IN', 0.12], ['AE', 0.05], ['SG', 0.05], ['BR', 0.05]] as const;
const CLIENT_TZ: Record<string, string> = { ...TIMEZONES, AE: 'Asia/Dubai', SG: 'Asia/Singapore' };
const PLATFORM_FEE = 0.1;
const PROPOSALS_PER_JOB = 12;
/** Chance a provider holds at least one qualification, by level; each further one is as likely again. */
const QUALIFIED_BY_LEVEL = [0.1, 0.25, 0.45] as const;
/** Chance a job requires qualifications (when its category has any), and a second one. */
const JOB_QUALIFICATION_RATE = 0.2;
const JOB_SECOND_QUALIFICATION_RATE = 0.25;

/** Defaults filled in, shared by the generator and the writer's summary. */
export function resolveOptions(o: MarketplaceOptions): Required<MarketplaceOptions> {
  return { bias: 0, events: o.providers * 10, chunkSize: 1000, end: SYNTHETIC_END, ...o };
}

const pad = (n: number, w = 7) => String(n).padStart(w, '0');
export const providerId = (i: number) => `p_${pad(i)}`;
export const clientId = (i: number) => `c_${pad(i)}`;

class ChunkBuffer {
  private readonly buffers = new Map<string, Record<string, unknown>[]>(SEED_TABLES.map((t) => [t, []]));
  private readyUpTo = -1;
  eventRows = 0;
  readonly counts = new Map<string, number>();

  constructor(private readonly size: number) {}

  push(table: (typeof SEED_TABLES)[number], row: Record<string, unknown>): void {
    const buf = this.buffers.get(table)!;
    buf.push(row);
    this.counts.set(table, (this.counts.get(table) ?? 0) + 1);
    if (EVENT_TABLES.has(table)) this.eventRows++;
    if (buf.length >= this.size) this.readyUpTo = Math.max(this.readyUpTo, SEED_TABLES.indexOf(table));
  }

  /** Chunks ready to write; a full table flushes every table before it first, so references exist. */
  *drain(all = false): Generator<TableChunk> {
    const upTo = all ? SEED_TABLES.length - 1 : this.readyUpTo;
    for (let i = 0; i <= upTo; i++) {
      const table = SEED_TABLES[i]!;
      const buf = this.buffers.get(table)!;
      while (buf.length > 0) yield { table, rows: buf.splice(0, this.size) };
    }
    this.readyUpTo = -1;
  }
}

interface Provider {
  id: string; node: number; skills: Set<string>; quals: Set<string>; rating: number | null; rateUsd: number; levelIdx: number; gender: string;
}

export function* generateMarketplace(options: MarketplaceOptions, onProgress: ProgressFn = () => {}): Generator<TableChunk> {
  const o = resolveOptions(options);
  const seed = String(o.seed);
  const END = o.end;
  const start = END - o.days * DAY;
  const span = END - start;
  const out = new ChunkBuffer(o.chunkSize);
  const stamp = END;
  const rnd = (stream: string) => new Random(seed, stream);

  // --- taxonomy ---------------------------------------------------------------------------------
  interface Child { id: string; parent: number; skills: string[]; family: keyof typeof PRICE_LOG_SHIFT_BY_FAMILY; name: string }
  const children: Child[] = [];
  const allSkills: string[] = [];
  const seenSkill = new Set<string>();
  TAXONOMY.forEach((parent, pi) => {
    const pid = `cat_${parent.slug}`;
    out.push('category', { id: pid, slug: parent.slug, name: parent.name, parent_id: null, updated_at: stamp });
    for (const [name, skills] of Object.entries(parent.children)) {
      const slug = slugify(name);
      const child: Child = { id: `cat_${slug}`, parent: pi, skills: [], family: parent.family, name };
      out.push('category', { id: child.id, slug, name, parent_id: pid, updated_at: stamp });
      children.push(child);
      for (const s of skills) {
        const sslug = slugify(s);
        if (seenSkill.has(sslug)) continue;
        seenSkill.add(sslug);
        const id = `sk_${sslug}`;
        child.skills.push(id);
        allSkills.push(id);
        out.push('skill', { id, slug: sslug, name: s, category_id: child.id, updated_at: stamp });
      }
    }
  });
  // Popularity ranks: a seeded shuffle decides which categories and skills are the popular ones.
  const shuffle = <T>(items: T[], r: Random): T[] => {
    for (let i = items.length - 1; i > 0; i--) { const j = Math.floor(r.next() * (i + 1)); [items[i], items[j]] = [items[j]!, items[i]!]; }
    return items;
  };
  const rt = rnd('taxonomy');
  const childByRank = shuffle([...children], rt);
  const childZipf = new Zipf(children.length, 1.0);
  const skillZipfs = new Map(children.map((c) => [c.id, new Zipf(c.skills.length, 1.2)]));
  for (const c of children) shuffle(c.skills, rt);
  const globalSkillZipf = new Zipf(allSkills.length, 1.1);
  const globalSkills = shuffle([...allSkills], rt);
  const childSkill = (c: Child, r: Random) => c.skills[skillZipfs.get(c.id)!.sample(r)]!;

  // Qualifications and SEO tags: fixed catalogues (taxonomy.ts), tied to child categories.
  const childByName = new Map(children.map((c) => [c.name, c]));
  const qualsByChild = new Map<string, string[]>(children.map((c) => [c.id, []]));
  const qualIds: string[] = [];
  for (const q of QUALIFICATIONS) {
    const id = `ql_${q.slug}`;
    qualIds.push(id);
    out.push('qualification', { id, name: q.name, issuer: q.issuer, updated_at: stamp });
    for (const name of q.categories) qualsByChild.get(childByName.get(name)!.id)!.push(id);
  }
  const skillChild = new Map<string, string>();
  for (const c of children) for (const s of c.skills) skillChild.set(s, c.id);
  const catalogue = seoTags();
  for (const slug of catalogue.tags) out.push('seo_tag', { id: `tag_${slug}`, slug, updated_at: stamp });
  // A job's tag pool: its category's tags (category, parent, leading skills), then its sibling categories' tags.
  const tagsByChild = new Map(children.map((c) => [c.id, [...new Set([
    ...catalogue.byChild.get(c.name)!, ...children.filter((x) => x.parent === c.parent && x !== c).map((x) => catalogue.byChild.get(x.name)![0]!),
  ])].map((t) => `tag_${t}`)]));
  const skillTag = new Map([...catalogue.bySkill].map(([skill, tag]) => [`sk_${skill}`, `tag_${tag}`]));
  yield* out.drain();

  // --- clients ----------------------------------------------------------------------------------
  const nClients = Math.max(5, Math.ceil(o.providers / 4));
  const rc = rnd('clients');
  const joinedBefore = (r: Random) => start - Math.floor(r.next() * 3 * 365 * DAY);
  const clientJoined: number[] = [];
  const COMPANY_A = ['Blue', 'North', 'Bright', 'Silver', 'Rapid', 'Green', 'Summit', 'Urban', 'Nova', 'Atlas', 'Pixel', 'Harbor'];
  const COMPANY_B = ['Labs', 'Works', 'Studio', 'Digital', 'Ventures', 'Media', 'Systems', 'Retail', 'Health', 'Logistics', 'Foods', 'Partners'];
  for (let i = 0; i < nClients; i++) {
    const country = CLIENT_COUNTRIES[rc.weighted(CLIENT_COUNTRIES.map((c) => c[1]))]![0];
    const joined = joinedBefore(rc);
    clientJoined.push(joined);
    out.push('client', { id: clientId(i), name: `${rc.pick(COMPANY_A)} ${rc.pick(COMPANY_B)} ${i}`, country, timezone: CLIENT_TZ[country]!, joined_at: joined, updated_at: stamp });
    yield* out.drain();
  }
  onProgress('clients', nClients, nClients);

  // --- providers --------------------------------------------------------------------------------
  const rp = rnd('providers');
  const rs = rnd('sensitive'); // its own stream: the attribute is drawn independently of every feature
  const rq = rnd('qualifications'); // its own stream, so the other provider draws are unchanged
  const providers: Provider[] = [];
  const providerJoined: number[] = [];
  const skillProviders = new Map<string, number[]>(allSkills.map((s) => [s, []]));
  const levelWeights = LEVELS.map((l) => LEVEL_MIX[l]);
  const countryWeights = [...COUNTRY_MIX.map((c) => c[1]), 1 - COUNTRY_MIX.reduce((a, c) => a + c[1], 0)];
  for (let i = 0; i < o.providers; i++) {
    const levelIdx = rp.weighted(levelWeights);
    const level = LEVELS[levelIdx]!;
    const child = childByRank[childZipf.sample(rp)]!;
    const parent = TAXONOMY[child.parent]!;
    const nSkills = Math.max(1, rp.weighted(SKILLS_PER_PROFILE));
    const skills = new Set<string>();
    for (let tries = 0; skills.size < nSkills && tries < nSkills * 4; tries++) {
      const x = rp.next();
      if (x < 0.7) skills.add(childSkill(child, rp));
      else if (x < 0.9) {
        const siblings = children.filter((c) => c.parent === child.parent);
        skills.add(childSkill(rp.pick(siblings), rp));
      } else skills.add(globalSkills[globalSkillZipf.sample(rp)]!);
    }
    const { mu, sigma } = PRICE_LOG_BY_LEVEL[level];
    const rateUsd = Math.max(3, Math.min(500, rp.logNormal(mu + PRICE_LOG_SHIFT_BY_FAMILY[parent.family], sigma)));
    const rated = !rp.chance(UNRATED_BY_LEVEL[level]);
    const rating = rated
      ? Math.max(1, Math.round((RATING_MIX[rp.weighted(RATING_MIX.map((m) => m.share))]!.rating - Math.abs(rp.normal(0, 0.15))) * 10) / 10)
      : null;
    const reviews = rated ? Math.max(1, Math.round(rp.logNormal(REVIEWS_LOG.mu, REVIEWS_LOG.sigma))) : 0;
    const ci = rp.weighted(countryWeights);
    const country = ci < COUNTRY_MIX.length ? COUNTRY_MIX[ci]![0] : rp.pick(COUNTRY_TAIL);
    const joined = joinedBefore(rp);
    providerJoined.push(joined);
    const id = providerId(i);
    const top = [...skills][0]!;
    out.push('provider', {
      id, headline: `${level === 'expert' ? 'Expert' : level === 'intermediate' ? 'Experienced' : 'Junior'} ${child.name} freelancer: ${top.slice(3).replace(/-/g, ' ')}`,
      hourly_rate_minor: Math.round(rateUsd * 2) * 50, currency: 'USD', country, timezone: TIMEZONES[country]!, level,
      rating, review_count: reviews, response_rate: Math.round(1000 / (1 + Math.exp(-rp.normal(1.5, 1)))) / 1000,
      completed_jobs: Math.round(reviews * (1 + rp.next() * 0.3)), joined_at: joined, last_active_at: start + Math.floor(rp.next() * span),
      profile_event_at: joined, updated_at: stamp,
    });
    for (const s of skills) {
      out.push('provider_skill', { provider_id: id, skill_id: s, level: Math.min(5, Math.max(1, levelIdx + 1 + rp.int(-1, 2))), years: Math.round(rp.exponential(2 + 2 * levelIdx) * 10) / 10, updated_at: stamp });
      skillProviders.get(s)!.push(i);
    }
    // Qualifications: more for higher levels, mostly from the categories of the provider's skills.
    const held = new Set<string>();
    let nQuals = 0;
    while (nQuals < 3 && rq.chance(QUALIFIED_BY_LEVEL[levelIdx]!)) nQuals++;
    if (nQuals > 0) {
      const weight = new Map<string, number>();
      for (const s of skills) for (const q of qualsByChild.get(skillChild.get(s)!)!) weight.set(q, (weight.get(q) ?? 0) + 1);
      const pool = [...weight.keys()], weights = [...weight.values()];
      for (let t = 0; held.size < nQuals && t < 4 * nQuals; t++) {
        // Mostly weighted by how many of the provider's skills the qualification's categories cover.
        if (weights.some((w) => w > 0) && rq.chance(0.9)) { const k = rq.weighted(weights); held.add(pool[k]!); weights[k] = 0; }
        else held.add(rq.pick(qualIds));
      }
      for (const q of held) {
        const obtainedAt = Math.min(END - DAY, joined + Math.floor((rq.next() - 0.6) * 3 * 365 * DAY));
        out.push('provider_qualification', { provider_id: id, qualification_id: q, obtained_at: obtainedAt, updated_at: stamp });
      }
    }
    const gender = GENDERS[rs.weighted(GENDERS.map((g) => g[1]))]![0];
    out.push('sensitive_attribute', { subject_id: id, attribute: 'gender', value: gender, updated_at: stamp });
    out.push('sensitive_attribute', { subject_id: id, attribute: 'age_band', value: AGE_BANDS[rs.weighted(AGE_BANDS.map((a) => a[1]))]![0], updated_at: stamp });
    // Graph nodes: providers first, then clients.
    providers.push({ id, node: i, skills, quals: held, rating, rateUsd, levelIdx, gender });
    yield* out.drain();
    if (i % 5000 === 4999 && i + 1 < o.providers) onProgress('providers', i + 1, o.providers);
  }
  onProgress('providers', o.providers, o.providers);

  // --- connection graph: Barabási–Albert preferential attachment over providers and clients -----
  const nNodes = o.providers + nClients;
  const nodeId = (n: number) => (n < o.providers ? providerId(n) : clientId(n - o.providers));
  const nodeJoined = (n: number) => (n < o.providers ? providerJoined[n]! : clientJoined[n - o.providers]!);
  // Adjacency sets of small integers: a Set of a·n+b keys (heap numbers) hashes far too slowly.
  const adjacency: Set<number>[] = Array.from({ length: nNodes }, () => new Set<number>());
  const connected = (a: number, b: number) => adjacency[a]!.has(b);
  const rg = rnd('graph');
  const order = shuffle(Array.from({ length: nNodes }, (_, k) => k), rg);
  const m = 3;
  const ends = new Int32Array(2 * m * nNodes + 16);
  let nEnds = 0;
  for (let k = 0; k < order.length; k++) {
    const v = order[k]!;
    const targets = new Set<number>();
    if (k <= m) { for (let j = 0; j < k; j++) targets.add(order[j]!); } else {
      for (let tries = 0; targets.size < m && tries < 50; tries++) targets.add(ends[Math.floor(rg.next() * nEnds)]!);
    }
    for (const t of targets) {
      adjacency[v]!.add(t); adjacency[t]!.add(v);
      ends[nEnds++] = v; ends[nEnds++] = t;
      const [a, b] = [nodeId(v), nodeId(t)].sort();
      const clientSide = v >= o.providers || t >= o.providers;
      const kind = clientSide ? (rg.chance(0.4) ? 'past_work' : 'follow') : rg.pick(['colleague', 'follow', 'referral']);
      const connectedAt = Math.min(END - HOUR, Math.max(nodeJoined(v), nodeJoined(t)) + Math.floor(rg.next() * 60 * DAY));
      out.push('connection', { user_a: a, user_b: b, kind, connected_at: connectedAt, updated_at: stamp });
    }
    yield* out.drain();
  }
  onProgress('connections', nNodes, nNodes);

  // --- jobs, proposals, hires, completions, escrow ----------------------------------------------
  const rj = rnd('jobs');
  const rjt = rnd('job-tags'); // qualifications and tags of jobs: their own stream, so rj's draws are unchanged
  const clientZipf = new Zipf(nClients, 1.1);
  const clientByRank = shuffle(Array.from({ length: nClients }, (_, k) => k), rj);
  const postedTimes = Array.from({ length: o.jobs }, () => start + Math.floor(rj.next() * (span - 2 * HOUR))).sort((a, b) => a - b);
  const perJob = Math.max(2, Math.min(PROPOSALS_PER_JOB, (o.events * 0.35) / Math.max(1, o.jobs)));
  const clientHires = new Map<number, { postedAt: number; node: number }[]>();
  const VERBS = ['Build', 'Design', 'Fix', 'Improve', 'Set up', 'Migrate', 'Write', 'Audit', 'Create', 'Optimise'];
  const NOUNS = ['project', 'for a startup', 'MVP', 'for our store', 'urgently', 'long-term', 'for an agency', 'in two weeks'];
  let proposalSeq = 0, hireSeq = 0, txSeq = 0;
  const tx = (kind: string, amount: number, key: string, userId: string, at: number, refs: { job_id?: string | null; hire_id?: string | null; campaign_id?: string | null }) => {
    out.push('transaction', {
      id: `tx_${pad(++txSeq, 9)}`, kind, status: 'succeeded', amount_minor: amount, currency: 'USD', idempotency_key: key, user_id: userId,
      job_id: refs.job_id ?? null, hire_id: refs.hire_id ?? null, campaign_id: refs.campaign_id ?? null, event_at: at, ingested_at: at + 1000,
    });
  };
  for (let j = 0; j < o.jobs; j++) {
    const postedAt = postedTimes[j]!;
    const client = clientByRank[clientZipf.sample(rj)]!;
    const clientNode = o.providers + client;
    const child = childByRank[childZipf.sample(rj)]!;
    const nReq = rj.int(2, 5);
    const required = new Set<string>();
    for (let t = 0; required.size < Math.min(nReq, child.skills.length) && t < 30; t++) required.add(childSkill(child, rj));
    const optional = rj.chance(0.25) ? globalSkills[globalSkillZipf.sample(rj)]! : null;
    const hours = Math.max(2, Math.min(400, rj.logNormal(Math.log(20), 0.8)));
    const rate = rj.logNormal(PRICE_LOG_BY_LEVEL.intermediate.mu + PRICE_LOG_SHIFT_BY_FAMILY[child.family], 0.5);
    const budget = Math.max(2000, Math.round(rate * hours) * 100);
    const kind = rj.chance(0.25) ? 'gig' : 'job';
    const fixed = kind === 'gig' || rj.chance(0.5);
    const jobRow = {
      id: `j_${pad(j)}`, client_id: clientId(client), category_id: child.id, kind,
      title: `${rj.pick(VERBS)} ${[...required][0]!.slice(3).replace(/-/g, ' ')} ${rj.pick(NOUNS)}`,
      budget_min_minor: fixed ? null : Math.round(budget * 0.7), budget_max_minor: fixed ? null : Math.round(budget * 1.3),
      fixed_price_minor: fixed ? budget : null, currency: 'USD', posted_at: postedAt, closes_at: postedAt + rj.int(3, 14) * DAY,
      status: 'open', updated_at: stamp,
    };
    const target = budgetTarget(jobRow);
    const reqList = [...required];
    // Required qualifications (most jobs none), drawn from the category's own catalogue.
    const childQuals = qualsByChild.get(child.id)!;
    const reqQuals: string[] = [];
    if (childQuals.length > 0 && rjt.chance(JOB_QUALIFICATION_RATE)) {
      reqQuals.push(rjt.pick(childQuals));
      const rest = childQuals.filter((q) => q !== reqQuals[0]);
      if (rest.length > 0 && rjt.chance(JOB_SECOND_QUALIFICATION_RATE)) reqQuals.push(rjt.pick(rest));
    }

    // Candidates by relevance (skills and level only: never the sensitive attribute).
    const k = Math.min(o.providers, 1 + rj.poisson(perJob - 1));
    const cand = new Set<number>();
    for (let t = 0; t < 4 * k; t++) {
      const pool = skillProviders.get(rj.pick(reqList))!;
      cand.add(rj.chance(0.85) && pool.length > 0 ? pool[Math.floor(rj.next() * pool.length)]! : Math.floor(rj.next() * o.providers));
    }
    const candList = [...cand];
    const relevance = candList.map((p) => Math.exp(3 * skillCoverage(reqList, providers[p]!.skills) + 0.3 * providers[p]!.levelIdx));
    const chosen: number[] = [];
    while (chosen.length < k && chosen.length < candList.length) {
      const idx = rj.weighted(relevance);
      chosen.push(candList[idx]!);
      relevance[idx] = 0;
    }
    const earlier = (clientHires.get(client) ?? []).filter((h) => h.postedAt < postedAt).map((h) => h.node);
    const props = chosen.map((p) => {
      const pr = providers[p]!;
      const price = Math.max(500, Math.round(pr.rateUsd * hours * rj.logNormal(0, 0.15)) * 100);
      const at = postedAt + Math.floor(rj.exponential(DAY / 2));
      const features = {
        skillCoverage: skillCoverage(reqList, pr.skills), priceFit: priceFit(price, target), rating: pr.rating,
        proximity: proximity(connected, p, clientNode, earlier), qualificationMatch: qualificationMatch(reqQuals, pr.quals),
      };
      const utility = hireUtility(features);
      return { id: `pr_${pad(++proposalSeq, 8)}`, p, price, at, utility };
    });
    let status = 'closed';
    let hire: { id: string; amount: number; at: number; p: number; utility: number } | null = null;
    if (props.length > 0 && rj.chance(0.85)) {
      // The client's choice: softmax over noisy utility, minus the bias penalty for one group.
      const scores = props.map((x) => x.utility + rj.normal(0, HIRE_NOISE_SD) - (providers[x.p]!.gender === PENALISED_GENDER ? o.bias : 0));
      const max = Math.max(...scores);
      const pick = props[rj.weighted(scores.map((s) => Math.exp((s - max) / HIRE_TEMPERATURE)))]!;
      const at = Math.max(...props.map((x) => x.at)) + Math.floor(rj.exponential(DAY));
      hire = { id: `h_${pad(++hireSeq)}`, amount: pick.price, at, p: pick.p, utility: pick.utility };
      status = 'filled';
      const list = clientHires.get(client) ?? [];
      list.push({ postedAt, node: pick.p });
      clientHires.set(client, list);
    } else if (rj.chance(0.05)) status = 'cancelled';
    else if (jobRow.closes_at > END) status = 'open';
    out.push('job', { ...jobRow, status });
    for (const s of reqList) out.push('job_skill', { job_id: jobRow.id, skill_id: s, required: 1, updated_at: stamp });
    if (optional && !required.has(optional)) out.push('job_skill', { job_id: jobRow.id, skill_id: optional, required: 0, updated_at: stamp });
    for (const q of reqQuals) out.push('job_qualification', { job_id: jobRow.id, qualification_id: q, updated_at: stamp });
    // 2–6 SEO tags: the category's own tag, the required skills' tags, then more from the category's pool.
    const tagPool = tagsByChild.get(child.id)!;
    const tags = new Set<string>([tagPool[0]!]);
    const nTags = rjt.int(2, 6);
    for (const s of reqList) { const t = skillTag.get(s); if (t && tags.size < nTags) tags.add(t); }
    for (let t = 0; tags.size < Math.min(nTags, tagPool.length) && t < 30; t++) tags.add(rjt.pick(tagPool));
    for (const t of tags) out.push('job_tag', { job_id: jobRow.id, tag_id: t, updated_at: stamp });
    for (const x of props) {
      out.push('proposal', { id: x.id, provider_id: providers[x.p]!.id, job_id: jobRow.id, price_minor: x.price, currency: 'USD', event_at: x.at, ingested_at: x.at + 1000 });
    }
    if (hire) {
      const providerKey = providers[hire.p]!.id;
      const proposal = props.find((x) => x.p === hire!.p)!;
      out.push('hire', { id: hire.id, job_id: jobRow.id, provider_id: providerKey, proposal_id: proposal.id, amount_minor: hire.amount, currency: 'USD', event_at: hire.at, ingested_at: hire.at + 1000 });
      tx('escrow_deposit', hire.amount, `escrow_deposit:${hire.id}`, clientId(client), hire.at, { job_id: jobRow.id, hire_id: hire.id });
      const doneAt = hire.at + Math.floor((1 + rj.exponential(hours / 8)) * DAY);
      if (doneAt < END) {
        const pComplete = 1 / (1 + Math.exp(-(1.5 + 1.2 * (hire.utility - 2))));
        const outcome = rj.chance(pComplete) ? 'completed' : rj.chance(0.8) ? 'cancelled' : 'disputed';
        const rating = outcome === 'completed'
          ? Math.min(5, Math.max(1, Math.round((3.2 + 0.8 * hire.utility + rj.normal(0, 0.5)) * 10) / 10))
          : outcome === 'disputed' ? rj.int(1, 2) : null;
        out.push('completion', { id: `co_${pad(hireSeq)}`, hire_id: hire.id, outcome, rating, event_at: doneAt, ingested_at: doneAt + 1000 });
        const refs = { job_id: jobRow.id, hire_id: hire.id };
        const refund = outcome === 'cancelled' ? hire.amount : outcome === 'disputed' ? Math.floor(hire.amount / 2) : 0;
        const released = hire.amount - refund;
        if (refund > 0) tx('refund', refund, `refund:${hire.id}`, clientId(client), doneAt, refs);
        if (released > 0) {
          const fee = Math.round(released * PLATFORM_FEE);
          tx('escrow_release', released - fee, `escrow_release:${hire.id}`, providerKey, doneAt, refs);
          tx('platform_fee', fee, `platform_fee:${hire.id}`, providerKey, doneAt, refs);
        }
      }
    }
    yield* out.drain();
    if (j % 2000 === 1999 && j + 1 < o.jobs) onProgress('jobs', j + 1, o.jobs);
  }
  onProgress('jobs', o.jobs, o.jobs);

  // --- ads: advertisers, campaigns, creatives, placements ----------------------------------------
  const ra = rnd('ads');
  const nAdvertisers = Math.max(3, Math.ceil(nClients / 25));
  interface Campaign { id: string; advertiser: string; bidType: 'cpc' | 'cpm'; bid: number; creatives: string[]; impressions: number }
  const campaigns: Campaign[] = [];
  for (let a = 0; a < nAdvertisers; a++) {
    const advId = `adv_${pad(a, 5)}`;
    const linked = ra.chance(0.6) ? clientId(ra.int(0, nClients - 1)) : null;
    out.push('advertiser', { id: advId, name: `${ra.pick(COMPANY_A)} ${ra.pick(COMPANY_B)} Ads ${a}`, client_id: linked, updated_at: stamp });
    for (let c = ra.int(1, 3); c > 0; c--) {
      const id = `cmp_${pad(campaigns.length, 6)}`;
      const bidType = ra.chance(0.7) ? 'cpc' : 'cpm';
      const bid = bidType === 'cpc' ? Math.round(ra.logNormal(Math.log(80), 0.5)) : Math.round(ra.logNormal(Math.log(500), 0.4));
      const daily = Math.round(ra.logNormal(Math.log(5000), 0.7)) * 100;
      const cats = [childByRank[childZipf.sample(ra)]!.id];
      out.push('campaign', {
        id, advertiser_id: advId, name: `Campaign ${campaigns.length}`, bid_type: bidType, bid_minor: bid, currency: 'USD',
        daily_budget_minor: daily, lifetime_budget_minor: daily * (o.days + 10), starts_at: start - ra.int(0, 10) * DAY,
        ends_at: END + 10 * DAY, targeting: JSON.stringify({ categories: cats }), status: 'active', updated_at: stamp,
      });
      const creatives: string[] = [];
      for (let n = ra.int(1, 3); n > 0; n--) {
        const cid = `cr_${id.slice(4)}_${n}`;
        creatives.push(cid);
        out.push('creative', { id: cid, campaign_id: id, title: `${ra.pick(VERBS)} faster with ${ra.pick(COMPANY_A)}`, url: `https://ads.example.com/${id}/${cid}`, updated_at: stamp });
      }
      campaigns.push({ id, advertiser: advId, bidType, bid, creatives, impressions: 0 });
    }
  }
  for (const p of PLACEMENTS) out.push('placement', { id: `pl_${p.slot}`, slot: p.slot, name: p.name, updated_at: stamp });
  yield* out.drain();

  // --- impressions, clicks, conversions, fraud bursts, ad charges --------------------------------
  const ri = rnd('impressions');
  const remaining = Math.max(0, o.events - out.eventRows);
  const nImpressions = Math.floor(remaining / 1.08); // ≈ events per impression: itself, clicks, charges, conversions, fraud
  const nUsers = o.providers + nClients;
  const userZipf = new Zipf(nUsers, 0.8);
  const userByRank = shuffle(Array.from({ length: nUsers }, (_, k) => k), ri);
  const campaignZipf = new Zipf(campaigns.length, 1.0);
  const placementWeights = PLACEMENTS.map((_, k) => 1 / (k + 1));
  const cpcCampaigns = campaigns.filter((c) => c.bidType === 'cpc');
  const FRAUD_RATE = 1 / 1500;
  // Per-user and per-creative latents are hashes of their ids; computed once, not per impression.
  const users: { user: string; ip: string; device: string; affinity: number }[] = [];
  const userTraits = (n: number) => {
    const user = nodeId(n);
    return { user, ip: userIp(seed, user), device: deviceOf(seed, user), affinity: userAffinity(seed, user) };
  };
  const quality = new Map(campaigns.flatMap((c) => c.creatives.map((cr) => [cr, creativeQuality(seed, cr)] as const)));
  let clickSeq = 0, convSeq = 0, burstSeq = 0;
  const chargeClick = (c: Campaign, clickId: string, at: number) => {
    if (c.bidType === 'cpc') tx('ad_charge', c.bid, `ad_charge:${clickId}`, c.advertiser, at, { campaign_id: c.id });
  };
  for (let i = 0; i < nImpressions; i++) {
    const at = start + Math.floor(((i + ri.next()) * span) / nImpressions);
    const c = campaigns[campaignZipf.sample(ri)]!;
    const creative = ri.pick(c.creatives);
    const placementIdx = ri.weighted(placementWeights);
    const placement = PLACEMENTS[placementIdx]!;
    const userNode = userByRank[userZipf.sample(ri)]!;
    const { user, ip, device, affinity } = users[userNode] ??= userTraits(userNode);
    const impId = `im_${pad(i + 1, 9)}`;
    out.push('impression', { id: impId, campaign_id: c.id, creative_id: creative, placement_id: `pl_${placement.slot}`, user_id: user, ip, device, fraud_label: 0, event_at: at, ingested_at: at + 1000 });
    if (c.bidType === 'cpm' && ++c.impressions % 1000 === 0) {
      tx('ad_charge', c.bid, `ad_charge:${c.id}:cpm:${c.impressions / 1000}`, c.advertiser, at, { campaign_id: c.id });
    }
    if (ri.chance(clickProbability(placement.baseCtr, quality.get(creative)!, affinity))) {
      const clickAt = at + 500 + Math.floor(ri.exponential(4000));
      const clickId = `ck_${pad(++clickSeq, 9)}`;
      out.push('click', { id: clickId, impression_id: impId, campaign_id: c.id, creative_id: creative, placement_id: `pl_${placement.slot}`, user_id: user, ip, device, fraud_label: 0, event_at: clickAt, ingested_at: clickAt + 1000 });
      chargeClick(c, clickId, clickAt);
      if (ri.chance(0.1)) {
        const convAt = clickAt + Math.floor(ri.exponential(HOUR));
        out.push('conversion', { id: `cv_${pad(++convSeq, 9)}`, click_id: clickId, campaign_id: c.id, value_minor: Math.round(ri.logNormal(Math.log(4000), 0.8)), currency: 'USD', event_at: convAt, ingested_at: convAt + 1000 });
      }
    }
    // Click fraud: one IP, no impressions, clicks a fraction of a second apart on a cpc campaign.
    if (cpcCampaigns.length > 0 && ri.chance(FRAUD_RATE)) {
      const fc = ri.pick(cpcCampaigns);
      const fcr = ri.pick(fc.creatives);
      const fip = `203.0.113.${(burstSeq++ % 254) + 1}`;
      let t = at;
      for (let n = ri.int(15, 40); n > 0; n--) {
        t += ri.int(80, 900);
        const clickId = `ck_${pad(++clickSeq, 9)}`;
        out.push('click', { id: clickId, impression_id: null, campaign_id: fc.id, creative_id: fcr, placement_id: `pl_${PLACEMENTS[0].slot}`, user_id: null, ip: fip, device: 'desktop', fraud_label: 1, event_at: t, ingested_at: t + 1000 });
        chargeClick(fc, clickId, t);
      }
    }
    yield* out.drain();
    if (i % 50_000 === 49_999 && i + 1 < nImpressions) onProgress('ad events', i + 1, nImpressions);
  }
  onProgress('ad events', nImpressions, nImpressions);
  yield* out.drain(true);
}

/** Proximity of a provider to a client: connected to the client, or to a provider the client hired before. */
export function proximity<T>(connected: (a: T, b: T) => boolean, provider: T, client: T, earlierHires: readonly T[]): number {
  if (connected(provider, client)) return 1;
  for (const h of earlierHires) if (h !== provider && connected(provider, h)) return 0.5;
  return 0;
}

/** A user's stable IP (outside 203.0.113.0/24, which the fraud bursts use). */
export function userIp(seed: string, user: string): string {
  const x = Math.floor(hashUnit(`${seed}/ip/${user}`) * 2 ** 32) >>> 0;
  const a = 11 + ((x >>> 24) % 180);
  return `${a}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${(x & 255) || 1}`;
}

function deviceOf(seed: string, user: string): string {
  const u = hashUnit(`${seed}/device/${user}`);
  return u < 0.55 ? 'mobile' : u < 0.93 ? 'desktop' : 'tablet';
}

/** The natural key of each table written by the seed (from the data contract). */
export function seedTableKey(table: string): readonly string[] {
  return TABLE_SPECS.get(table)!.key;
}
export const isEventTable = (table: string): boolean => EVENT_TABLES.has(table);
