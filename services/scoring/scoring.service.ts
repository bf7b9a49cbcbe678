// Scoring use cases: rank providers for a job, score (job, provider) pairs, predict ad CTRs, and
// Open Inference Protocol inference on raw model inputs. Each request picks the version that
// serves it (the serving alias, or the canary alias for a sticky share of units), assembles the
// features, runs the kernel over all candidates in one pass, explains when asked, and logs the
// prediction through the queue. A shadow alias is scored after the response and only logged.
import { hash } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { ValidationError } from '../../platform/errors/app-error.js';
import type { Logger } from '../../platform/logging/logger.js';
import { fnv1a32 } from '../../pipelines/features/definitions/ads-features.js';
import type { FeatureValues } from '../../pipelines/features/feature-set.js';
import type { Explanation } from './explain/explanation.js';
import type { LoadedModel, ModelStore } from './model-store.js';
import { newPredictionId, type PredictionLog } from './prediction-log/prediction-log.js';
import { getPrediction } from './prediction-log/prediction-log.repository.js';
import type { AssembledRows, FeatureAssembler, FeatureProblems } from './request-features.js';
import { assembleInline, checkInlineJob, columnPlan, hashRows } from './request-features.js';
import { findCandidateProviders } from './scoring.repository.js';
import { ModelNotServedError, ModelUnavailableError } from './scoring.errors.js';
import type { ScoringSettings } from './scoring-settings.js';

const DAY = 86_400_000;
export const MATCHING_MODEL = 'matching-ranker';
export const ADS_MODEL = 'ads-ctr';

export type Route = 'serve' | 'canary';

export interface ServedBy { model: string; version: number; alias: string; route: Route; variant: string | null }

/** What scoring needs of the experiments: the variant a unit is in, and logging its exposure. */
export interface ExperimentSeam {
  forModel(model: string, unitId: string | null, attributes?: Record<string, unknown>): Promise<{ experiment: string; phase: number; inExperiment: boolean; variationIndex: number; variant: { key: string; payload: Record<string, unknown> } } | null>;
  expose(unitId: string, a: NonNullable<Awaited<ReturnType<ExperimentSeam['forModel']>>>): void;
}

type Chosen = LoadedModel & { route: Route; experiment: string | null; variant: string | null };

export interface CallContext { requestId: string | null; actor: string | null }

export interface ScoredCandidate {
  id: string;
  score: number;
  rank: number | null;
  explanation?: Explanation;
  /** Model columns the store lacked or held past their TTL for this candidate. */
  features?: FeatureProblems;
}

export interface RankCommand {
  job: { id?: string; [field: string]: unknown };
  /** Given candidates; absent: found by the pre-filter. */
  candidates?: readonly string[];
  k: number;
  explain: boolean;
  /** Who canary and experiment assignment is sticky for (default the job id). */
  unitId?: string;
  /** Pre-filter: only providers active within this many days (default 30). */
  activeWithinDays?: number;
}

export interface ScorePairsCommand {
  pairs: readonly ({ job: { id?: string; [field: string]: unknown }; providerId: string } | { features: Record<string, unknown> })[];
  explain: boolean;
  unitId?: string;
}

export interface AdsCommand {
  placementId: string; userId?: string; ip?: string; device?: string;
  creatives: readonly string[];
  explain: boolean;
  unitId?: string;
}

export interface ScoringDeps {
  db: Db;
  store: ModelStore;
  features: FeatureAssembler;
  predictionLog: PredictionLog;
  settings: ScoringSettings;
  /** Running experiments on the served models: a unit in one is served its variant's alias. */
  experiments?: ExperimentSeam | null;
  log?: Logger;
  now?: () => number;
}

export type ScoringService = ReturnType<typeof createScoringService>;

/** A unit's place in [0, 1): the same unit always lands in the same place for a model. */
export function unitBucket(model: string, unitId: string): number {
  return fnv1a32(`${model}\u0000${unitId}`) / 2 ** 32;
}

function validateK(k: number, limit: number): void {
  if (!Number.isInteger(k) || k < 1 || k > limit) throw new ValidationError(`k must be an integer from 1 to ${limit}`, [{ path: 'k', message: `must be an integer from 1 to ${limit}` }]);
}

export function createScoringService(deps: ScoringDeps) {
  const now = deps.now ?? Date.now;
  const { settings, store } = deps;

  /**
   * The version serving this unit: its experiment variant's alias when it is in a running
   * experiment on the model (the exposure is logged only once that alias is loaded and serves),
   * else the canary or serving alias.
   */
  async function choose(model: string, unitId: string | null, attributes: Record<string, unknown>): Promise<Chosen> {
    if (deps.experiments && unitId !== null) {
      const a = await deps.experiments.forModel(model, unitId, attributes);
      if (a) {
        const alias = String(a.variant.payload.alias ?? '');
        const m = store.get(model, alias);
        if (m) {
          deps.experiments.expose(unitId, a);
          return Object.assign(Object.create(m) as LoadedModel, { route: 'serve' as const, experiment: a.experiment, variant: a.variant.key });
        }
        store.track(model, alias); // served from the next requests on, once loaded
      }
    }
    return pick(model, unitId);
  }

  // A request is served a view of the loaded model that names its route (and variant): one view per
  // loaded version and route, made once, instead of two objects per request.
  const views = new WeakMap<LoadedModel, Partial<Record<Route, Chosen>>>();
  function view(m: LoadedModel, route: Route): Chosen {
    let byRoute = views.get(m);
    if (!byRoute) views.set(m, byRoute = {});
    return byRoute[route] ??= Object.freeze(Object.assign(Object.create(m) as LoadedModel, { route, experiment: null, variant: null }));
  }

  /** The canary alias for its share of units when loaded, else the serving alias. */
  function pick(model: string, unitId: string | null): Chosen {
    const serve = settings.serve.find((s) => s.model === model);
    if (!serve) throw new ModelNotServedError(model, settings.serve.map((s) => s.model));
    const canary = settings.canary.get(model);
    if (canary && unitId !== null && unitBucket(model, unitId) < canary.share) {
      const c = store.get(model, canary.alias);
      if (c) return view(c, 'canary');
    }
    const loaded = store.get(model, serve.alias);
    if (!loaded) {
      const st = store.status().find((s) => s.model === model && s.alias === serve.alias);
      throw new ModelUnavailableError(model, st?.lastError?.message ?? `waiting for ${model}@${serve.alias} to load`);
    }
    return view(loaded, 'serve');
  }

  function servedBy(m: Chosen): ServedBy {
    return { model: m.model, version: m.version, alias: m.alias, route: m.route, variant: m.variant };
  }

  function explainAll(m: LoadedModel, a: AssembledRows): Explanation[] {
    const all = Array.from({ length: a.n }, (_, i) => i);
    return m.explainer.explain(a.rows, a.n, { topK: settings.explainTopK, rawValues: all.map((i) => a.rawAt(i)), reasons: all.map((i) => a.reasonsAt(i)) });
  }

  /**
   * Writes one log entry. Raw features and explanations are kept for the explained candidates
   * only (`explanations` holds one per candidate, undefined where not explained): a ranking of 200
   * then logs its scores and the features of the ten it explained, not 200 feature rows.
   */
  function logPrediction(e: {
    id: string; endpoint: string; m: LoadedModel; role: 'serve' | 'canary' | 'shadow'; unitId: string | null; contextId: string | null;
    ids: readonly string[]; scores: ArrayLike<number>; ranks: readonly (number | null)[] | null; a: AssembledRows | null; hash?: () => string;
    explanations: readonly (Explanation | null | undefined)[] | null; ctx: CallContext;
  }): void {
    if (!settings.logPredictions) return;
    const candidates = e.ids.map((id, i) => ({ id, score: e.scores[i]!, rank: e.ranks ? e.ranks[i]! : null }));
    const missing: Record<string, FeatureProblems> = {};
    if (e.a) e.a.problems.forEach((p, i) => { if (p) missing[e.ids[i]!] = p; });
    const explained = e.explanations ? e.ids.map((_, i) => i).filter((i) => e.explanations![i]) : [];
    deps.predictionLog.record({
      id: e.id, request_id: e.ctx.requestId, endpoint: e.endpoint, model: e.m.model, version: e.m.version, alias: e.m.alias, role: e.role,
      experiment: (e.m as Partial<Chosen>).experiment ?? null, variant: (e.m as Partial<Chosen>).variant ?? null, unit_id: e.unitId, context_id: e.contextId,
      candidates: JSON.stringify(candidates),
      features_hash: e.a?.hash() ?? e.hash?.() ?? '',
      features: explained.length && e.a ? JSON.stringify(Object.fromEntries(explained.map((i) => [e.ids[i], e.a!.rawAt(i)]))) : null,
      explanations: explained.length ? JSON.stringify(Object.fromEntries(explained.map((i) => [e.ids[i], e.explanations![i]]))) : null,
      missing: Object.keys(missing).length ? JSON.stringify(missing) : null,
      actor: e.ctx.actor, created_at: now(),
    });
  }

  /** Scores the shadow alias after the response; failures are logged, never surfaced. */
  function shadow(model: string, id: string, endpoint: string, run: (m: LoadedModel) => Promise<{ ids: readonly string[]; a: AssembledRows; scores?: Float64Array; contextId: string | null; unitId: string | null }>, ctx: CallContext): void {
    const alias = settings.shadow.get(model);
    if (!alias) return;
    const m = store.get(model, alias);
    if (!m) return;
    setImmediate(() => {
      run(m).then(({ ids, a, scores: given, contextId, unitId }) => {
        const scores = given ?? m.compiled.predict(a.rows, a.n);
        logPrediction({ id: `${id}.shadow`, endpoint, m, role: 'shadow', unitId, contextId, ids, scores, ranks: endpoint === 'match.score' ? null : rankOf(ids, scores), a, explanations: null, ctx });
      }).catch((err: unknown) => deps.log?.warn({ model, alias, err: (err as Error).message }, 'shadow scoring failed'));
    });
  }

  async function jobInput(job: RankCommand['job'], path: string): Promise<{ jobId: string | null; inlineJob: FeatureValues | null }> {
    const { id, ...fields } = job;
    if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw new ValidationError(`${path}/id must be a non-empty string`, [{ path: `${path}/id`, message: 'must be a non-empty string' }]);
    const inline = Object.keys(fields).length ? checkInlineJob(fields, path) : null;
    if (!id && !inline) throw new ValidationError(`${path} needs an id or its fields`, [{ path, message: 'needs an id (a job in the online store) or inline job fields' }]);
    return { jobId: (id as string | undefined) ?? null, inlineJob: inline };
  }

  return {
    async rankMatch(cmd: RankCommand, ctx: CallContext) {
      validateK(cmd.k, settings.candidateLimit);
      const job = await jobInput(cmd.job, 'job');
      const unitId = cmd.unitId ?? job.jobId;
      const m = await choose(MATCHING_MODEL, unitId, { jobId: job.jobId, ...(job.inlineJob ?? {}) });
      let ids = cmd.candidates ? [...new Set(cmd.candidates)] : null;
      if (ids && ids.length > settings.candidateLimit) {
        throw new ValidationError(`at most ${settings.candidateLimit} candidates per request`, [{ path: 'candidates', message: `must have at most ${settings.candidateLimit} items` }]);
      }
      let found = false;
      if (!ids) {
        // "Find them": the job's own features say what to filter on.
        const probe = await deps.features.matching(m, { ...job, providerIds: [] });
        const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
        ids = await findCandidateProviders(deps.db, {
          skillIds: list(probe.job.required_skill_ids),
          categoryId: typeof probe.job.category_id === 'string' ? probe.job.category_id : null,
          activeSince: now() - (cmd.activeWithinDays ?? 30) * DAY,
          limit: settings.candidateLimit,
        });
        found = true;
      }
      const a = await deps.features.matching(m, { ...job, providerIds: ids });
      const scores = m.compiled.predict(a.rows, a.n);
      const order = Int32Array.from({ length: a.n }, (_, i) => i).sort((x, y) => scores[y]! - scores[x]! || (ids![x]! < ids![y]! ? -1 : 1));
      const top = order.subarray(0, Math.min(cmd.k, a.n));
      const explanations = cmd.explain && top.length ? explainTop(m, a, top) : null;
      const id = newPredictionId(now());
      const ranks = rankOf(ids, scores);
      logPrediction({ id, endpoint: 'match.rank', m, role: m.route, unitId, contextId: job.jobId, ids, scores, ranks, a, explanations: explanations ? fullList(a.n, top, explanations) : null, ctx });
      const jobInputCopy = { jobId: job.jobId, inlineJob: job.inlineJob };
      shadow(MATCHING_MODEL, id, 'match.rank', async (s) => ({ ids: ids!, a: await deps.features.matching(s, { ...jobInputCopy, providerIds: ids! }), contextId: job.jobId, unitId }), ctx);
      return {
        predictionId: id, ...servedBy(m),
        job: { id: job.jobId },
        candidates: { considered: a.n, source: found ? 'prefilter' as const : 'given' as const },
        results: Array.from(top, (i, r): ScoredCandidate => ({
          id: ids![i]!, score: scores[i]!, rank: r + 1,
          ...(explanations ? { explanation: explanations[r]! } : {}),
          ...(a.problems[i] ? { features: a.problems[i]! } : {}),
        })),
      };
    },

    async scoreMatch(cmd: ScorePairsCommand, ctx: CallContext) {
      if (cmd.pairs.length === 0) throw new ValidationError('pairs must not be empty', [{ path: 'pairs', message: 'must have at least one item' }]);
      if (cmd.pairs.length > settings.candidateLimit) throw new ValidationError(`at most ${settings.candidateLimit} pairs per request`, [{ path: 'pairs', message: `must have at most ${settings.candidateLimit} items` }]);
      const first = cmd.pairs[0]!;
      const unitId = cmd.unitId ?? ('job' in first && typeof first.job.id === 'string' ? first.job.id : null);
      const m = await choose(MATCHING_MODEL, unitId, {});
      // Pairs of the same job share one feature read; inline-feature pairs need none.
      const results: ScoredCandidate[] = new Array(cmd.pairs.length);
      const groups = new Map<string, { job: Awaited<ReturnType<typeof jobInput>>; idx: number[] }>();
      const inline: number[] = [];
      for (let i = 0; i < cmd.pairs.length; i++) {
        const p = cmd.pairs[i]!;
        if ('features' in p) { inline.push(i); continue; }
        const job = await jobInput(p.job, `pairs/${i}/job`);
        const key = JSON.stringify(p.job);
        let g = groups.get(key);
        if (!g) groups.set(key, g = { job, idx: [] });
        g.idx.push(i);
      }
      const ids: string[] = cmd.pairs.map((p, i) => ('providerId' in p ? p.providerId : `pair-${i}`));
      const inlineFeatures = inline.map((i) => (cmd.pairs[i] as { features: Record<string, unknown> }).features);
      /** Every pair through `model` (the served one, or the shadow): rows per job group plus the inline ones. */
      const run = async (model: LoadedModel, explain: boolean) => {
        const scores = new Float64Array(cmd.pairs.length);
        const rawOf: (() => FeatureValues)[] = new Array(cmd.pairs.length);
        const problems: (FeatureProblems | null)[] = new Array(cmd.pairs.length).fill(null);
        const explanations: (Explanation | null)[] = new Array(cmd.pairs.length).fill(null);
        const hashes: (() => string)[] = [];
        const score = (a: AssembledRows, idx: readonly number[]) => {
          const s = model.compiled.predict(a.rows, a.n);
          const ex = explain ? explainAll(model, a) : null;
          idx.forEach((i, k) => { scores[i] = s[k]!; rawOf[i] = () => a.rawAt(k); problems[i] = a.problems[k]!; if (ex) explanations[i] = ex[k]!; });
          hashes.push(a.hash);
        };
        for (const g of groups.values()) score(await deps.features.matching(model, { ...g.job, providerIds: g.idx.map((i) => ids[i]!) }), g.idx);
        if (inline.length) score(inlineRows(model, inlineFeatures, inline), inline);
        const a: AssembledRows = {
          n: cmd.pairs.length, rows: new Float64Array(0), problems,
          rawAt: (i) => rawOf[i]!(), reasonsAt: () => ({}),
          hash: () => (hashes.length === 1 ? hashes[0]!() : hashOf(hashes.map((h) => h()))),
        };
        return { scores, a, explanations };
      };
      const { scores, a, explanations } = await run(m, cmd.explain);
      for (let i = 0; i < cmd.pairs.length; i++) {
        results[i] = { id: ids[i]!, score: scores[i]!, rank: null, ...(explanations[i] ? { explanation: explanations[i]! } : {}), ...(a.problems[i] ? { features: a.problems[i]! } : {}) };
      }
      const id = newPredictionId(now());
      const contextId = groups.size === 1 ? [...groups.values()][0]!.job.jobId : null;
      logPrediction({ id, endpoint: 'match.score', m, role: m.route, unitId, contextId, ids, scores, ranks: null, a, explanations: cmd.explain ? explanations : null, ctx });
      shadow(MATCHING_MODEL, id, 'match.score', async (sm) => { const r = await run(sm, false); return { ids, a: r.a, scores: r.scores, contextId, unitId }; }, ctx);
      return { predictionId: id, ...servedBy(m), results };
    },

    async scoreAds(cmd: AdsCommand, ctx: CallContext) {
      if (cmd.creatives.length === 0) throw new ValidationError('creatives must not be empty', [{ path: 'creatives', message: 'must have at least one item' }]);
      if (cmd.creatives.length > settings.candidateLimit) throw new ValidationError(`at most ${settings.candidateLimit} creatives per request`, [{ path: 'creatives', message: `must have at most ${settings.candidateLimit} items` }]);
      const unitId = cmd.unitId ?? cmd.userId ?? cmd.ip ?? null;
      const m = await choose(ADS_MODEL, unitId, { placementId: cmd.placementId, userId: cmd.userId ?? null, device: cmd.device ?? null });
      const ids = [...new Set(cmd.creatives)];
      const req = { placementId: cmd.placementId, userId: cmd.userId ?? null, ip: cmd.ip ?? null, device: cmd.device ?? null, creativeIds: ids };
      const a = await deps.features.ads(m, req);
      const scores = m.compiled.predict(a.rows, a.n);
      const ranks = rankOf(ids, scores);
      const explanations = cmd.explain ? explainAll(m, a) : null;
      const id = newPredictionId(now());
      logPrediction({ id, endpoint: 'ads.score', m, role: m.route, unitId, contextId: cmd.placementId, ids, scores, ranks, a, explanations, ctx });
      shadow(ADS_MODEL, id, 'ads.score', async (s) => ({ ids, a: await deps.features.ads(s, req), contextId: cmd.placementId, unitId }), ctx);
      return {
        predictionId: id, ...servedBy(m),
        results: ids.map((cid, i) => ({
          creativeId: cid, campaignId: a.creatives.get(cid)!.campaignId, ctr: scores[i]!, rank: ranks[i]!,
          ...(explanations ? { explanation: explanations[i]! } : {}),
          ...(a.problems[i] ? { features: a.problems[i]! } : {}),
        })),
      };
    },

    /** Open Inference Protocol: n rows of the model's inputs (design columns, in featureNames order). */
    infer(model: string, version: number | null, rows: Float64Array, n: number, ctx: CallContext & { unitId?: string }) {
      const m = version === null ? pick(model, ctx.unitId ?? null) : versionOf(model, version);
      const scores = m.compiled.predict(rows, n);
      const id = newPredictionId(now());
      const ids = Array.from({ length: n }, (_, i) => String(i));
      logPrediction({ id, endpoint: 'v2.infer', m, role: 'route' in m ? (m as { route: Route }).route : 'serve', unitId: ctx.unitId ?? null, contextId: null, ids, scores, ranks: null, a: null, hash: () => hashRows(rows), explanations: null, ctx });
      return { predictionId: id, model: m.model, version: m.version, scores };
    },

    /** A loaded model by name (and version), for metadata. */
    model(model: string, version: number | null): LoadedModel {
      return version === null ? pick(model, null) : versionOf(model, version);
    },

    served(): { model: string; alias: string; loaded: LoadedModel | null }[] {
      return store.aliases().map((a) => ({ ...a, loaded: store.get(a.model, a.alias) }));
    },

    async getPrediction(id: string) {
      return getPrediction(deps.db, id);
    },
  };

  function versionOf(model: string, version: number): LoadedModel {
    if (!settings.serve.some((s) => s.model === model)) throw new ModelNotServedError(model, settings.serve.map((s) => s.model));
    const m = store.byVersion(model, version);
    if (!m) throw new ModelNotServedError(model, settings.serve.map((s) => s.model), version);
    return m;
  }

  function explainTop(m: LoadedModel, a: AssembledRows, top: Int32Array): Explanation[] {
    // Explain only what is returned: gather those rows into one batch.
    const d = m.compiled.inputSize;
    const rows = new Float64Array(top.length * d);
    top.forEach((i, r) => rows.set(a.rows.subarray(i * d, (i + 1) * d), r * d));
    return m.explainer.explain(rows, top.length, {
      topK: settings.explainTopK, rawValues: Array.from(top, (i) => a.rawAt(i)), reasons: Array.from(top, (i) => a.reasonsAt(i)),
    });
  }

  function inlineRows(m: LoadedModel, features: Record<string, unknown>[], idx: number[]): AssembledRows {
    const { known } = columnPlan(m);
    const problems: { path: string; message: string }[] = [];
    features.forEach((f, k) => {
      for (const name of Object.keys(f)) {
        if (!known.has(name)) problems.push({ path: `pairs/${idx[k]}/features/${name}`, message: `is not a column of ${m.model} v${m.version}` });
      }
    });
    if (problems.length) throw new ValidationError(`unknown feature columns: ${problems.slice(0, 5).map((p) => p.path).join(', ')}`, problems.slice(0, 50));
    return assembleInline(m, features);
  }
}

function rankOf(ids: readonly string[], scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: ids.length }, (_, i) => i).sort((x, y) => scores[y]! - scores[x]! || (ids[x]! < ids[y]! ? -1 : 1));
  const ranks = new Array<number>(ids.length);
  order.forEach((i, r) => { ranks[i] = r + 1; });
  return ranks;
}

function fullList(n: number, top: Int32Array, ex: Explanation[]): Explanation[] {
  const out = new Array<Explanation>(n);
  top.forEach((i, r) => { out[i] = ex[r]!; });
  return out;
}

function hashOf(parts: readonly string[]): string {
  return hash('sha256', parts.join('\n'), 'hex');
}
