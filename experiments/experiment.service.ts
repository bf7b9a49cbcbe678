// Experiments: definitions with a lifecycle (draft → running → stopped | rolled_back), phases (a
// running experiment's weights or coverage never change silently: a change starts a new phase),
// GrowthBook-compatible assignment with targeting, first exposures logged through the queue,
// analysis from sufficient statistics aggregated in SQL, and guardrails that roll an experiment
// back — all traffic to control — when a guardrail is significantly worse than allowed (an
// always-valid test, so scheduled looks stay valid) or the split is off (sample-ratio mismatch).
import type { Registry } from 'prom-client';
import type { Actor, AuditEntry, AuditLog } from '../platform/audit/audit-log.js';
import type { Db } from '../platform/db/database.js';
import { ConflictError, NotFoundError, ValidationError, type FieldProblem } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import { createBatchedEnqueuer, type BatchedEnqueuer } from '../platform/queue/batched-enqueuer.js';
import type { JobDefinition, JobQueue } from '../platform/queue/queue.types.js';
import type { Webhooks } from '../model-registry/webhooks/webhook-delivery.job.js';
import { assign, assignmentProblems, compileExperiment, type Assignment, type CompiledExperiment } from './assignment/assign.js';
import { evalConditions, conditionProblems } from './conditions.js';
import * as repo from './experiment.repository.js';
import { metricStats } from './metric-stats.repository.js';
import type { ExperimentInput } from './experiment.schemas.js';
import { checkMetrics, metricDefinition, type MetricDefinition, type UnitType } from './metrics/metric-catalog.js';
import { analyzeExperiment, type ExperimentAnalysis } from './stats/analyze-experiment.js';
import { adjustPValues } from './stats/multiple-testing.js';
import type { VariantStats } from './stats/variant-stats.js';

declare module '../platform/queue/queue.types.js' {
  interface JobTypes {
    'experiments.exposures': { rows: repo.ExposureRow[] };
    'experiments.analyze': { key?: string };
  }
}

export type ExperimentStatus = 'draft' | 'running' | 'stopped' | 'rolled_back';

export interface Variant { key: string; name: string; weight: number; payload: Record<string, unknown> }

export interface Experiment {
  key: string; hypothesis: string; unitType: UnitType; model: string | null;
  variants: Variant[]; coverage: number;
  namespace: { name: string; start: number; end: number } | null;
  conditions: Record<string, unknown> | null;
  primaryMetric: string; secondaryMetrics: string[]; guardrails: { metric: string; maxDegradation: number }[];
  mde: number | null; hashVersion: 1 | 2; seed: string;
  status: ExperimentStatus; statusReason: string | null; phase: number;
  startedAt: number | null; stoppedAt: number | null;
  createdBy: string; createdAt: number; updatedAt: number;
}

export interface VariantAssignment extends Assignment {
  experiment: string; phase: number; variant: Variant;
}

export interface MetricResult {
  metric: string; role: 'primary' | 'secondary' | 'guardrail';
  kind: MetricDefinition['kind']; higherIsBetter: boolean; currency: string | null;
  cap: number | null;
  analysis: ExperimentAnalysis | null;
  /** Why there is no analysis (too few units, …). */
  note?: string;
  /** Secondary metrics: Benjamini–Hochberg across every (metric, variant) comparison. */
  adjustedAcrossMetrics?: Record<string, number | null>;
}

export interface GuardrailVerdict { metric: string; variant: string; maxDegradation: number; relativeLift: number | null; bound: number | null; breached: boolean; message: string }

export interface ExperimentReport {
  experiment: string; phase: number; analyzedAt: number; to: number;
  exposures: Record<string, number>;
  srm: ExperimentAnalysis['srm'] | null;
  trustworthy: boolean;
  metrics: MetricResult[];
  guardrails: GuardrailVerdict[];
  /** What the analysis did: rolled back (and why), or nothing. */
  action: { rolledBack: boolean; reason: string | null };
}

export interface AnalysisPoint {
  analyzedAt: number; phase: number; trigger: string; metric: string | null; srmPValue: number | null;
  variants: { variant: string; sequentialPValue: number | null; fixedPValue: number | null; relativeLift: number | null; relativeCi: [number, number] | null }[];
}

export interface ExperimentDeps {
  db: Db;
  audit: AuditLog;
  queue: JobQueue;
  webhooks?: Webhooks | null;
  log?: Logger;
  metrics?: Registry | null;
  /** Models whose aliases variants may name: checked at create (default: not checked). */
  modelExists?: (model: string) => Promise<boolean>;
  /** How long the running experiments of a model are cached for scoring (default 1 s). */
  cacheMs?: number;
  /** Currency money metrics are summed in (default USD). */
  currency?: string;
  /** CUPED covariate window before each exposure (default 14 days; 0 turns CUPED off). */
  covariateWindowMs?: number;
  /**
   * MySQL, metrics over imported events: keep each metric's per-unit values between analyses and
   * compute again only the units that changed (default true); false joins all facts every time.
   */
  incrementalAnalysis?: boolean;
  now?: () => number;
}

export type ExperimentService = ReturnType<typeof createExperimentService>;

const DAY = 86_400_000;
const actorId = (a: Actor) => `${a.type}:${a.id}`;

function toExperiment(r: repo.ExperimentRow): Experiment {
  return {
    key: r.key, hypothesis: r.hypothesis, unitType: r.unit_type as UnitType, model: r.model,
    variants: JSON.parse(r.variants) as Variant[], coverage: Number(r.coverage),
    namespace: r.namespace ? JSON.parse(r.namespace) as Experiment['namespace'] : null,
    conditions: r.conditions ? JSON.parse(r.conditions) as Record<string, unknown> : null,
    primaryMetric: r.primary_metric, secondaryMetrics: JSON.parse(r.secondary_metrics) as string[],
    guardrails: JSON.parse(r.guardrails) as Experiment['guardrails'],
    mde: r.mde === null ? null : Number(r.mde), hashVersion: Number(r.hash_version) as 1 | 2, seed: r.seed,
    status: r.status as ExperimentStatus, statusReason: r.status_reason, phase: Number(r.phase),
    startedAt: r.started_at === null ? null : Number(r.started_at), stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
    createdBy: r.created_by, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

function compiled(e: Experiment): CompiledExperiment {
  return compileExperiment({ key: e.key, seed: e.seed, hashVersion: e.hashVersion, variants: e.variants, coverage: e.coverage, namespace: e.namespace, status: e.status });
}

export function createExperimentService(deps: ExperimentDeps) {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 1_000;
  const currency = deps.currency ?? 'USD';
  const covariateWindowMs = deps.covariateWindowMs ?? 14 * DAY;

  const exposures: BatchedEnqueuer<repo.ExposureRow> = createBatchedEnqueuer({
    queue: deps.queue, job: 'experiments.exposures', what: 'experiment exposures', metricName: 'gigintel_experiment_exposures',
    payload: (rows) => ({ rows }), jobId: (rows) => `exp-${rows[0]!.experiment}-${rows[0]!.unit_id}-${rows[0]!.exposed_at}-${rows.length}`,
    ...(deps.log ? { log: deps.log } : {}), metrics: deps.metrics ?? null,
  });

  // Compiled experiments by key, and the running ones per model: one read per cacheMs, shared by every request.
  const byKey = new Map<string, { e: Experiment; c: CompiledExperiment; at: number }>();
  const byModel = new Map<string, { list: { e: Experiment; c: CompiledExperiment }[]; at: number; loading?: Promise<void> }>();

  async function require(key: string): Promise<Experiment> {
    const r = await repo.getExperiment(deps.db, key);
    if (!r) throw new NotFoundError(`no experiment "${key}"`, { experiment: key });
    return toExperiment(r);
  }

  async function cachedCompiled(key: string): Promise<{ e: Experiment; c: CompiledExperiment }> {
    const hit = byKey.get(key);
    if (hit && now() - hit.at < cacheMs) return hit;
    const e = await require(key);
    const entry = { e, c: hit && hit.e.updatedAt === e.updatedAt ? hit.c : compiled(e), at: now() };
    byKey.set(key, entry);
    return entry;
  }

  function refreshModel(model: string): Promise<void> {
    const entry = byModel.get(model) ?? { list: [], at: 0 };
    byModel.set(model, entry);
    entry.loading ??= repo.listExperiments(deps.db, { model, limit: 100 }).then((rows) => {
      // Running experiments assign; rolled-back ones keep serving control to everyone (no exposure).
      entry.list = rows.map(toExperiment).filter((e) => e.status === 'running').map((e) => ({ e, c: compiled(e) }));
      entry.at = now();
    }).finally(() => { entry.loading = undefined; });
    return entry.loading;
  }

  function variantAssignment(e: Experiment, c: CompiledExperiment, unitId: string, attributes: Record<string, unknown>): VariantAssignment {
    const targeted = !e.conditions || evalConditions(e.conditions, attributes);
    const a: Assignment = targeted
      ? assign(c, { id: unitId, attributes })
      : { inExperiment: false, variationIndex: 0, hashUsed: false, hashValue: unitId, bucket: null, reason: 'inactive' };
    return { ...a, experiment: e.key, phase: e.phase, variant: e.variants[a.variationIndex] ?? e.variants[0]! };
  }

  function recordExposure(unitId: string, a: VariantAssignment): void {
    if (!a.inExperiment) return;
    exposures.record({ experiment: a.experiment, unit_id: unitId.slice(0, 200), phase: a.phase, variant: a.variationIndex, exposed_at: now() });
  }

  async function publish(type: 'experiment.started' | 'experiment.stopped' | 'experiment.rolled_back', data: Record<string, unknown>): Promise<void> {
    try {
      await deps.webhooks?.publish(type, data);
    } catch (err) {
      deps.log?.warn({ err, event: type }, 'experiment webhook not queued');
    }
  }

  function validate(input: ExperimentInput): { variants: Variant[]; problems: FieldProblem[] } {
    const problems: FieldProblem[] = [];
    const n = input.variants.length;
    const given = input.variants.filter((v) => v.weight !== undefined).length;
    if (given !== 0 && given !== n) problems.push({ path: 'variants', message: 'give every variant a weight, or none (equal weights)' });
    const variants: Variant[] = input.variants.map((v) => ({ key: v.key, name: v.name ?? v.key, weight: given === n ? v.weight! : 1 / n, payload: v.payload ?? {} }));
    const keys = new Set(variants.map((v) => v.key));
    if (keys.size !== n) problems.push({ path: 'variants', message: 'variant keys must be unique' });
    if (input.model) {
      variants.forEach((v, i) => {
        if (typeof v.payload.alias !== 'string') problems.push({ path: `variants/${i}/payload/alias`, message: `a variant of a model experiment names the alias of ${input.model} it serves` });
      });
    }
    if (input.namespace && !(input.namespace.start < input.namespace.end)) problems.push({ path: 'namespace', message: 'start must be below end' });
    problems.push(...conditionProblems(input.conditions ?? null, 'conditions'));
    problems.push(...assignmentProblems({ key: input.key, seed: input.seed ?? null, hashVersion: input.hashVersion ?? 2, variants, coverage: input.coverage ?? 1, namespace: input.namespace ?? null }));
    return { variants, problems };
  }

  async function transition(key: string, from: ExperimentStatus[], to: ExperimentStatus, actor: Actor, reason: string | null, extra: Partial<repo.ExperimentRow> = {}): Promise<Experiment> {
    return deps.db.transaction().execute(async (tx) => {
      const r = await repo.getExperiment(tx, key);
      if (!r) throw new NotFoundError(`no experiment "${key}"`, { experiment: key });
      if (!from.includes(r.status as ExperimentStatus)) {
        throw new ConflictError(`experiment ${key} is ${r.status}; it must be ${from.join(' or ')} to become ${to}`, { experiment: key, status: r.status });
      }
      const at = now();
      const patch: Partial<repo.ExperimentRow> = { status: to, status_reason: reason, updated_at: Math.max(at, Number(r.updated_at) + 1), ...extra };
      if (!await repo.updateExperiment(tx, key, Number(r.updated_at), patch)) throw new ConflictError(`experiment ${key} changed meanwhile; read it again`, { experiment: key });
      if (to !== 'running') await repo.closePhase(tx, key, Number(r.phase), at);
      await deps.audit.record(tx, actor, `experiment.${to === 'running' ? 'started' : to}`, { type: 'experiment', id: key }, { from: r.status, reason, ...extra });
      return toExperiment({ ...r, ...patch });
    }).finally(() => { byKey.delete(key); byModel.clear(); });
  }

  const service = {
    async create(input: ExperimentInput, actor: Actor): Promise<Experiment> {
      const { variants, problems } = validate(input);
      try {
        checkMetrics(input.unitType, [
          { path: 'primaryMetric', key: input.primaryMetric },
          ...(input.secondaryMetrics ?? []).map((key, i) => ({ path: `secondaryMetrics/${i}`, key })),
          ...(input.guardrails ?? []).map((g, i) => ({ path: `guardrails/${i}/metric`, key: g.metric })),
        ]);
      } catch (err) {
        if (err instanceof ValidationError) problems.push(...err.problems); else throw err;
      }
      if (input.model && deps.modelExists && !await deps.modelExists(input.model)) problems.push({ path: 'model', message: `no registered model "${input.model}"` });
      if (problems.length) throw new ValidationError(`invalid experiment: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
      const at = now();
      const row: repo.ExperimentRow = {
        key: input.key, hypothesis: input.hypothesis, unit_type: input.unitType, model: input.model ?? null,
        variants: JSON.stringify(variants), coverage: input.coverage ?? 1,
        namespace: input.namespace ? JSON.stringify(input.namespace) : null, conditions: input.conditions ? JSON.stringify(input.conditions) : null,
        primary_metric: input.primaryMetric, secondary_metrics: JSON.stringify(input.secondaryMetrics ?? []), guardrails: JSON.stringify(input.guardrails ?? []),
        mde: input.mde ?? null, hash_version: input.hashVersion ?? 2, seed: input.seed ?? input.key,
        status: 'draft', status_reason: null, phase: 0, started_at: null, stopped_at: null,
        created_by: actorId(actor), created_at: at, updated_at: at,
      };
      await deps.db.transaction().execute(async (tx) => {
        if (!await repo.insertExperiment(tx, row)) throw new ConflictError(`experiment "${input.key}" exists`, { experiment: input.key });
        await deps.audit.record(tx, actor, 'experiment.created', { type: 'experiment', id: input.key }, { definition: input });
      });
      return toExperiment(row);
    },

    get: require,

    async list(q: { status?: string; model?: string; after?: string; limit?: number } = {}): Promise<Experiment[]> {
      return (await repo.listExperiments(deps.db, { ...q, limit: q.limit ?? 100 })).map(toExperiment);
    },

    async phases(key: string) {
      await require(key);
      return (await repo.listPhases(deps.db, key)).map((p) => ({ phase: Number(p.phase), weights: JSON.parse(p.weights) as number[], coverage: Number(p.coverage), reason: p.reason, startedAt: Number(p.started_at), endedAt: p.ended_at === null ? null : Number(p.ended_at) }));
    },

    /** A draft changes freely; a running experiment's weights or coverage change starts a new phase (reason required). */
    async update(key: string, patch: { hypothesis?: string; weights?: number[]; coverage?: number; guardrails?: { metric: string; maxDegradation: number }[]; reason?: string }, actor: Actor): Promise<Experiment> {
      const r = await deps.db.transaction().execute(async (tx) => {
        const cur = await repo.getExperiment(tx, key);
        if (!cur) throw new NotFoundError(`no experiment "${key}"`, { experiment: key });
        const e = toExperiment(cur);
        if (e.status === 'stopped' || e.status === 'rolled_back') throw new ConflictError(`experiment ${key} is ${e.status}; create a new one`, { experiment: key, status: e.status });
        const problems: FieldProblem[] = [];
        const variants = patch.weights ? e.variants.map((v, i) => ({ ...v, weight: patch.weights![i] ?? NaN })) : e.variants;
        if (patch.weights && patch.weights.length !== e.variants.length) problems.push({ path: 'weights', message: `must have ${e.variants.length} values, one per variant` });
        const coverage = patch.coverage ?? e.coverage;
        problems.push(...assignmentProblems({ key, seed: e.seed, hashVersion: e.hashVersion, variants, coverage, namespace: e.namespace }));
        if (patch.guardrails) {
          try { checkMetrics(e.unitType, patch.guardrails.map((g, i) => ({ path: `guardrails/${i}/metric`, key: g.metric }))); } catch (err) { if (err instanceof ValidationError) problems.push(...err.problems); else throw err; }
        }
        const newPhase = e.status === 'running' && (patch.weights !== undefined || patch.coverage !== undefined);
        if (newPhase && !patch.reason) problems.push({ path: 'reason', message: 'changing a running experiment\'s weights or coverage starts a new phase: say why' });
        if (problems.length) throw new ValidationError(`invalid change: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
        const at = now();
        const row: Partial<repo.ExperimentRow> = {
          ...(patch.hypothesis !== undefined ? { hypothesis: patch.hypothesis } : {}),
          ...(patch.guardrails !== undefined ? { guardrails: JSON.stringify(patch.guardrails) } : {}),
          variants: JSON.stringify(variants), coverage, updated_at: Math.max(at, e.updatedAt + 1),
          ...(newPhase ? { phase: e.phase + 1 } : {}),
        };
        if (!await repo.updateExperiment(tx, key, e.updatedAt, row)) throw new ConflictError(`experiment ${key} changed meanwhile; read it again`, { experiment: key });
        if (newPhase) {
          await repo.closePhase(tx, key, e.phase, at);
          await repo.insertPhase(tx, { experiment: key, phase: e.phase + 1, weights: JSON.stringify(variants.map((v) => v.weight)), coverage, reason: patch.reason!, started_at: at, ended_at: null });
        }
        await deps.audit.record(tx, actor, newPhase ? 'experiment.new_phase' : 'experiment.updated', { type: 'experiment', id: key }, { patch });
        return toExperiment({ ...cur, ...row });
      });
      byKey.delete(key); byModel.clear();
      return r;
    },

    async start(key: string, actor: Actor): Promise<Experiment> {
      const at = now();
      const e = await deps.db.transaction().execute(async (tx) => {
        const cur = await repo.getExperiment(tx, key);
        if (!cur) throw new NotFoundError(`no experiment "${key}"`, { experiment: key });
        if (cur.status !== 'draft') throw new ConflictError(`experiment ${key} is ${cur.status}; only a draft can start`, { experiment: key, status: cur.status });
        const x = toExperiment(cur);
        if (x.model) {
          const others = (await repo.listExperiments(tx, { model: x.model, status: 'running', limit: 100 })).map(toExperiment);
          const overlap = others.find((o) => !o.namespace || !x.namespace || o.namespace.name !== x.namespace.name || (o.namespace.start < x.namespace.end && x.namespace.start < o.namespace.end));
          if (overlap) throw new ConflictError(`${overlap.key} already runs on ${x.model}; give both the same namespace with disjoint ranges to run them side by side`, { experiment: key, running: overlap.key });
        }
        const patch = { status: 'running', status_reason: null, phase: 1, started_at: at, updated_at: Math.max(at, x.updatedAt + 1) };
        if (!await repo.updateExperiment(tx, key, x.updatedAt, patch)) throw new ConflictError(`experiment ${key} changed meanwhile; read it again`, { experiment: key });
        await repo.insertPhase(tx, { experiment: key, phase: 1, weights: JSON.stringify(x.variants.map((v) => v.weight)), coverage: x.coverage, reason: 'start', started_at: at, ended_at: null });
        await deps.audit.record(tx, actor, 'experiment.started', { type: 'experiment', id: key }, {});
        return toExperiment({ ...cur, ...patch });
      });
      byKey.delete(key); byModel.clear();
      await publish('experiment.started', { experiment: key, model: e.model, variants: e.variants });
      return e;
    },

    async stop(key: string, actor: Actor, reason: string): Promise<Experiment> {
      const e = await transition(key, ['running'], 'stopped', actor, reason, { stopped_at: now() });
      await publish('experiment.stopped', { experiment: key, reason });
      return e;
    },

    /** The kill switch (and what a breached guardrail calls): everyone served control from now on. */
    async rollback(key: string, actor: Actor, reason: string, details: Record<string, unknown> = {}): Promise<Experiment> {
      const e = await transition(key, ['running'], 'rolled_back', actor, reason, { stopped_at: now() });
      deps.log?.warn({ experiment: key, reason, ...details }, `experiment ${key} rolled back: ${reason}`);
      await publish('experiment.rolled_back', { experiment: key, model: e.model, reason, ...details });
      return e;
    },

    /** The variant of a unit (API callers); the exposure is logged once per unit unless log is false. */
    async assign(key: string, unitId: string, attributes: Record<string, unknown> = {}, opts: { log?: boolean } = {}): Promise<VariantAssignment> {
      const { e, c } = await cachedCompiled(key);
      const a = variantAssignment(e, c, unitId, attributes);
      if (opts.log !== false && e.status === 'running') recordExposure(unitId, a);
      return a;
    },

    /**
     * For scoring: the running experiment on `model` that this unit is in, with its variant, or
     * null (serve as usual). Cached per model for cacheMs; the first call for a model waits for the
     * read. The caller logs the exposure (`expose`) once it knows it can serve the variant.
     */
    async forModel(model: string, unitId: string | null, attributes: Record<string, unknown> = {}): Promise<VariantAssignment | null> {
      if (unitId === null) return null;
      let entry = byModel.get(model);
      if (!entry || now() - entry.at > cacheMs) {
        const p = refreshModel(model);
        if (!entry || entry.at === 0) await p; else p.catch((err: unknown) => deps.log?.warn({ err, model }, 'could not refresh running experiments'));
        entry = byModel.get(model)!;
      }
      for (const { e, c } of entry.list) {
        const a = variantAssignment(e, c, unitId, attributes);
        if (a.inExperiment) return a;
      }
      return null;
    },

    /**
     * Analyses every metric of the experiment's current phase; a breached guardrail or SRM rolls it back (when `act`).
     * `rebuild`: compute the kept per-unit values again from all facts (incremental analysis, MySQL).
     */
    async analyze(key: string, opts: { trigger: 'manual' | 'schedule'; to?: number; act?: boolean; actor?: Actor; rebuild?: boolean } = { trigger: 'manual' }): Promise<ExperimentReport> {
      const e = await require(key);
      if (e.phase === 0) throw new ConflictError(`experiment ${key} has not started`, { experiment: key, status: e.status });
      const to = Math.min(opts.to ?? now(), e.stoppedAt ?? Infinity);
      const openEnded = opts.to === undefined && e.stoppedAt === null;
      const counts = await repo.exposureCounts(deps.db, key, e.phase);
      const exposures = Object.fromEntries(e.variants.map((v, i) => [v.key, counts.get(i) ?? 0]));
      const weights = Object.fromEntries(e.variants.map((v) => [v.key, v.weight]));
      const control = e.variants[0]!.key;
      const roles: { metric: string; role: MetricResult['role'] }[] = [
        { metric: e.primaryMetric, role: 'primary' },
        ...e.secondaryMetrics.map((metric) => ({ metric, role: 'secondary' as const })),
        ...e.guardrails.map((g) => ({ metric: g.metric, role: 'guardrail' as const })),
      ];
      const metrics: MetricResult[] = [];
      for (const { metric, role } of roles) {
        const def = metricDefinition(metric);
        const base = { experiment: key, phase: e.phase, metric: def, to, openEnded, currency };
        const cupedOn = covariateWindowMs > 0 && def.kind !== 'ratio';
        const { cap, sums, source } = await metricStats(deps.db, { ...base, capPercentile: def.kind === 'mean' ? def.defaultCap : null, covariateWindowMs: cupedOn ? covariateWindowMs : null }, counts,
          { incremental: deps.incrementalAnalysis ?? true, rebuild: opts.rebuild === true });
        deps.log?.debug({ experiment: key, metric, ...source }, 'metric values');
        const stats: Record<string, VariantStats> = {};
        for (const s of sums) {
          const v = e.variants[s.variant];
          if (!v) continue;
          stats[v.key] = { n: s.n, sumX: s.sumX, sumX2: s.sumX2, ...(def.kind === 'ratio' ? { sumY: s.sumY, sumY2: s.sumY2, sumXY: s.sumXY } : {}), ...(cupedOn ? { sumC: s.sumC, sumC2: s.sumC2, sumXC: s.sumXC } : {}) };
        }
        const result: MetricResult = { metric, role, kind: def.kind, higherIsBetter: def.higherIsBetter, currency: def.money ? currency : null, cap, analysis: null };
        const missing = e.variants.filter((v) => (stats[v.key]?.n ?? 0) < 2).map((v) => v.key);
        if (missing.length) {
          result.note = `too few exposed units in ${missing.join(', ')} to analyse`;
        } else {
          // CUPED only helps when the covariate varies; without pre-exposure facts it is left out.
          const useCuped = cupedOn && Object.values(stats).some((s) => (s.sumC2 ?? 0) > 0);
          result.analysis = analyzeExperiment(stats, {
            control, metric: def.kind === 'ratio' ? 'ratio' : 'mean', cuped: useCuped, weights,
            sequential: true, bayesian: true, lowerIsBetter: !def.higherIsBetter,
          });
        }
        metrics.push(result);
      }
      // Secondary metrics: false discovery rate across every (metric, treatment) comparison.
      const secondary = metrics.filter((m) => m.role === 'secondary' && m.analysis);
      const ps = secondary.flatMap((m) => m.analysis!.comparisons.map((c) => c.fixed.absolute.pValue ?? 1));
      const bh = adjustPValues(ps, 'bh');
      let k = 0;
      for (const m of secondary) m.adjustedAcrossMetrics = Object.fromEntries(m.analysis!.comparisons.map((c) => [c.variant, bh[k++] ?? null]));

      const guardrails: GuardrailVerdict[] = [];
      for (const g of e.guardrails) {
        const m = metrics.find((x) => x.role === 'guardrail' && x.metric === g.metric);
        for (const c of m?.analysis?.comparisons ?? []) {
          const rel = c.sequential?.relative ?? null;
          // Always-valid interval of the relative lift: breached when even its best end is worse than allowed.
          const bound = rel?.ci ? (m!.higherIsBetter ? rel.ci[1] : rel.ci[0]) : null;
          const breached = bound !== null && (m!.higherIsBetter ? bound < -g.maxDegradation : bound > g.maxDegradation);
          guardrails.push({
            metric: g.metric, variant: c.variant, maxDegradation: g.maxDegradation, relativeLift: rel?.estimate ?? null, bound, breached,
            message: bound === null ? `${g.metric}: ${c.variant} has no relative interval yet`
              : `${g.metric}: ${c.variant} ${m!.higherIsBetter ? 'at best' : 'at least'} ${(bound * 100).toFixed(2)}% vs control (allowed ${m!.higherIsBetter ? '−' : '+'}${(g.maxDegradation * 100).toFixed(2)}%)${breached ? ': breached' : ''}`,
          });
        }
      }
      const srm = metrics[0]?.analysis?.srm ?? null;
      const trustworthy = srm ? !srm.mismatch : true;
      let action: ExperimentReport['action'] = { rolledBack: false, reason: null };
      const breached = guardrails.filter((g) => g.breached);
      if ((opts.act ?? true) && e.status === 'running' && (breached.length || (srm && srm.mismatch))) {
        const reason = breached.length ? `guardrail breached: ${breached.map((b) => b.message).join('; ')}` : `sample-ratio mismatch (p = ${srm!.pValue.toExponential(2)})`;
        await service.rollback(key, opts.actor ?? { type: 'system', id: 'guardrails' }, reason, { guardrails: breached, srm });
        action = { rolledBack: true, reason };
      }
      const report: ExperimentReport = { experiment: key, phase: e.phase, analyzedAt: now(), to, exposures, srm, trustworthy, metrics, guardrails, action };
      await repo.insertAnalysis(deps.db, { experiment: key, phase: e.phase, report: JSON.stringify(report), trigger: opts.trigger, created_at: report.analyzedAt });
      return report;
    },

    /** The latest stored analysis. */
    async results(key: string): Promise<ExperimentReport | null> {
      await require(key);
      const r = await repo.latestAnalysis(deps.db, key);
      return r ? JSON.parse(r.report) as ExperimentReport : null;
    },

    /**
     * The primary metric over the stored analyses, oldest first: per treatment variant the
     * always-valid (sequential) p-value, the fixed-horizon one and the relative lift with its
     * always-valid interval, so a page can draw how the evidence built up.
     */
    async analysisHistory(key: string, limit = 200): Promise<AnalysisPoint[]> {
      await require(key);
      return (await repo.listAnalyses(deps.db, key, limit)).map((r) => {
        const report = JSON.parse(r.report) as ExperimentReport;
        const primary = report.metrics.find((m) => m.role === 'primary');
        return {
          analyzedAt: report.analyzedAt, phase: report.phase, trigger: r.trigger, metric: primary?.metric ?? null,
          srmPValue: report.srm?.pValue ?? null,
          variants: (primary?.analysis?.comparisons ?? []).map((c) => ({
            variant: c.variant, sequentialPValue: c.sequential?.absolute.pValue ?? null, fixedPValue: c.fixed.absolute.pValue ?? null,
            relativeLift: c.sequential?.relative?.estimate ?? c.fixed.relative?.estimate ?? null, relativeCi: c.sequential?.relative?.ci ?? null,
          })),
        };
      });
    },

    /** The experiment's audit trail, newest first. */
    async auditTrail(key: string, limit = 100): Promise<AuditEntry[]> {
      await require(key);
      return deps.audit.list({ objectType: 'experiment', objectId: key, limit });
    },

    /**
     * Exposures recorded elsewhere (a GrowthBook SDK's tracking callback, an exported experiment):
     * each row names the unit, the variant key and the time. Bad rows are refused by index, the
     * good ones beside them kept; a unit's first exposure stays.
     */
    async recordExposures(key: string, rows: readonly { unitId: string; variant: string; at: number }[]): Promise<{ accepted: number; inserted: number; refused: FieldProblem[] }> {
      const e = await require(key);
      if (e.phase === 0) throw new ConflictError(`experiment ${key} has not started`, { experiment: key, status: e.status });
      const index = new Map(e.variants.map((v, i) => [v.key, i]));
      const refused: FieldProblem[] = [];
      const good: repo.ExposureRow[] = [];
      rows.forEach((r, i) => {
        const v = index.get(r.variant);
        if (typeof r.unitId !== 'string' || !r.unitId || r.unitId.length > 200) refused.push({ path: `exposures/${i}/unitId`, message: 'must be 1–200 characters' });
        else if (v === undefined) refused.push({ path: `exposures/${i}/variant`, message: `must be one of ${e.variants.map((x) => x.key).join(', ')}` });
        else if (!Number.isFinite(r.at) || r.at < 0) refused.push({ path: `exposures/${i}/at`, message: 'must be a time in ms' });
        else good.push({ experiment: key, unit_id: r.unitId, phase: e.phase, variant: v, exposed_at: Math.round(r.at) });
      });
      return { accepted: good.length, inserted: await repo.insertExposures(deps.db, good), refused };
    },

    /** Outcome facts for `events.<name>` metrics; bad rows refused by index, good ones kept. */
    async recordEvents(rows: readonly { name: string; unitId: string; value?: number; at: number }[]): Promise<{ inserted: number; refused: FieldProblem[] }> {
      const refused: FieldProblem[] = [];
      const good: repo.MetricEventRow[] = [];
      rows.forEach((r, i) => {
        if (typeof r.name !== 'string' || !/^[a-z0-9_][a-z0-9_-]{0,63}$/.test(r.name)) refused.push({ path: `events/${i}/name`, message: 'must be 1–64 of a-z 0-9 _ - (the metric is events.<name>)' });
        else if (typeof r.unitId !== 'string' || !r.unitId || r.unitId.length > 200) refused.push({ path: `events/${i}/unitId`, message: 'must be 1–200 characters' });
        else if (r.value !== undefined && !Number.isFinite(r.value)) refused.push({ path: `events/${i}/value`, message: 'must be a finite number' });
        else if (!Number.isFinite(r.at) || r.at < 0) refused.push({ path: `events/${i}/at`, message: 'must be a time in ms' });
        else good.push({ name: r.name, unit_id: r.unitId, value: r.value ?? 1, event_at: Math.round(r.at) });
      });
      return { inserted: await repo.insertMetricEvents(deps.db, good), refused };
    },

    /** Logs a unit's exposure to the variant it was served (the first one per unit is kept). */
    expose: recordExposure,

    exposures,

    jobs(): JobDefinition[] {
      const write: JobDefinition<'experiments.exposures'> = {
        name: 'experiments.exposures', concurrency: 2,
        handler: async (p) => ({ inserted: await repo.insertExposures(deps.db, p.rows) }),
      };
      const analyze: JobDefinition<'experiments.analyze'> = {
        name: 'experiments.analyze', attempts: 2,
        handler: async (p) => {
          const keys = p.key ? [p.key] : (await repo.listExperiments(deps.db, { status: 'running', limit: 1000 })).map((r) => r.key);
          const out: Record<string, unknown> = {};
          for (const key of keys) {
            try {
              const r = await service.analyze(key, { trigger: 'schedule' });
              out[key] = { rolledBack: r.action.rolledBack, trustworthy: r.trustworthy };
            } catch (err) {
              out[key] = { error: (err as Error).message };
            }
          }
          return out;
        },
      };
      return [write as unknown as JobDefinition, analyze as unknown as JobDefinition];
    },
  };
  return service;
}
