// Fairness audits of live traffic: the rankings a model version served (and canaried) in a time
// window, grouped by the candidates' sensitive attributes. Ranking metrics over every logged
// ranking; classification metrics where the outcome is known: a matching job that has a hire is
// decided, so its hired candidates are positives and the others negatives (jobs still open are left
// out, their outcome is unknown). A candidate is "selected" when ranked in the top k, or, for a
// request scored without ranking, when its score reaches the threshold. Stored in model_audit.
import type { Actor } from '../../../platform/audit/audit-log.js';
import type { Db } from '../../../platform/db/database.js';
import { NotFoundError, ValidationError } from '../../../platform/errors/app-error.js';
import type { JobDefinition } from '../../../platform/queue/queue.types.js';
import { readSensitiveAttributes } from '../../../pipelines/contract/sensitive-attribute.repository.js';
import { findAudit, hiresForJobs, insertAudit, listAudits, readPredictions, versionKnown, versionsWithPredictions, type AuditRow } from './audit.repository.js';
import { groupFairness, type ClassificationFairness } from './classification-metrics.js';
import { rankingFairness, type Ranking, type RankingFairness } from './ranking-metrics.js';

/** Candidates without a value for an attribute are grouped here. */
export const UNKNOWN_GROUP = 'unknown';
export const AUDITED_ROLES = ['serve', 'canary'] as const;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const PAGE = 1000;

export interface LoggedCandidate { id: string; score: number; rank: number | null }
export interface LoggedPrediction { contextId: string | null; candidates: LoggedCandidate[] }

export interface AttributeAudit {
  /** Candidate appearances with / without a value for the attribute. */
  known: number;
  unknown: number;
  /** Over the ranked predictions; null when none was ranked. */
  ranking: RankingFairness | null;
  /** Over the candidates of decided jobs; null when no outcome is known yet. */
  classification: ClassificationFairness | null;
}

export interface AuditReport {
  /** Logged predictions read (serve and canary). */
  predictions: number;
  /** Predictions that carried a ranking. */
  rankings: number;
  /** Candidate appearances over all predictions. */
  candidates: number;
  /** Candidate appearances with a known outcome (their job has a hire). */
  labelled: number;
  k: number;
  threshold: number;
  /** True when the window held more predictions than the audit reads (maxPredictions). */
  truncated: boolean;
  attributes: Record<string, AttributeAudit>;
}

export interface ModelAudit {
  id: number;
  model: string;
  version: number;
  from: number;
  to: number;
  predictions: number;
  trigger: 'manual' | 'schedule';
  createdBy: string;
  createdAt: number;
  report: AuditReport;
}

export interface AuditCommand {
  model: string;
  version: number;
  from: number;
  to: number;
  /** Top-k cut-off for selection and skew@k (default the service's, 10). */
  k?: number;
  threshold?: number;
}

export interface AuditDeps {
  db: Db;
  k?: number;
  threshold?: number;
  /** Upper bound of predictions one audit reads (default 200 000). */
  maxPredictions?: number;
  now?: () => number;
}

export type AuditService = ReturnType<typeof createAuditService>;

/** The candidates JSON of a prediction_log row; malformed entries are dropped rather than failing the audit. */
export function parseCandidates(json: string): LoggedCandidate[] {
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { return []; }
  if (!Array.isArray(parsed)) return [];
  const out: LoggedCandidate[] = [];
  for (const c of parsed as { id?: unknown; score?: unknown; rank?: unknown }[]) {
    if (c === null || typeof c !== 'object' || typeof c.id !== 'string' || typeof c.score !== 'number') continue;
    out.push({ id: c.id, score: c.score, rank: typeof c.rank === 'number' ? c.rank : null });
  }
  return out;
}

/**
 * The audit report of logged predictions, given each candidate's sensitive attributes and the
 * hires that decided their jobs. Pure: the service feeds it from the database.
 */
export function auditPredictions(
  predictions: readonly LoggedPrediction[],
  attributesOf: ReadonlyMap<string, ReadonlyMap<string, string>>,
  hires: { decidedJobs: ReadonlySet<string>; hired: ReadonlySet<string> },
  opts: { k: number; threshold: number; truncated?: boolean },
): AuditReport {
  const names = [...new Set([...attributesOf.values()].flatMap((m) => [...m.keys()]))].sort();
  const groupOf = (id: string, attr: string) => attributesOf.get(id)?.get(attr) ?? UNKNOWN_GROUP;
  const ranked = predictions.map((p) => p.candidates.filter((c) => c.rank !== null).sort((a, b) => a.rank! - b.rank!)).filter((r) => r.length > 0);

  // Classification rows: every candidate of a decided job.
  const ids: string[] = [], yTrue: number[] = [], selected: number[] = [], scores: number[] = [];
  for (const p of predictions) {
    if (p.contextId === null || !hires.decidedJobs.has(p.contextId)) continue;
    for (const c of p.candidates) {
      ids.push(c.id);
      yTrue.push(hires.hired.has(hireKey(p.contextId, c.id)) ? 1 : 0);
      selected.push(c.rank !== null ? (c.rank <= opts.k ? 1 : 0) : (c.score >= opts.threshold ? 1 : 0));
      scores.push(c.score);
    }
  }
  const probabilities = scores.every((s) => s >= 0 && s <= 1);

  const attributes: Record<string, AttributeAudit> = {};
  let candidates = 0;
  for (const p of predictions) candidates += p.candidates.length;
  for (const attr of names) {
    let known = 0;
    for (const p of predictions) for (const c of p.candidates) if (attributesOf.get(c.id)?.has(attr)) known++;
    const rankings: Ranking[] = ranked.map((r) => r.map((c) => ({ id: c.id, group: groupOf(c.id, attr) })));
    attributes[attr] = {
      known, unknown: candidates - known,
      ranking: rankings.length ? rankingFairness(rankings, { k: opts.k }) : null,
      classification: ids.length ? groupFairness(yTrue, selected, ids.map((id) => groupOf(id, attr)), probabilities ? { scores } : {}) : null,
    };
  }
  return {
    predictions: predictions.length, rankings: ranked.length, candidates, labelled: ids.length,
    k: opts.k, threshold: opts.threshold, truncated: opts.truncated ?? false, attributes,
  };
}

export function hireKey(jobId: string, providerId: string): string {
  return `${jobId}\u0000${providerId}`;
}

export function createAuditService(deps: AuditDeps) {
  const now = deps.now ?? Date.now;
  const defaultK = deps.k ?? 10;
  const defaultThreshold = deps.threshold ?? 0.5;
  const maxPredictions = deps.maxPredictions ?? 200_000;
  const actorId = (a: Actor) => `${a.type}:${a.id}`;

  async function loadPredictions(cmd: AuditCommand): Promise<{ predictions: LoggedPrediction[]; truncated: boolean }> {
    const predictions: LoggedPrediction[] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const limit = Math.min(PAGE, maxPredictions + 1 - predictions.length);
      const rows = await readPredictions(deps.db, { model: cmd.model, version: cmd.version, from: cmd.from, to: cmd.to, roles: AUDITED_ROLES, limit, ...(after ? { after } : {}) });
      for (const r of rows) predictions.push({ contextId: r.context_id, candidates: parseCandidates(r.candidates) });
      if (rows.length < limit) break;
      const last = rows[rows.length - 1]!;
      after = { createdAt: last.created_at, id: last.id };
      if (predictions.length > maxPredictions) break;
    }
    const truncated = predictions.length > maxPredictions;
    return { predictions: truncated ? predictions.slice(0, maxPredictions) : predictions, truncated };
  }

  async function loadAttributes(ids: readonly string[]): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    const chunk = 500, limit = 5000;
    for (let i = 0; i < ids.length; i += chunk) {
      const subjectIds = ids.slice(i, i + chunk);
      let after: { subjectId: string; attribute: string } | undefined;
      for (;;) {
        const rows = await readSensitiveAttributes(deps.db, { subjectIds, limit, ...(after ? { after } : {}) });
        for (const r of rows) {
          let m = out.get(r.subjectId);
          if (!m) out.set(r.subjectId, m = new Map());
          m.set(r.attribute, r.value);
        }
        if (rows.length < limit) break;
        after = { subjectId: rows[rows.length - 1]!.subjectId, attribute: rows[rows.length - 1]!.attribute };
      }
    }
    return out;
  }

  async function loadHires(predictions: readonly LoggedPrediction[]) {
    const jobs = [...new Set(predictions.map((p) => p.contextId).filter((c): c is string => c !== null))];
    const rows = await hiresForJobs(deps.db, jobs);
    return { decidedJobs: new Set(rows.map((r) => r.jobId)), hired: new Set(rows.map((r) => hireKey(r.jobId, r.providerId))) };
  }

  async function run(cmd: AuditCommand, trigger: ModelAudit['trigger'], actor: Actor): Promise<ModelAudit> {
    const problems = [];
    if (!Number.isFinite(cmd.from) || !Number.isFinite(cmd.to) || cmd.from >= cmd.to) problems.push({ path: 'from', message: 'must be before to' });
    const k = cmd.k ?? defaultK, threshold = cmd.threshold ?? defaultThreshold;
    if (!Number.isInteger(k) || k < 1) problems.push({ path: 'k', message: 'must be a whole number ≥ 1' });
    if (!Number.isFinite(threshold)) problems.push({ path: 'threshold', message: 'must be a number' });
    if (problems.length) throw new ValidationError('invalid audit window', problems);
    if (!await versionKnown(deps.db, cmd.model, cmd.version)) {
      throw new NotFoundError(`model ${cmd.model} has no version ${cmd.version}`, { model: cmd.model, version: cmd.version });
    }
    const { predictions, truncated } = await loadPredictions(cmd);
    const ids = [...new Set(predictions.flatMap((p) => p.candidates.map((c) => c.id)))].sort();
    const [attributes, hires] = [await loadAttributes(ids), await loadHires(predictions)];
    const report = auditPredictions(predictions, attributes, hires, { k, threshold, truncated });
    const row: Omit<AuditRow, 'id'> = {
      model: cmd.model, version: cmd.version, window_from: cmd.from, window_to: cmd.to, predictions: predictions.length,
      report: JSON.stringify(report), trigger, created_by: actorId(actor), created_at: now(),
    };
    const id = await insertAudit(deps.db, row);
    return toAudit({ ...row, id });
  }

  return {
    /** Audits one version's serve and canary predictions in [from, to), stores the report and returns it. */
    async auditVersion(cmd: AuditCommand, actor: Actor): Promise<ModelAudit> {
      return run(cmd, 'manual', actor);
    },

    /** Stored audits of a version, newest first. */
    async listAudits(model: string, version: number, opts: { limit?: number } = {}): Promise<ModelAudit[]> {
      return (await listAudits(deps.db, model, version, Math.min(opts.limit ?? 50, 1000))).map(toAudit);
    },

    /** Model versions with serve or canary predictions in [from, to). */
    async versionsWithPredictions(q: { from: number; to: number; model?: string }) {
      return versionsWithPredictions(deps.db, { ...q, roles: AUDITED_ROLES });
    },

    /**
     * The scheduled audit: every version with predictions in the day before `to` (default the
     * current hour, so a retried job finds the audits it already stored and skips them).
     */
    async auditRecent(opts: { to?: number; windowMs?: number } = {}): Promise<{ audited: number; skipped: number; audits: ModelAudit[] }> {
      const to = opts.to ?? Math.floor(now() / HOUR_MS) * HOUR_MS;
      const from = to - (opts.windowMs ?? DAY_MS);
      const audits: ModelAudit[] = [];
      let skipped = 0;
      for (const v of await versionsWithPredictions(deps.db, { from, to, roles: AUDITED_ROLES })) {
        if (await findAudit(deps.db, { model: v.model, version: v.version, from, to, trigger: 'schedule' })) { skipped++; continue; }
        audits.push(await run({ model: v.model, version: v.version, from, to }, 'schedule', { type: 'system', id: 'scoring.audit' }));
      }
      return { audited: audits.length, skipped, audits };
    },
  };
}

function toAudit(r: AuditRow): ModelAudit {
  return {
    id: Number(r.id), model: r.model, version: Number(r.version), from: Number(r.window_from), to: Number(r.window_to),
    predictions: Number(r.predictions), trigger: r.trigger === 'schedule' ? 'schedule' : 'manual', createdBy: r.created_by,
    createdAt: Number(r.created_at), report: JSON.parse(r.report) as AuditReport,
  };
}

export interface ScoringAuditPayload { to?: number; windowMs?: number }
declare module '../../../platform/queue/queue.types.js' {
  interface JobTypes { 'scoring.audit': ScoringAuditPayload }
}

/** `scoring.audit`: audits every model version with predictions in the last day (the lead schedules it, e.g. hourly or daily). */
export function scoringAuditJob(audits: AuditService): JobDefinition {
  const def: JobDefinition<'scoring.audit'> = {
    name: 'scoring.audit', attempts: 2,
    handler: async (p) => {
      const r = await audits.auditRecent({ ...(p.to !== undefined ? { to: p.to } : {}), ...(p.windowMs !== undefined ? { windowMs: p.windowMs } : {}) });
      return { audited: r.audited, skipped: r.skipped };
    },
  };
  return def as unknown as JobDefinition;
}
