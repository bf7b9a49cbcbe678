// Readiness: can this process serve traffic right now? Each dependency is checked with a short
// timeout so the probe itself never hangs on a dead server, and every failing one is named.
import type { Redis } from 'ioredis';
import { withTimeout, type DatabaseHandle } from '../../../platform/db/database.js';
import type { MigrationRunner } from '../../../platform/db/migrator.js';
import type { JobQueue } from '../../../platform/queue/queue.types.js';

export interface CheckResult { ok: boolean; ms: number; error?: string; [k: string]: unknown }
export interface Readiness { ready: boolean; failing: string[]; checks: Record<string, CheckResult> }

export interface ReadinessDeps {
  db: DatabaseHandle;
  redis: Redis | null;
  queue: JobQueue;
  migrations: MigrationRunner;
  maxQueueDepth: number;
  timeoutMs?: number;
  /** Further checks by name (the scoring service's loaded models); each resolves { ok, … }. */
  extra?: Readonly<Record<string, () => Record<string, unknown>>>;
}

async function timed(fn: () => Promise<Record<string, unknown> | void>): Promise<CheckResult> {
  const started = performance.now();
  try {
    const extra = (await fn()) ?? {};
    const ok = extra.ok !== false;
    return { ...extra, ok, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const t = deps.timeoutMs ?? 1_500;
  const checks: Record<string, CheckResult> = {};
  const [database, redis] = await Promise.all([
    timed(() => deps.db.ping(t)),
    deps.redis ? timed(async () => { await withTimeout(deps.redis!.ping(), t, 'redis'); }) : null,
  ]);
  checks.database = database;
  if (redis) checks.redis = redis;
  checks.migrations = database.ok
    ? await timed(async () => {
      const pending = await withTimeout(deps.migrations.pending(), t, 'database');
      return pending === 0 ? { pending } : { ok: false, pending, error: `${pending} migration(s) pending: run gigintel migrate up` };
    })
    : { ok: false, ms: 0, error: 'database unavailable' };
  checks.queue = await timed(async () => {
    const counts = await withTimeout(deps.queue.counts(), t, deps.queue.kind === 'bullmq' ? 'redis' : 'database');
    const sum = (k: 'waiting' | 'active' | 'delayed' | 'dead') => Object.values(counts).reduce((a, c) => a + c[k], 0);
    const depth = { waiting: sum('waiting'), active: sum('active'), delayed: sum('delayed'), dead: sum('dead') };
    if (deps.maxQueueDepth > 0 && depth.waiting > deps.maxQueueDepth) {
      return { ok: false, kind: deps.queue.kind, ...depth, error: `${depth.waiting} waiting jobs exceed the limit of ${deps.maxQueueDepth}` };
    }
    return { kind: deps.queue.kind, ...depth };
  });
  for (const [name, check] of Object.entries(deps.extra ?? {})) checks[name] = await timed(async () => check());
  const failing = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  return { ready: failing.length === 0, failing, checks };
}
