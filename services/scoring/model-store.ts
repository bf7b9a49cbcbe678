// The models this process serves: each configured (model, alias) resolved to a version, its
// artifact fetched, hash-checked, validated and compiled into the kernel, then swapped in with one
// reference assignment — so a request sees either the old version or the new one, never a half-
// loaded model. Aliases are polled (scoring.pollMs), so a promotion or rollback is served within
// about that time by every scoring process, with no broker in between. A version that fails to
// load (bad hash, invalid shape) is refused and the last good one keeps serving.
import { Gauge, Counter, type Registry } from 'prom-client';
import { NotFoundError } from '../../platform/errors/app-error.js';
import type { Logger } from '../../platform/logging/logger.js';
import { loadArtifact } from '../../model-registry/artifact.js';
import { compileModel, type CompiledModel } from '../../model-registry/inference/compile-model.js';
import type { ServableModel } from '../../model-registry/inference/model-types.js';
import type { RegistryService } from '../../model-registry/registry.service.js';
import type { TableEncoding } from '../../model-registry/training/encode-table.js';
import { createExplainer, type Explainer } from './explain/explanation.js';

export interface ServedAlias { model: string; alias: string }

export interface LoadedModel {
  readonly model: string;
  readonly alias: string;
  readonly version: number;
  readonly sha256: string;
  readonly algorithm: string;
  readonly servable: ServableModel;
  /** How raw feature values become the model's inputs (null: inputs are the design columns themselves). */
  readonly encoding: TableEncoding | null;
  readonly compiled: CompiledModel;
  /** SHAP (logistic) or Integrated Gradients (MLP), compiled with the model. */
  readonly explainer: Explainer;
  /** The raw columns the model reads (`set__feature`), in encoding order. */
  readonly columns: readonly string[];
  readonly featureSets: readonly { name: string; version: number; schemaHash: string }[];
  readonly loadedAt: number;
}

export interface SlotStatus {
  model: string;
  alias: string;
  version: number | null;
  sha256: string | null;
  loadedAt: number | null;
  /** The last failure to resolve or load (cleared by a successful load of the alias's version). */
  lastError: { version: number | null; message: string; at: number } | null;
  checkedAt: number | null;
}

export interface ModelStore {
  /** Loads every alias once (never throws: failures are in status()) and starts polling. */
  start(): Promise<void>;
  /** The loaded version behind an alias, or null. */
  get(model: string, alias: string): LoadedModel | null;
  /** A loaded version by number, through any alias. */
  byVersion(model: string, version: number): LoadedModel | null;
  /** Every (model, alias) this store serves. */
  aliases(): readonly ServedAlias[];
  /** Checks every alias now (what the poll does). */
  refresh(): Promise<void>;
  /** Serves one more alias from now on (an experiment's variant); loads it in the background. Not required for readiness. */
  track(model: string, alias: string): void;
  /** True when every alias in `required` has a loaded version. */
  ready(): boolean;
  status(): SlotStatus[];
  close(): void;
}

export interface ModelStoreDeps {
  registry: Pick<RegistryService, 'resolveAlias' | 'loadArtifact'>;
  /** Every alias to load; `required` ones gate readiness (canary and shadow aliases are optional). */
  aliases: readonly ServedAlias[];
  required?: readonly ServedAlias[];
  pollMs: number;
  log?: Logger;
  metrics?: Registry | null;
}

interface Slot { spec: ServedAlias; loaded: LoadedModel | null; status: SlotStatus; failedVersion: { version: number; sha256: string | null; retryAt: number } | null }

const key = (model: string, alias: string) => `${model}\u0000${alias}`;

/** Compiles a stored model for serving; throws what validation or compilation finds. */
export function prepareModel(model: string, alias: string, version: { version: number; algorithm: string; featureSets: LoadedModel['featureSets'] }, bytes: Uint8Array, sha256: string): LoadedModel {
  const servable = loadArtifact(bytes, sha256);
  const encoding = (servable as { encoding?: TableEncoding }).encoding ?? null;
  return {
    model, alias, version: version.version, sha256, algorithm: version.algorithm, servable, encoding,
    compiled: compileModel(servable),
    explainer: createExplainer({ model: servable, ...(encoding ? { encoding } : {}) }),
    columns: encoding ? encoding.columns.map((c) => c.name) : servable.featureNames,
    featureSets: version.featureSets,
    loadedAt: Date.now(),
  };
}

export function createModelStore(deps: ModelStoreDeps): ModelStore {
  const slots = new Map<string, Slot>();
  for (const spec of deps.aliases) {
    if (slots.has(key(spec.model, spec.alias))) continue;
    slots.set(key(spec.model, spec.alias), {
      spec, loaded: null, failedVersion: null,
      status: { model: spec.model, alias: spec.alias, version: null, sha256: null, loadedAt: null, lastError: null, checkedAt: null },
    });
  }
  const required = (deps.required ?? deps.aliases).map((a) => key(a.model, a.alias));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  if (deps.metrics) new Gauge({
    name: 'gigintel_scoring_model_version', help: 'The version each served alias is serving (0: none loaded)',
    labelNames: ['model', 'alias'] as const, registers: [deps.metrics],
    collect() { for (const s of slots.values()) this.set({ model: s.spec.model, alias: s.spec.alias }, s.loaded?.version ?? 0); },
  });
  const loadFailures = deps.metrics ? new Counter({
    name: 'gigintel_scoring_model_load_failures_total', help: 'Versions refused at load (hash mismatch, invalid model, unreachable registry)',
    labelNames: ['model', 'alias'] as const, registers: [deps.metrics],
  }) : null;

  function fail(slot: Slot, version: number | null, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const prev = slot.status.lastError;
    slot.status.lastError = { version, message, at: Date.now() };
    if (version !== null) loadFailures?.inc({ model: slot.spec.model, alias: slot.spec.alias });
    if (prev && prev.message === message) return;
    const at = { model: slot.spec.model, alias: slot.spec.alias, version, serving: slot.loaded?.version ?? null, err: message };
    if (err instanceof NotFoundError && !slot.loaded) {
      // Not registered or no alias yet (the demo is still training): expected, not an error.
      deps.log?.info(at, `waiting for ${slot.spec.model}@${slot.spec.alias}: ${message}`);
    } else {
      deps.log?.error(at, slot.loaded ? `could not load ${slot.spec.model}@${slot.spec.alias} v${version}; still serving v${slot.loaded.version}` : `could not load ${slot.spec.model}@${slot.spec.alias}`);
    }
  }

  async function check(slot: Slot): Promise<void> {
    const { model, alias } = slot.spec;
    slot.status.checkedAt = Date.now();
    let target: Awaited<ReturnType<ModelStoreDeps['registry']['resolveAlias']>>;
    try {
      target = await deps.registry.resolveAlias(model, alias);
    } catch (err) {
      // No alias yet (the demo is still training) or the database is away: keep what serves.
      fail(slot, null, err);
      return;
    }
    if (slot.loaded && slot.loaded.version === target.version && slot.loaded.sha256 === target.artifact?.sha256) {
      slot.status.lastError = null;
      return;
    }
    const f = slot.failedVersion;
    if (f && f.version === target.version && f.sha256 === (target.artifact?.sha256 ?? null) && Date.now() < f.retryAt) return;
    try {
      const artifact = await deps.registry.loadArtifact(model, target.version);
      const next = prepareModel(model, alias, target, artifact.bytes, artifact.sha256);
      const from = slot.loaded?.version ?? null;
      slot.loaded = next; // the swap: one assignment, the old model stays valid for requests holding it
      slot.failedVersion = null;
      Object.assign(slot.status, { version: next.version, sha256: next.sha256, loadedAt: next.loadedAt, lastError: null });
      deps.log?.info({ model, alias, from, to: next.version, sha256: next.sha256 }, `serving ${model}@${alias} v${next.version}`);
    } catch (err) {
      // Retried after a while (it may be a transient database error), not on every poll.
      slot.failedVersion = { version: target.version, sha256: target.artifact?.sha256 ?? null, retryAt: Date.now() + 30 * deps.pollMs };
      fail(slot, target.version, err);
    }
  }

  async function refresh(): Promise<void> {
    // One check at a time: a slow registry must not pile up overlapping polls.
    if (running) return running;
    running = Promise.all([...slots.values()].map(check)).then(() => undefined).finally(() => { running = null; });
    return running;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => { refresh().finally(schedule); }, deps.pollMs);
    timer.unref();
  }

  return {
    async start() {
      await refresh();
      if (!timer && !closed) schedule();
    },
    get(model, alias) {
      return slots.get(key(model, alias))?.loaded ?? null;
    },
    byVersion(model, version) {
      for (const s of slots.values()) if (s.spec.model === model && s.loaded?.version === version) return s.loaded;
      return null;
    },
    aliases() {
      return [...slots.values()].map((s) => s.spec);
    },
    refresh,
    track(model, alias) {
      if (closed || slots.has(key(model, alias))) return;
      const slot: Slot = {
        spec: { model, alias }, loaded: null, failedVersion: null,
        status: { model, alias, version: null, sha256: null, loadedAt: null, lastError: null, checkedAt: null },
      };
      slots.set(key(model, alias), slot);
      void check(slot);
    },
    ready() {
      return required.every((k) => slots.get(k)?.loaded);
    },
    status() {
      return [...slots.values()].map((s) => ({ ...s.status, lastError: s.status.lastError && { ...s.status.lastError } }));
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
