// Features at request time: a model's raw columns are `set__feature`; entity sets come from the
// online store in one round trip (readMany), request-time sets (match_pair, ad_request) are
// computed per candidate from them, exactly as the training sets computed them. A feature the
// store lacks or holds past its TTL is encoded as training encoded a null (the training mean and
// its missing indicator) and reported per candidate, never silently zeroed.
import { hash } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.js';
import { readConnectionTimeline } from '../../pipelines/datasets/dataset.repository.js';
import { featureSet } from '../../pipelines/features/definitions/catalog.js';
import { ConnectionGraph, type Proximity } from '../../pipelines/features/definitions/connection-graph.js';
import { computeAdRequestFeatures } from '../../pipelines/features/definitions/ads-features.js';
import { computePairFeatures, computePairValues, jobProfile, loadSkillIdf } from '../../pipelines/features/definitions/matching-features.js';
import { WINDOWED_SETS } from '../../pipelines/features/definitions/window-inputs.js';
import type { FeatureSetRef, FeatureValue, FeatureValues } from '../../pipelines/features/feature-set.js';
import type { OnlineFeatures, OnlineStore } from '../../pipelines/features/store/feature-store.types.js';
import { encodeInto } from '../../model-registry/training/encode-table.js';
import { createEntityCache } from './entity-cache.js';
import type { LoadedModel } from './model-store.js';
import { readCreatives, type CreativeRow } from './scoring.repository.js';

/** What one candidate lacked: model columns absent from the store, or held past their TTL. */
export interface FeatureProblems { missing: string[]; expired: string[] }

export interface AssembledRows {
  n: number;
  /** n × inputSize model inputs, row-major. */
  rows: Float64Array;
  /** Per candidate: null when every column was present and fresh. */
  problems: (FeatureProblems | null)[];
  /** Candidate i's raw value of every model column (what the model saw before encoding), built on demand. */
  rawAt(i: number): FeatureValues;
  /** Candidate i's readable texts of the request-time features, by model column, built on demand. */
  reasonsAt(i: number): Record<string, string>;
  /** sha256 of the input rows, computed on demand (the prediction log wants it, the response does not). */
  hash(): string;
}

/** One set's values for one candidate, as read or computed. */
export interface SourceValues { values: FeatureValues; missing: readonly string[]; expired: readonly string[]; found: boolean }

const ABSENT: SourceValues = { values: {}, missing: [], expired: [], found: false };
const NO_REASONS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function fromOnline(o: OnlineFeatures): SourceValues {
  return { values: o.values, missing: o.missing, expired: o.expired, found: o.found };
}

/** `set__feature` → [set, feature]. */
function splitColumn(column: string): [string, string] {
  const i = column.indexOf('__');
  return i < 0 ? ['', column] : [column.slice(0, i), column.slice(i + 2)];
}

/** sha256 of model input rows: what the prediction log records as the features hash (one-shot: no Hash object per call). */
export function hashRows(rows: Float64Array): string {
  return hash('sha256', new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), 'hex');
}

/** Per model version, once: each raw column split into its set and feature. */
interface ColumnPlan { columns: readonly string[]; sets: string[]; features: string[]; known: ReadonlySet<string> }
// Keyed by the version's columns array, not the LoadedModel: requests are served views of the
// loaded model (Object.create per route or variant) that share its columns, so one plan serves them all.
const plans = new WeakMap<readonly string[], ColumnPlan>();
export function columnPlan(model: LoadedModel): ColumnPlan {
  let p = plans.get(model.columns);
  if (!p) {
    // The names as property keys (Object.keys gives them internalised): looking them up in a
    // request's parsed record then needs no string hashing.
    const keys = Object.keys(Object.fromEntries(model.columns.map((c) => [c, 0])));
    const columns = keys.length === model.columns.length && keys.every((k, i) => k === model.columns[i]) ? keys : model.columns;
    const split = columns.map(splitColumn);
    p = { columns, sets: split.map((x) => x[0]), features: split.map((x) => x[1]), known: new Set(columns) };
    plans.set(model.columns, p);
  }
  return p;
}

/** The sets a model reads, by column prefix. */
export function modelSets(model: LoadedModel): Set<string> {
  return new Set(columnPlan(model).sets);
}

/**
 * Encodes candidates' sources into model rows, recording what each lacked. Nothing per column is
 * allocated on this path: raw values and reasons are built later, only for the rows that are
 * explained or logged.
 */
export function assembleRows(
  model: LoadedModel, sources: readonly Readonly<Record<string, SourceValues>>[], reasonsAt: (i: number) => Record<string, string> = () => NO_REASONS,
): AssembledRows {
  const n = sources.length;
  const d = model.compiled.inputSize;
  const rows = new Float64Array(n * d);
  const problems: (FeatureProblems | null)[] = new Array(n);
  const plan = columnPlan(model);
  const k = plan.columns.length;
  const bySet: SourceValues[] = new Array(k);
  const means = model.servable.means;
  for (let i = 0; i < n; i++) {
    const src = sources[i]!;
    let missing: string[] | null = null, expired: string[] | null = null;
    for (let c = 0; c < k; c++) {
      const s = src[plan.sets[c]!] ?? ABSENT;
      bySet[c] = s;
      const feature = plan.features[c]!;
      if (!s.found || (s.missing.length && s.missing.includes(feature))) (missing ??= []).push(plan.columns[c]!);
      else if (s.expired.length && s.expired.includes(feature)) (expired ??= []).push(plan.columns[c]!);
    }
    problems[i] = missing || expired ? { missing: missing ?? [], expired: expired ?? [] } : null;
    const read = (c: number) => bySet[c]!.values[plan.features[c]!];
    if (model.encoding) {
      encodeInto(model.encoding, read, rows, i * d);
    } else {
      // A model without an encoding reads its columns as numbers; an unknown one counts as its mean.
      for (let c = 0; c < k; c++) {
        const v = read(c);
        const x = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN;
        rows[i * d + c] = Number.isFinite(x) ? x : means[c]!;
      }
    }
  }
  return {
    n, rows, problems, reasonsAt,
    rawAt(i) {
      const src = sources[i]!;
      const values: FeatureValues = {};
      for (let c = 0; c < k; c++) values[plan.columns[c]!] = (src[plan.sets[c]!] ?? ABSENT).values[plan.features[c]!] ?? null;
      return values;
    },
    hash: () => hashRows(rows),
  };
}

/**
 * Rows from flat records of the model's own `set__feature` columns (inline pairs): encoded straight
 * from each record, an absent column reported missing, with no per-set objects built on the way.
 */
export function assembleInline(model: LoadedModel, records: readonly Readonly<Record<string, unknown>>[]): AssembledRows {
  const n = records.length;
  const d = model.compiled.inputSize;
  const rows = new Float64Array(n * d);
  const problems: (FeatureProblems | null)[] = new Array(n);
  const plan = columnPlan(model);
  const { columns } = plan;
  const means = model.servable.means;
  for (let i = 0; i < n; i++) {
    const f = records[i]!;
    let missing: string[] | null = null;
    for (let c = 0; c < columns.length; c++) if (f[columns[c]!] === undefined) (missing ??= []).push(columns[c]!);
    problems[i] = missing ? { missing, expired: [] } : null;
    if (model.encoding) {
      encodeInto(model.encoding, (c) => f[columns[c]!], rows, i * d);
    } else {
      for (let c = 0; c < columns.length; c++) {
        const v = f[columns[c]!];
        const x = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN;
        rows[i * d + c] = Number.isFinite(x) ? x : means[c]!;
      }
    }
  }
  return {
    n, rows, problems, reasonsAt: () => NO_REASONS,
    rawAt(i) {
      const f = records[i]!;
      const values: FeatureValues = {};
      for (const c of columns) values[c] = (f[c] ?? null) as FeatureValues[string];
      return values;
    },
    hash: () => hashRows(rows),
  };
}

/**
 * The per-visitor inputs an ads model reads: the user's affinity (its set, or ad_request's
 * user_category_affinity computed from it) and the IP's velocity set. Every other input of an ads
 * row is shared by all requests of one placement, device and hour (the ad selector's pCTR cache).
 */
export function adsVisitorInputs(model: LoadedModel): { user: boolean; ip: boolean } {
  const plan = columnPlan(model);
  return {
    user: plan.sets.includes('user_affinity') || plan.columns.includes('ad_request__user_category_affinity'),
    ip: plan.sets.includes(WINDOWED_SETS.ip),
  };
}

/**
 * The graph as the pair values ask it, for one client: hops and shared connections from any
 * provider to `client`, the same as ConnectionGraph.proximity gives, but the 3-hop test looks the
 * provider's neighbours up in the client's 2-hop set (built once) instead of scanning each
 * neighbour's neighbours. `via` of a 3-hop path is not named (no value depends on it).
 */
export function towardsClient(graph: ConnectionGraph, client: string): ConnectionGraph {
  const nb = graph.neighbours(client);
  let twoHop: Set<string> | null = null;
  const proximity = (a: string, b: string): Proximity => {
    if (b !== client) return graph.proximity(a, b);
    const na = graph.neighbours(a);
    let shared = 0, via: string | null = null;
    const [small, large] = na.size <= nb.size ? [na, nb] : [nb, na];
    for (const x of small) if (large.has(x)) { shared++; via ??= x; }
    if (na.has(b)) return { hops: 1, shared, via: null };
    if (shared > 0) return { hops: 2, shared, via };
    if (!twoHop) { twoHop = new Set(); for (const y of nb) for (const z of graph.neighbours(y)) twoHop.add(z); }
    for (const x of na) if (twoHop.has(x)) return { hops: 3, shared: 0, via: null };
    return { hops: null, shared: 0, via: null };
  };
  return Object.assign(Object.create(graph) as ConnectionGraph, { proximity });
}

const JOB_FIELDS = new Map(jobProfile.features.map((f) => [f.name, f.type]));

/** Checks inline job fields against job_profile: names and types; throws naming each bad field. */
export function checkInlineJob(fields: Readonly<Record<string, unknown>>, path = 'job'): FeatureValues {
  const problems: { path: string; message: string }[] = [];
  const out: FeatureValues = {};
  for (const [name, v] of Object.entries(fields)) {
    if (name === 'id') continue;
    const type = JOB_FIELDS.get(name);
    if (!type) { problems.push({ path: `${path}/${name}`, message: `is not a job_profile feature (known: ${[...JOB_FIELDS.keys()].join(', ')})` }); continue; }
    if (v === null) { out[name] = null; continue; }
    const ok = type === 'string_list' ? Array.isArray(v) && v.every((x) => typeof x === 'string')
      : type === 'float_list' ? Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x))
        : type === 'string' ? typeof v === 'string'
          : type === 'bool' ? typeof v === 'boolean'
            : type === 'int' ? Number.isInteger(v) : typeof v === 'number' && Number.isFinite(v);
    if (!ok) problems.push({ path: `${path}/${name}`, message: `must be ${type === 'string_list' ? 'an array of strings' : type === 'float_list' ? 'an array of numbers' : type === 'int' ? 'an integer' : type === 'float' ? 'a number' : `a ${type}`}` });
    else out[name] = v as FeatureValue;
  }
  if (problems.length) throw new ValidationError(`invalid job fields: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  return out;
}

export interface FeatureAssemblerDeps {
  db: Db;
  online: OnlineStore;
  /** How long the skill IDF table and the connection graph are reused before a background reload (default 10 min). */
  contextTtlMs?: number;
  /** Reuse of online-store reads on the matching path (ms, 0 = off): see entity-cache.ts. */
  entityCacheMs?: number;
  /** Most entities that cache holds (default 20,000). */
  entityCacheMax?: number;
  now?: () => number;
}

export interface MatchingRequest { jobId: string | null; inlineJob: FeatureValues | null; providerIds: readonly string[] }
export interface AdsRequest { placementId: string; userId: string | null; ip: string | null; device: string | null; creativeIds: readonly string[] }

export type FeatureAssembler = ReturnType<typeof createFeatureAssembler>;

export function createFeatureAssembler(deps: FeatureAssemblerDeps) {
  const now = deps.now ?? Date.now;
  const ttl = deps.contextTtlMs ?? 10 * 60_000;
  const setRef = (name: string): FeatureSetRef => featureSet(name);
  const entities = createEntityCache({ ttlMs: deps.entityCacheMs ?? 0, maxEntries: deps.entityCacheMax ?? 20_000 });

  // The IDF table and the graph change slowly: loaded once, then refreshed in the background.
  interface MatchingContext { idf: Map<string, number>; graph: ConnectionGraph; at: number }
  let context: MatchingContext | null = null;
  let loading: Promise<MatchingContext> | null = null;
  function loadContext(): Promise<MatchingContext> {
    loading ??= (async () => {
      const at = now();
      const [idf, edges] = await Promise.all([loadSkillIdf(deps.db, at), readConnectionTimeline(deps.db, at + 1)]);
      const next: MatchingContext = { idf, graph: new ConnectionGraph(edges.map((e) => [e.a, e.b] as const), at), at };
      context = next;
      return next;
    })().finally(() => { loading = null; });
    return loading;
  }
  async function matchingContext(): Promise<MatchingContext> {
    if (!context) return loadContext();
    if (now() - context.at > ttl && !loading) loadContext().catch(() => { /* keep the old one; the next request retries */ });
    return context;
  }

  // Creatives rarely change: a short cache keeps ads scoring off the database.
  const creatives = new Map<string, { row: CreativeRow | null; at: number }>();
  async function creativeRows(ids: readonly string[]): Promise<Map<string, CreativeRow | null>> {
    const t = now();
    const wanted = ids.filter((id) => { const c = creatives.get(id); return !c || t - c.at > 60_000; });
    if (wanted.length) {
      const found = await readCreatives(deps.db, wanted);
      if (creatives.size > 50_000) creatives.clear();
      for (const id of wanted) creatives.set(id, { row: found.get(id) ?? null, at: t });
    }
    return new Map(ids.map((id) => [id, creatives.get(id)!.row]));
  }

  return {
    /** Rows from sources already at hand (inline features): nothing is read. */
    assemble(model: LoadedModel, sources: readonly Readonly<Record<string, SourceValues>>[]): AssembledRows {
      return assembleRows(model, sources);
    },

    /** Rows for (job, provider) pairs: provider_profile, provider_activity and job_profile read at once, match_pair computed. */
    async matching(model: LoadedModel, req: MatchingRequest): Promise<AssembledRows & { job: FeatureValues }> {
      const sets = modelSets(model);
      const t = now();
      const providerSets = [...sets].filter((s) => s === 'provider_profile' || s === WINDOWED_SETS.providerActivity);
      if (!providerSets.includes('provider_profile')) providerSets.push('provider_profile'); // the pair features need it
      const reads = providerSets.map((s) => ({ set: setRef(s), entityKeys: req.providerIds }));
      if (req.jobId) reads.push({ set: setRef('job_profile'), entityKeys: [req.jobId] });
      const [results, ctx] = await Promise.all([entities.readMany(deps.online, reads, t), sets.has('match_pair') ? matchingContext() : null]);
      let job: SourceValues;
      const stored = req.jobId ? results[results.length - 1]![0]! : null;
      if (req.inlineJob) {
        // Inline fields win over stored ones; what neither gives is missing.
        const values = { ...(stored?.values ?? {}), ...req.inlineJob };
        job = { values, found: true, missing: jobProfile.features.map((f) => f.name).filter((f) => !(f in values)), expired: [] };
      } else if (stored?.found) {
        job = fromOnline(stored);
      } else {
        throw new NotFoundError(`job ${req.jobId} has no features in the online store; send its fields inline (job.required_skill_ids, job.category_id, …)`, { jobId: req.jobId });
      }
      const byProvider = providerSets.map((s, k) => [s, results[k]!] as const);
      const sources: Record<string, SourceValues>[] = [];
      const pairCtx = ctx ? { idf: ctx.idf, graph: ctx.graph, now: t } : null;
      // Values only need hops and shared connections to the one client: asked of its neighbourhood,
      // gathered once per request. The explained rows' texts (which name a via) ask the graph itself.
      const client = typeof job.values.client_id === 'string' ? job.values.client_id : null;
      const valueCtx = pairCtx && client ? { ...pairCtx, graph: towardsClient(pairCtx.graph, client) } : pairCtx;
      for (let i = 0; i < req.providerIds.length; i++) {
        const src: Record<string, SourceValues> = { job_profile: job };
        for (const [s, r] of byProvider) src[s] = r[i]!; // an OnlineFeatures is a SourceValues: no copy
        if (pairCtx) {
          const provider = src.provider_profile!;
          // Nothing known of the provider: every pair feature unknown.
          src.match_pair = provider.found ? { values: computePairValues(provider.values, job.values, valueCtx!), found: true, missing: [], expired: [] } : ABSENT;
        }
        sources.push(src);
      }
      const reasons = (i: number): Record<string, string> => {
        const provider = sources[i]!.provider_profile;
        if (!pairCtx || !provider?.found) return NO_REASONS;
        const why: Record<string, string> = {};
        for (const [f, text] of Object.entries(computePairFeatures(provider.values, job.values, pairCtx).explanations)) why[`match_pair__${f}`] = text;
        return why;
      };
      return { ...assembleRows(model, sources, reasons), job: job.values };
    },

    /** The visitors' own sources an ads row may read (user_affinity, IP velocity), in order, one round trip: what keys the selector's pCTR cache. */
    async adsVisitors(visitors: readonly { userId: string | null; ip: string | null }[]): Promise<{ user: SourceValues; ip: SourceValues }[]> {
      const users = visitors.flatMap((v) => (v.userId ? [v.userId] : []));
      const ips = visitors.flatMap((v) => (v.ip ? [v.ip] : []));
      const [user, ip] = await deps.online.readMany([{ set: setRef('user_affinity'), entityKeys: users }, { set: setRef(WINDOWED_SETS.ip), entityKeys: ips }], now());
      let u = 0, i = 0;
      return visitors.map((v) => ({ user: v.userId ? fromOnline(user![u++]!) : ABSENT, ip: v.ip ? fromOnline(ip![i++]!) : ABSENT }));
    },

    /** Rows for creatives in one placement context: the windowed CTRs, campaign, user, IP and device sets, ad_request computed. */
    async ads(model: LoadedModel, req: AdsRequest): Promise<AssembledRows & { creatives: Map<string, CreativeRow | null> }> {
      const t = now();
      const byId = await creativeRows(req.creativeIds);
      const unknown = req.creativeIds.filter((id) => !byId.get(id));
      if (unknown.length) {
        throw new ValidationError(`unknown creative${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 10).join(', ')}`, unknown.slice(0, 20).map((id) => ({ path: `creatives/${req.creativeIds.indexOf(id)}`, message: `creative ${id} does not exist` })));
      }
      const rowsOf = req.creativeIds.map((id) => byId.get(id)!);
      const reads: { set: FeatureSetRef; entityKeys: readonly string[] }[] = [
        { set: setRef(WINDOWED_SETS.creative), entityKeys: req.creativeIds },
        { set: setRef('campaign_profile'), entityKeys: rowsOf.map((c) => c.campaignId) },
        { set: setRef(WINDOWED_SETS.placement), entityKeys: [req.placementId] },
        { set: setRef('user_affinity'), entityKeys: req.userId ? [req.userId] : [] },
        { set: setRef(WINDOWED_SETS.ip), entityKeys: req.ip ? [req.ip] : [] },
        { set: setRef(WINDOWED_SETS.device), entityKeys: req.device ? [req.device] : [] },
      ];
      const [creative, campaign, placement, user, ip, device] = await deps.online.readMany(reads, t);
      const one = (r: OnlineFeatures[] | undefined) => (r && r[0] ? fromOnline(r[0]) : ABSENT);
      const shared = { [WINDOWED_SETS.placement]: one(placement), user_affinity: one(user), [WINDOWED_SETS.ip]: one(ip), [WINDOWED_SETS.device]: one(device) };
      const sources: Record<string, SourceValues>[] = [];
      for (let i = 0; i < rowsOf.length; i++) {
        const c = rowsOf[i]!;
        const camp = fromOnline(campaign![i]!);
        const categories = Array.isArray(camp.values.targeted_categories) ? (camp.values.targeted_categories as readonly unknown[]).map(String) : [];
        const request = computeAdRequestFeatures({
          at: t, device: req.device, advertiserId: c.advertiserId, placementId: req.placementId,
          campaignCategories: categories, userAffinity: shared.user_affinity.found ? shared.user_affinity.values : null,
        });
        sources.push({
          ...shared, [WINDOWED_SETS.creative]: fromOnline(creative![i]!), campaign_profile: camp,
          ad_request: { values: request, found: true, missing: [], expired: [] },
        });
      }
      return { ...assembleRows(model, sources), creatives: byId };
    },
  };
}
