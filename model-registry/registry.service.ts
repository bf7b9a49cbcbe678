// The model registry: registered models, numbered versions with lineage and a hash-verified
// artifact, aliases moved only by compare-and-set behind promotion gates, an append-only alias
// history with one-call rollback, comparisons, and webhooks. One transaction per use case; the
// audit entry commits with the change, webhooks are enqueued after it.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Actor, AuditLog } from '../platform/audit/audit-log.js';
import type { Db, Tx } from '../platform/db/database.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../platform/errors/app-error.js';
import { currentCorrelationId } from '../platform/logging/correlation.js';
import type { Logger } from '../platform/logging/logger.js';
import type { JobQueue } from '../platform/queue/queue.types.js';
import { DEFAULT_GATE_THRESHOLDS, evaluateGates, type GateThresholds, type GateVerdict, type ServedFeatureSet } from './gates.js';
import { ArtifactIntegrityError, GateFailedError } from './registry.errors.js';
import * as repo from './registry.repository.js';
import { AliasName, ModelName, VersionSpec } from './registry.schemas.js';
import { createWebhooks, type RegistryEventType, type WebhookSettings, type Webhooks } from './webhooks/webhook-delivery.job.js';

export type VersionStatus = 'registering' | 'ready' | 'failed';
export type FairnessByAttributeValue = {
  demographicParityDifference: number; disparateImpactRatio: number | null; equalOpportunityDifference: number; equalizedOddsDifference: number;
  groups?: Record<string, { count: number; positives?: number; selectionRate: number | null; truePositiveRate: number | null; falsePositiveRate: number | null }>;
};
export type Calibration = { ece: number; bins: { lower: number; upper: number; count: number; meanPredicted: number | null; fractionPositive: number | null }[] };

export interface RegisteredModel {
  name: string; description: string; tags: Record<string, string>;
  latestVersion: number | null; aliases: Record<string, number>;
  createdBy: string; createdAt: number; updatedAt: number;
}

export interface ModelVersion {
  model: string; version: number; status: VersionStatus; statusReason: string | null;
  algorithm: string; hyperparameters: Record<string, unknown>;
  featureSets: { name: string; version: number; schemaHash: string }[];
  dataset: { id: string; contentHash: string } | null;
  codeVersion: string;
  metrics: Record<string, number>;
  calibration: Calibration | null;
  fairness: Record<string, FairnessByAttributeValue> | null;
  importance: Record<string, number> | null;
  artifact: { sha256: string; bytes: number; format: string } | null;
  description: string; aliases: string[];
  createdBy: string; createdAt: number; updatedAt: number;
}

export interface AliasMove {
  id: number; model: string; alias: string; kind: 'move' | 'rollback';
  fromVersion: number | null; toVersion: number; reason: string;
  gates: GateVerdict | null; forced: boolean;
  actor: { type: string; id: string }; requestId: string | null; at: number;
}

export interface AliasPointer { alias: string; version: number; updatedBy: string; updatedAt: number }

export interface ArtifactInput { bytes: Buffer | Uint8Array; sha256: string; format: string }
export interface LoadedArtifact { bytes: Buffer; sha256: string; format: string }

export interface PromoteCommand {
  model: string; alias: string; version: number;
  /** Compare-and-set: the version the alias must point at now (null: unset). Default: whatever it points at when read. */
  expectedVersion?: number | null;
  reason?: string;
  force?: boolean;
}
export interface RollbackCommand { model: string; alias: string; reason: string; expectedVersion?: number }

export interface Delta { a: number | null; b: number | null; delta: number | null }
export interface Comparison {
  model: string; a: ModelVersion; b: ModelVersion;
  metrics: ({ name: string } & Delta)[];
  fairness: ({ attribute: string; measure: string } & Delta)[];
  importance: ({ feature: string; rankA: number | null; rankB: number | null } & Delta)[];
  calibration: { ece: Delta; binsA: Calibration['bins']; binsB: Calibration['bins'] };
}

export interface RegistryDeps {
  db: Db;
  audit: AuditLog;
  queue: JobQueue;
  webhooks?: WebhookSettings;
  /** Config `registry.gate.*`; defaults: AUC margin 0.005, disparate impact ≥ 0.8, equal opportunity ≤ 0.1. */
  gates?: Partial<GateThresholds>;
  /** Aliases behind the full gates (default champion); any other alias only needs a ready version. */
  gatedAliases?: readonly string[];
  /** What the online store serves (default: the feature set catalog). */
  servedFeatureSets?: readonly ServedFeatureSet[] | (() => Promise<readonly ServedFeatureSet[]>);
  /** Largest artifact accepted (default 16 MiB − 1, a MEDIUMBLOB). */
  maxArtifactBytes?: number;
  /** Recorded when a version does not say (default: git commit, else package version). */
  codeVersion?: () => string;
  log?: Logger;
}

export type RegistryService = ReturnType<typeof createRegistryService>;

const MEDIUMBLOB_MAX = 16 * 1024 * 1024 - 1;
const FAIRNESS_MEASURES = ['demographicParityDifference', 'disparateImpactRatio', 'equalOpportunityDifference', 'equalizedOddsDifference'] as const;

export function createRegistryService(deps: RegistryDeps) {
  const thresholds: GateThresholds = { ...DEFAULT_GATE_THRESHOLDS, ...deps.gates };
  const gatedAliases = new Set(deps.gatedAliases ?? ['champion']);
  const maxArtifactBytes = deps.maxArtifactBytes ?? MEDIUMBLOB_MAX;
  const webhookSettings: WebhookSettings = deps.webhooks ?? { urls: [], secret: null };
  if (webhookSettings.urls.length > 0 && !webhookSettings.secret) {
    throw new ValidationError('registry webhooks need a signing secret', [{ path: 'registry.webhooks.secret', message: 'required when registry.webhooks.urls is set' }]);
  }
  const webhooks: Webhooks = createWebhooks({ queue: deps.queue, settings: webhookSettings });
  const codeVersion = deps.codeVersion ?? detectCodeVersion;
  const actorId = (a: Actor) => `${a.type}:${a.id}`;

  async function served(): Promise<readonly ServedFeatureSet[]> {
    if (typeof deps.servedFeatureSets === 'function') return deps.servedFeatureSets();
    return deps.servedFeatureSets ?? catalogFeatureSets();
  }

  /** After commit: a webhook that cannot be queued must not turn a committed change into an error. */
  async function publish(type: RegistryEventType, data: Record<string, unknown>): Promise<void> {
    try {
      await webhooks.publish(type, data);
    } catch (err) {
      deps.log?.warn({ err, event: type }, 'registry webhook not queued');
    }
  }

  async function requireModel(db: Db | Tx, name: string): Promise<repo.ModelRow> {
    checkName(name);
    const row = await repo.getModel(db, name);
    if (!row) throw new NotFoundError(`no registered model "${name}"`, { model: name });
    return row;
  }

  async function requireVersion(db: Db | Tx, model: string, version: number): Promise<ModelVersion> {
    await requireModel(db, model);
    const row = await repo.getVersion(db, model, version);
    if (!row) throw new NotFoundError(`${model} has no version ${version}`, { model, version });
    const aliases = (await repo.listAliases(db, model)).filter((a) => a.version === version).map((a) => a.alias);
    return toVersion(row, aliases);
  }

  async function toModel(db: Db | Tx, row: repo.ModelRow): Promise<RegisteredModel> {
    const aliases = await repo.listAliases(db, row.name);
    return {
      name: row.name, description: row.description, tags: JSON.parse(row.tags) as Record<string, string>,
      latestVersion: Number(row.last_version) > 0 ? Number(row.last_version) : null,
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, Number(a.version)])),
      createdBy: row.created_by, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
    };
  }

  async function createModel(cmd: { name: string; description?: string; tags?: Record<string, string> }, actor: Actor, opts: { ifMissing?: boolean } = {}): Promise<RegisteredModel> {
    checkName(cmd.name);
    const tags = cmd.tags ?? {};
    for (const [k, v] of Object.entries(tags)) {
      if (typeof v !== 'string' || k.length > 100 || v.length > 500) throw new ValidationError(`tag "${k.slice(0, 100)}" is invalid`, [{ path: `/tags/${k.slice(0, 100)}`, message: 'a string of at most 500 characters, key at most 100' }]);
    }
    const now = Date.now();
    const row: repo.ModelRow = { name: cmd.name, description: cmd.description ?? '', tags: JSON.stringify(tags), last_version: 0, created_by: actorId(actor), created_at: now, updated_at: now };
    return deps.db.transaction().execute(async (tx) => {
      if (!(await repo.insertModel(tx, row))) {
        if (opts.ifMissing) return toModel(tx, (await repo.getModel(tx, cmd.name))!);
        throw new ConflictError(`a model named "${cmd.name}" exists already`, { model: cmd.name });
      }
      await deps.audit.record(tx, actor, 'model.created', { type: 'registered_model', id: cmd.name }, { description: row.description, tags });
      return toModel(tx, row);
    });
  }

  async function beginVersion(model: string, spec: VersionSpec, actor: Actor): Promise<ModelVersion> {
    validateSpec(spec);
    const now = Date.now();
    return deps.db.transaction().execute(async (tx) => {
      await requireModel(tx, model);
      const version = await repo.nextVersionNumber(tx, model, now);
      const row = {
        model, version, status: 'registering', status_reason: null,
        algorithm: spec.algorithm, hyperparameters: JSON.stringify(spec.hyperparameters),
        feature_sets: JSON.stringify(spec.featureSets.map((f) => ({ name: f.name, version: f.version, schemaHash: f.schemaHash }))),
        dataset_id: spec.dataset?.id ?? null, dataset_hash: spec.dataset?.contentHash ?? null,
        code_version: spec.codeVersion ?? codeVersion(),
        metrics: JSON.stringify(spec.metrics), calibration: json(spec.calibration), fairness: json(spec.fairness), importance: json(spec.importance),
        artifact: null, artifact_sha256: null, artifact_bytes: null, artifact_format: null,
        description: spec.description ?? '', created_by: actorId(actor), created_at: now, updated_at: now,
      };
      await repo.insertVersion(tx, row);
      await deps.audit.record(tx, actor, 'model.version_registering', { type: 'model_version', id: `${model}/${version}` }, {
        algorithm: spec.algorithm, featureSets: spec.featureSets, dataset: spec.dataset, codeVersion: row.code_version,
      });
      const { artifact: _a, ...rest } = row;
      return toVersion(rest, []);
    });
  }

  /**
   * Stores the artifact and marks the version ready; a sha256 that does not match the bytes marks
   * it failed with the reason instead (the version number stays used, like any failed version).
   */
  async function completeVersion(model: string, version: number, artifact: ArtifactInput, actor: Actor): Promise<ModelVersion> {
    const bytes = checkArtifactShape(artifact, maxArtifactBytes);
    const actual = sha256(bytes);
    const now = Date.now();
    const ok = actual === artifact.sha256;
    await deps.db.transaction().execute(async (tx) => {
      const v = await requireVersion(tx, model, version);
      if (v.status !== 'registering') throw new ConflictError(`${model} v${version} is ${v.status} already`, { model, version, status: v.status });
      const set = ok
        ? { status: 'ready', status_reason: null, artifact: bytes, artifact_sha256: actual, artifact_bytes: bytes.length, artifact_format: artifact.format, updated_at: now }
        : { status: 'failed', status_reason: `artifact sha256 mismatch: declared ${artifact.sha256}, bytes hash to ${actual}`, updated_at: now };
      if (!(await repo.finishVersion(tx, model, version, set))) throw new ConflictError(`${model} v${version} was finished concurrently`, { model, version });
      await deps.audit.record(tx, actor, ok ? 'model.version_ready' : 'model.version_failed', { type: 'model_version', id: `${model}/${version}` },
        ok ? { sha256: actual, bytes: bytes.length, format: artifact.format } : { reason: set.status_reason });
    });
    const done = await requireVersion(deps.db, model, version);
    await publish('version.created', { model, version, status: done.status, statusReason: done.statusReason, algorithm: done.algorithm, metrics: done.metrics, artifact: done.artifact });
    return done;
  }

  async function failVersion(model: string, version: number, reason: string, actor: Actor): Promise<ModelVersion> {
    if (!reason.trim()) throw new ValidationError('a failed version needs a reason', [{ path: '/reason', message: 'must not be empty' }]);
    await deps.db.transaction().execute(async (tx) => {
      const v = await requireVersion(tx, model, version);
      if (!(await repo.finishVersion(tx, model, version, { status: 'failed', status_reason: reason.slice(0, 2000), updated_at: Date.now() }))) {
        throw new ConflictError(`${model} v${version} is ${v.status} already`, { model, version, status: v.status });
      }
      await deps.audit.record(tx, actor, 'model.version_failed', { type: 'model_version', id: `${model}/${version}` }, { reason });
    });
    const done = await requireVersion(deps.db, model, version);
    await publish('version.created', { model, version, status: done.status, statusReason: done.statusReason, algorithm: done.algorithm });
    return done;
  }

  async function gateVerdict(db: Db | Tx, v: ModelVersion, alias: string, currentVersion: number | null): Promise<GateVerdict> {
    const current = currentVersion === null ? null : await requireVersion(db, v.model, currentVersion);
    return evaluateGates({ version: v, current, served: await served(), thresholds, gated: gatedAliases.has(alias) });
  }

  /**
   * An alias move's transaction. Two SQLite handles on one file (the server and a CLI, or a
   * scoring process writing its prediction log) cannot both upgrade a read to a write: the loser
   * gets SQLITE_BUSY*, whoever the other writer was. So the move is run again on a fresh snapshot —
   * a real concurrent move of the alias is then caught by the compare-and-set itself (409) — and
   * only a lock that stays contended becomes "moved concurrently".
   */
  async function casTransaction<T>(cmd: { model: string; alias: string }, fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await deps.db.transaction().execute(fn);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (!(typeof code === 'string' && code.startsWith('SQLITE_BUSY'))) throw err;
        if (attempt >= 10) throw new ConflictError(`${cmd.model}/${cmd.alias} was moved concurrently; read it again and retry`, { model: cmd.model, alias: cmd.alias });
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 25 * attempt));
      }
    }
  }

  function toMove(r: repo.HistoryRow): AliasMove {
    return {
      id: r.id, model: r.model, alias: r.alias, kind: r.kind as AliasMove['kind'],
      fromVersion: r.from_version === null ? null : Number(r.from_version), toVersion: Number(r.to_version), reason: r.reason,
      gates: r.gates ? JSON.parse(r.gates) as GateVerdict : null, forced: Number(r.forced) === 1,
      actor: { type: r.actor_type, id: r.actor_id }, requestId: r.request_id, at: Number(r.at),
    };
  }

  async function record(tx: Tx, actor: Actor, h: Omit<repo.HistoryRow, 'id' | 'actor_type' | 'actor_id' | 'request_id' | 'at'>): Promise<AliasMove> {
    const row = { ...h, actor_type: actor.type, actor_id: actor.id, request_id: currentCorrelationId() ?? null, at: Date.now() };
    const move = toMove({ ...row, id: await repo.appendHistory(tx, row) });
    await deps.audit.record(tx, actor, h.kind === 'rollback' ? 'model.alias_rolled_back' : 'model.alias_moved', { type: 'model_alias', id: `${h.model}/${h.alias}` }, move);
    return move;
  }

  return {
    createModel,
    /** Creates the model unless it exists (what training does before registering). */
    ensureModel: (name: string, actor: Actor, description?: string) => createModel({ name, ...(description ? { description } : {}) }, actor, { ifMissing: true }),

    async getModel(name: string): Promise<RegisteredModel> {
      return toModel(deps.db, await requireModel(deps.db, name));
    },

    async listModels(q: { limit?: number; after?: string } = {}): Promise<RegisteredModel[]> {
      const rows = await repo.listModels(deps.db, { limit: Math.min(q.limit ?? 100, 1000), ...(q.after !== undefined ? { after: q.after } : {}) });
      return Promise.all(rows.map((r) => toModel(deps.db, r)));
    },

    beginVersion,
    completeVersion,
    failVersion,

    /** beginVersion + completeVersion: a version from a finished training run. */
    async registerVersion(model: string, spec: VersionSpec, artifact: ArtifactInput, actor: Actor): Promise<ModelVersion> {
      checkArtifactShape(artifact, maxArtifactBytes);
      const v = await beginVersion(model, spec, actor);
      return completeVersion(model, v.version, artifact, actor);
    },

    getVersion: (model: string, version: number) => requireVersion(deps.db, model, version),

    async listVersions(model: string, q: { limit?: number; before?: number; status?: VersionStatus } = {}): Promise<ModelVersion[]> {
      await requireModel(deps.db, model);
      const [rows, aliases] = await Promise.all([
        repo.listVersions(deps.db, { model, limit: Math.min(q.limit ?? 100, 1000), ...(q.before !== undefined ? { before: q.before } : {}), ...(q.status ? { status: q.status } : {}) }),
        repo.listAliases(deps.db, model),
      ]);
      return rows.map((r) => toVersion(r, aliases.filter((a) => Number(a.version) === Number(r.version)).map((a) => a.alias)));
    },

    /** The artifact bytes, verified against the sha256 recorded at registration. */
    async loadArtifact(model: string, version: number): Promise<LoadedArtifact> {
      const v = await requireVersion(deps.db, model, version);
      if (v.status !== 'ready') throw new ConflictError(`${model} v${version} is ${v.status}; only ready versions have an artifact`, { model, version, status: v.status });
      const a = await repo.getArtifact(deps.db, model, version);
      if (!a?.artifact || !a.sha256 || !a.format) throw new ArtifactIntegrityError(a?.sha256 ?? 'a stored artifact', 'nothing stored', { model, version });
      const actual = sha256(a.artifact);
      if (actual !== a.sha256) throw new ArtifactIntegrityError(a.sha256, actual, { model, version });
      return { bytes: a.artifact, sha256: actual, format: a.format };
    },

    /** The version an alias points at (what serving loads). */
    async resolveAlias(model: string, alias: string): Promise<ModelVersion> {
      await requireModel(deps.db, model);
      const a = await repo.getAlias(deps.db, model, alias);
      if (!a) throw new NotFoundError(`${model} has no alias "${alias}"`, { model, alias });
      return requireVersion(deps.db, model, Number(a.version));
    },

    async listAliases(model: string): Promise<AliasPointer[]> {
      await requireModel(deps.db, model);
      return (await repo.listAliases(deps.db, model)).map((a) => ({ alias: a.alias, version: Number(a.version), updatedBy: a.updated_by, updatedAt: Number(a.updated_at) }));
    },

    /** The gates a promotion would run, without moving anything. */
    async checkGates(model: string, version: number, alias = 'champion'): Promise<GateVerdict> {
      checkAlias(alias);
      const v = await requireVersion(deps.db, model, version);
      const cur = await repo.getAlias(deps.db, model, alias);
      return gateVerdict(deps.db, v, alias, cur ? Number(cur.version) : null);
    },

    /**
     * Points `alias` at a version, behind the gates, as a compare-and-set on the version it
     * points at now: of two concurrent moves exactly one wins, the other gets a ConflictError.
     * `canForce` (scope admin, or the CLI) lets `force` with a reason override failed gates,
     * except the status check: a version that is not ready has nothing to serve.
     */
    async promote(cmd: PromoteCommand, actor: Actor, opts: { canForce?: boolean } = {}): Promise<AliasMove> {
      checkAlias(cmd.alias);
      const reason = (cmd.reason ?? '').trim();
      if (cmd.force) {
        if (!opts.canForce) throw new ForbiddenError('forcing a promotion past its gates needs the admin scope', { required: 'admin' });
        if (!reason) throw new ValidationError('a forced promotion needs a reason', [{ path: '/reason', message: 'required with force' }]);
      }
      const outcome = await casTransaction(cmd, async (tx): Promise<{ moved: AliasMove } | { failed: GateVerdict }> => {
        const v = await requireVersion(tx, cmd.model, cmd.version);
        const cur = await repo.getAlias(tx, cmd.model, cmd.alias);
        const current = cur ? Number(cur.version) : null;
        const expected = cmd.expectedVersion === undefined ? current : cmd.expectedVersion;
        if (expected !== current) {
          throw new ConflictError(`${cmd.model}/${cmd.alias} points at ${current === null ? 'nothing' : `v${current}`}, not ${expected === null ? 'nothing' : `v${expected}`}`, { model: cmd.model, alias: cmd.alias, expectedVersion: expected, currentVersion: current });
        }
        if (current === cmd.version) throw new ConflictError(`${cmd.model}/${cmd.alias} already points at v${cmd.version}`, { model: cmd.model, alias: cmd.alias, currentVersion: current });
        const verdict = await gateVerdict(tx, v, cmd.alias, current);
        const statusOk = verdict.checks.find((c) => c.name === 'status')?.passed === true;
        if (!verdict.passed && (!cmd.force || !statusOk)) return { failed: verdict };
        if (!(await repo.moveAlias(tx, cmd.model, cmd.alias, expected, cmd.version, actorId(actor), Date.now()))) {
          throw new ConflictError(`${cmd.model}/${cmd.alias} was moved concurrently; read it again and retry`, { model: cmd.model, alias: cmd.alias, expectedVersion: expected });
        }
        return { moved: await record(tx, actor, {
          model: cmd.model, alias: cmd.alias, kind: 'move', from_version: current, to_version: cmd.version, reason,
          gates: JSON.stringify(verdict), forced: verdict.passed ? 0 : 1,
        }) };
      });
      if ('failed' in outcome) {
        await publish('gate.failed', { model: cmd.model, alias: cmd.alias, version: cmd.version, checks: outcome.failed.checks.filter((c) => !c.passed), actor: { type: actor.type, id: actor.id } });
        throw new GateFailedError(outcome.failed, cmd.model, cmd.alias, cmd.version);
      }
      await publish('alias.moved', { ...outcome.moved });
      return outcome.moved;
    },

    /**
     * Moves the alias back to where it pointed before the move now in effect, in one call.
     * Rollbacks undo moves like a stack, so two rollbacks after three promotions go back two steps.
     */
    async rollback(cmd: RollbackCommand, actor: Actor): Promise<AliasMove> {
      checkAlias(cmd.alias);
      const reason = cmd.reason.trim();
      if (!reason) throw new ValidationError('a rollback needs a reason', [{ path: '/reason', message: 'must not be empty' }]);
      const move = await casTransaction(cmd, async (tx) => {
        await requireModel(tx, cmd.model);
        const cur = await repo.getAlias(tx, cmd.model, cmd.alias);
        if (!cur) throw new NotFoundError(`${cmd.model} has no alias "${cmd.alias}"`, { model: cmd.model, alias: cmd.alias });
        const current = Number(cur.version);
        if (cmd.expectedVersion !== undefined && cmd.expectedVersion !== current) {
          throw new ConflictError(`${cmd.model}/${cmd.alias} points at v${current}, not v${cmd.expectedVersion}`, { model: cmd.model, alias: cmd.alias, currentVersion: current });
        }
        const inEffect: repo.HistoryRow[] = [];
        for (const h of await repo.aliasHistory(tx, cmd.model, cmd.alias)) {
          if (h.kind === 'rollback') inEffect.pop();
          else inEffect.push(h);
        }
        const top = inEffect.at(-1);
        const target = top && Number(top.to_version) === current ? top.from_version : null;
        if (target === null || target === undefined) {
          throw new ConflictError(`${cmd.model}/${cmd.alias} has no earlier version to roll back to`, { model: cmd.model, alias: cmd.alias, currentVersion: current });
        }
        const to = await requireVersion(tx, cmd.model, Number(target));
        if (to.status !== 'ready') throw new ConflictError(`${cmd.model} v${to.version} is ${to.status}`, { model: cmd.model, version: to.version });
        if (!(await repo.moveAlias(tx, cmd.model, cmd.alias, current, to.version, actorId(actor), Date.now()))) {
          throw new ConflictError(`${cmd.model}/${cmd.alias} was moved concurrently; read it again and retry`, { model: cmd.model, alias: cmd.alias });
        }
        return record(tx, actor, { model: cmd.model, alias: cmd.alias, kind: 'rollback', from_version: current, to_version: to.version, reason, gates: null, forced: 0 });
      });
      await publish('alias.rolled_back', { ...move });
      return move;
    },

    /** Newest first; every alias of the model unless one is named. */
    async history(q: { model: string; alias?: string; limit?: number; beforeId?: number }): Promise<AliasMove[]> {
      await requireModel(deps.db, q.model);
      if (q.alias !== undefined) checkAlias(q.alias);
      const rows = await repo.listHistory(deps.db, { model: q.model, limit: Math.min(q.limit ?? 100, 1000), ...(q.alias !== undefined ? { alias: q.alias } : {}), ...(q.beforeId !== undefined ? { beforeId: q.beforeId } : {}) });
      return rows.map(toMove);
    },

    async compare(model: string, a: number, b: number): Promise<Comparison> {
      const [va, vb] = [await requireVersion(deps.db, model, a), await requireVersion(deps.db, model, b)];
      return compareVersions(va, vb);
    },
  };
}

/** Side by side; every delta is b − a, null where either side lacks the value. */
export function compareVersions(a: ModelVersion, b: ModelVersion): Comparison {
  const delta = (x: number | null | undefined, y: number | null | undefined): Delta => {
    const xa = x ?? null;
    const yb = y ?? null;
    return { a: xa, b: yb, delta: xa === null || yb === null ? null : Math.round((yb - xa) * 1e12) / 1e12 };
  };
  const union = (x: object | null, y: object | null) => [...new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})])].sort();
  const ranks = (imp: Record<string, number> | null) => new Map(Object.entries(imp ?? {}).sort((p, q) => Math.abs(q[1]) - Math.abs(p[1]) || p[0].localeCompare(q[0])).map(([f], i) => [f, i + 1]));
  const [ra, rb] = [ranks(a.importance), ranks(b.importance)];
  return {
    model: a.model, a, b,
    metrics: union(a.metrics, b.metrics).map((name) => ({ name, ...delta(a.metrics[name], b.metrics[name]) })),
    fairness: union(a.fairness, b.fairness).flatMap((attribute) => FAIRNESS_MEASURES.map((measure) => ({
      attribute, measure, ...delta(a.fairness?.[attribute]?.[measure], b.fairness?.[attribute]?.[measure]),
    }))),
    importance: union(a.importance, b.importance)
      .map((feature) => ({ feature, rankA: ra.get(feature) ?? null, rankB: rb.get(feature) ?? null, ...delta(a.importance?.[feature], b.importance?.[feature]) }))
      .sort((p, q) => Math.min(p.rankA ?? Infinity, p.rankB ?? Infinity) - Math.min(q.rankA ?? Infinity, q.rankB ?? Infinity) || p.feature.localeCompare(q.feature)),
    calibration: { ece: delta(a.calibration?.ece, b.calibration?.ece), binsA: a.calibration?.bins ?? [], binsB: b.calibration?.bins ?? [] },
  };
}

/** Every feature set of the catalog with its schema hash: what the online store serves. */
export async function catalogFeatureSets(): Promise<ServedFeatureSet[]> {
  const [{ FEATURE_SETS }, { schemaHash }] = await Promise.all([import('../pipelines/features/definitions/catalog.js'), import('../pipelines/features/feature-set.js')]);
  return FEATURE_SETS.map((s) => ({ name: s.name, version: s.version, schemaHash: schemaHash(s) }));
}

let detected: string | undefined;
/** `git:<commit>` when run from a checkout, else `<package>@<version>`. */
export function detectCodeVersion(): string {
  if (detected) return detected;
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2_000 }).toString().trim();
    if (/^[0-9a-f]{40}$/.test(commit)) return (detected = `git:${commit}`);
  } catch { /* not a checkout, or no git: fall back to the package version */ }
  try {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { name?: string; version?: string };
    return (detected = `${pkg.name ?? 'gigintel'}@${pkg.version ?? 'unknown'}`);
  } catch {
    return (detected = 'unknown');
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

function problemsOf(schema: TSchema, value: unknown, prefix = ''): FieldProblem[] {
  // Keep the deepest error of each branch: a union's "must be null" / "anyOf" add nothing.
  const errors = Value.Errors(schema, value).filter((e, _i, all) => !all.some((o) => o.instancePath.startsWith(`${e.instancePath}/`)) && e.keyword !== 'anyOf');
  return errors.slice(0, 20).map((e) => ({
    path: `${prefix}${e.instancePath || '/'}${e.keyword === 'additionalProperties' ? `/${String((e.params as { additionalProperties?: string[] }).additionalProperties?.[0] ?? '')}` : ''}`,
    message: e.message,
  }));
}

function checkName(name: string): void {
  if (!Value.Check(ModelName, name)) throw new ValidationError(`invalid model name "${String(name).slice(0, 120)}"`, [{ path: '/model', message: 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 100 characters' }]);
}

function checkAlias(alias: string): void {
  if (!Value.Check(AliasName, alias)) throw new ValidationError(`invalid alias "${String(alias).slice(0, 80)}"`, [{ path: '/alias', message: 'lowercase letters, digits, "_" and "-", starting with a letter, at most 64 characters' }]);
}

function validateSpec(spec: VersionSpec): void {
  if (!Value.Check(VersionSpec, spec)) {
    const problems = problemsOf(VersionSpec, spec);
    throw new ValidationError(`invalid model version: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  }
  if (JSON.stringify(spec.hyperparameters).length > 64_000) throw new ValidationError('hyperparameters are too large', [{ path: '/hyperparameters', message: 'at most 64 000 characters of JSON' }]);
}

function checkArtifactShape(a: ArtifactInput, max: number): Buffer {
  const problems: FieldProblem[] = [];
  if (!(a.bytes instanceof Uint8Array) || a.bytes.length === 0) problems.push({ path: '/artifact/bytes', message: 'must be non-empty bytes' });
  else if (a.bytes.length > max) problems.push({ path: '/artifact/bytes', message: `${a.bytes.length} bytes, at most ${max}` });
  if (typeof a.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(a.sha256)) problems.push({ path: '/artifact/sha256', message: 'must be a lowercase hex sha256' });
  if (typeof a.format !== 'string' || a.format.length === 0 || a.format.length > 100) problems.push({ path: '/artifact/format', message: 'must be 1-100 characters' });
  if (problems.length) throw new ValidationError(`invalid artifact: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
  return Buffer.isBuffer(a.bytes) ? a.bytes : Buffer.from(a.bytes);
}

function toVersion(r: repo.VersionRow, aliases: string[]): ModelVersion {
  const parse = <T>(s: string | null): T | null => (s === null ? null : JSON.parse(s) as T);
  return {
    model: r.model, version: Number(r.version), status: r.status as VersionStatus, statusReason: r.status_reason,
    algorithm: r.algorithm, hyperparameters: JSON.parse(r.hyperparameters) as Record<string, unknown>,
    featureSets: JSON.parse(r.feature_sets) as ModelVersion['featureSets'],
    dataset: r.dataset_id === null ? null : { id: r.dataset_id, contentHash: r.dataset_hash ?? '' },
    codeVersion: r.code_version, metrics: JSON.parse(r.metrics) as Record<string, number>,
    calibration: parse(r.calibration), fairness: parse(r.fairness), importance: parse(r.importance),
    artifact: r.artifact_sha256 === null ? null : { sha256: r.artifact_sha256, bytes: Number(r.artifact_bytes), format: r.artifact_format ?? '' },
    description: r.description, aliases: [...aliases].sort(),
    createdBy: r.created_by, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}
