// The batch feature pipeline on the inline queue (SQLite, MySQL) and BullMQ (Redis online store):
// a full run writes exactly one history row and one online row per entity and set, equal to the
// values computed directly; an incremental run recomputes only what changed; a run whose chunk
// fails resumes and ends with exactly the rows of an uninterrupted run; bad options are named.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { providerId } from '../../../pipelines/synthetic/generate-marketplace.js';
import { seedMarketplace } from '../../../pipelines/synthetic/seed-marketplace.js';
import { createFeaturePipeline, featurePipelineJobs, type FeaturePipeline, type PipelineRun } from '../../../pipelines/features/batch/feature-pipeline.service.js';
import { batchFeatureSets, computeBatch, type AnyFeatureSet } from '../../../pipelines/features/definitions/catalog.js';
import { createOnlineStore } from '../../../pipelines/features/store/create-online-store.js';
import type { OnlineStore } from '../../../pipelines/features/store/feature-store.types.js';
import { readHistory } from '../../../pipelines/features/store/offline-store.repository.js';
import { loadConfig } from '../../../platform/config/load-config.js';
import type { Dialect } from '../../../platform/db/database.js';
import { createLogger } from '../../../platform/logging/logger.js';
import { createPlatform, type Platform } from '../../../platform/platform.js';
import { startTestApp, type TestApp } from '../../helpers/test-app.js';
import { REDIS_URL, useTestEnv } from '../../helpers/test-env.js';

interface Target { label: string; kind: 'inline' | 'bullmq'; dialect: Dialect }
const TARGETS: Target[] = [
  { label: 'inline queue, sqlite', kind: 'inline', dialect: 'sqlite' },
  { label: 'inline queue, mysql', kind: 'inline', dialect: 'mysql' },
  { label: 'bullmq, mysql, redis online store', kind: 'bullmq', dialect: 'mysql' },
];
const CHUNK = 40;

describe.each(TARGETS)('batch feature pipeline: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let platform: Platform;
  let online: OnlineStore;
  let pipeline: FeaturePipeline;
  let failChunk: { set: string; times: number } | null = null;
  const sets = (): AnyFeatureSet[] => batchFeatureSets().map((s) => ({
    ...s,
    batch: {
      listEntities: s.batch.listEntities,
      async load(db, keys, asOf) {
        // Only the first (full) chunk of the set fails, on every attempt while `times` lasts.
        if (failChunk?.set === s.name && keys.length === CHUNK && failChunk.times > 0) { failChunk.times--; throw new Error('injected: the database went away'); }
        return s.batch.load(db, keys, asOf);
      },
    },
  }) as AnyFeatureSet);

  beforeAll(async () => {
    const config = env.config({ 'queue.attempts': 2, 'queue.backoffMs': 10, 'queue.pollIntervalMs': 20, 'queue.lockDurationMs': 2_000 }, { redis: target.kind === 'bullmq' });
    platform = await createPlatform(config, { logger: createLogger({ level: 'silent' }) });
    await seedMarketplace(platform.db.db, { providers: 150, jobs: 60, days: 10, seed: 'batch-test', events: 4_000 });
    online = createOnlineStore({ db: platform.db.db, redis: platform.redis, prefix: config.redis.prefix, sets: batchFeatureSets() });
    pipeline = createFeaturePipeline({ db: platform.db.db, queue: platform.queue, online, log: platform.log, chunkSize: CHUNK, sets: sets() });
    for (const job of featurePipelineJobs(pipeline)) platform.queue.register(job);
    await platform.queue.startWorkers();
  }, 120_000);
  afterAll(async () => { await platform?.lifecycle.stop(); });

  const settled = (id: string, status: PipelineRun['status'] = 'succeeded') => vi.waitFor(async () => {
    const run = await pipeline.get(id);
    expect(run.status).toBe(status);
    return run;
  }, { timeout: 45_000, interval: 50 });

  /** Every history row of the run's sets at its as-of time must equal a direct computation, one per entity. */
  async function expectExactRows(run: PipelineRun): Promise<number> {
    let total = 0;
    for (const set of batchFeatureSets()) {
      const rows = await readHistory(platform.db.db, { featureSet: set.name, version: set.version });
      const atRun = rows.filter((r) => r.eventAt === run.asOf);
      const keys = atRun.map((r) => r.entityKey);
      expect(new Set(keys).size).toBe(keys.length); // one row per entity
      const direct = await computeBatch(set, platform.db.db, keys, run.asOf);
      expect(Object.fromEntries(atRun.map((r) => [r.entityKey, r.values]))).toEqual(Object.fromEntries(direct));
      total += atRun.length;
    }
    return total;
  }

  let firstRun: PipelineRun;

  it('computes every entity of every batch set in chunks, into the history and the online store', async () => {
    const planned = await pipeline.start({ trigger: 'cli', requestedBy: 'test', full: true });
    expect(planned.chunksTotal).toBeGreaterThan(batchFeatureSets().length); // several chunks per big set
    firstRun = await settled(planned.id);
    expect(firstRun.chunksDone).toBe(firstRun.chunksTotal);
    const entities = firstRun.featureSets.reduce((n, s) => n + s.entities, 0);
    expect(entities).toBeGreaterThan(150 + 60);
    expect(firstRun.entities).toBe(entities);
    expect(await expectExactRows(firstRun)).toBe(firstRun.rowsWritten);

    const provider = batchFeatureSets().find((s) => s.name === 'provider_profile')!;
    const keys = (await readHistory(platform.db.db, { featureSet: provider.name, version: provider.version })).slice(0, 3).map((r) => r.entityKey);
    expect(keys).toHaveLength(3);
    const read = await online.read(provider, keys, firstRun.asOf + 1_000);
    const direct = await computeBatch(provider, platform.db.db, keys, firstRun.asOf);
    for (const r of read) {
      expect(r.found).toBe(true);
      expect(r.eventAt).toBe(firstRun.asOf);
      expect({ ...r.values, ...Object.fromEntries(r.expired.map((f) => [f, direct.get(r.entityKey)![f]])) }).toEqual(direct.get(r.entityKey));
    }
  }, 90_000);

  it('runs incrementally: nothing changed, nothing computed; a changed provider is recomputed alone', async () => {
    const idle = await settled((await pipeline.start({ trigger: 'cli', requestedBy: 'test' })).id);
    expect(idle.featureSets.find((s) => s.name === 'provider_profile')).toMatchObject({ entities: 0, changedSince: firstRun.createdAt });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await (platform.db.db as unknown as Kysely<any>).updateTable('provider').set({ rating: 1.5, updated_at: Date.now() - 1 }).where('id', '=', providerId(7)).execute();
    const next = await settled((await pipeline.start({ trigger: 'cli', requestedBy: 'test' })).id);
    const summary = next.featureSets.find((s) => s.name === 'provider_profile')!;
    expect(summary.entities).toBe(1);
    const [row] = await online.read(batchFeatureSets().find((s) => s.name === 'provider_profile')!, [providerId(7)], next.asOf);
    expect(row!.eventAt).toBe(next.asOf);
  }, 90_000);

  it('resumes a failed run and ends with exactly the rows of an uninterrupted run', async () => {
    failChunk = { set: 'job_profile', times: 2 }; // both attempts of the first job_profile chunk fail
    const planned = await pipeline.start({ trigger: 'cli', requestedBy: 'test', full: true, asOf: firstRun.asOf - 86_400_000 });
    const failed = await settled(planned.id, 'failed');
    expect(failed.error).toMatch(/job_profile.*injected/);
    expect(failed.chunksDone).toBeLessThan(failed.chunksTotal);
    expect(await pipeline.latestFailed()).toMatchObject({ id: planned.id });

    const resumed = await pipeline.resume(planned.id);
    expect(resumed.status).toBe('running');
    const done = await settled(planned.id);
    expect(done.chunksDone).toBe(done.chunksTotal);
    expect(done.advancesWatermark).toBe(false); // a backfill does not move the incremental watermark
    expect(await expectExactRows(done)).toBe(done.rowsWritten);
    await expect(pipeline.resume(planned.id)).rejects.toMatchObject({ code: 'conflict' });
  }, 90_000);

  it('stamps a reconstruction\'s history as created at its as-of time, a plain backfill\'s as created now', async () => {
    const asOf = firstRun.asOf - 3 * 86_400_000;
    const rebuilt = await settled((await pipeline.start({ trigger: 'cli', requestedBy: 'test', asOf, full: true, reconstruct: true, sets: ['skill_idf'] })).id);
    expect(rebuilt).toMatchObject({ reconstructs: true, advancesWatermark: false });
    const rows = (await readHistory(platform.db.db, { featureSet: 'skill_idf', version: 1 })).filter((r) => r.eventAt === asOf);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.createdAt === asOf)).toBe(true);
    const plain = await settled((await pipeline.start({ trigger: 'cli', requestedBy: 'test', asOf: asOf - 86_400_000, full: true, sets: ['skill_idf'] })).id);
    const plainRows = (await readHistory(platform.db.db, { featureSet: 'skill_idf', version: 1 })).filter((r) => r.eventAt === plain.asOf);
    expect(plainRows.length).toBeGreaterThan(0);
    expect(plainRows.every((r) => r.createdAt >= plain.createdAt)).toBe(true);
    await expect(pipeline.start({ trigger: 'cli', requestedBy: 'test', reconstruct: true })).rejects.toMatchObject({ details: { problems: [{ path: 'reconstruct' }] } });
  }, 90_000);

  it('names the option at fault', async () => {
    await expect(pipeline.start({ trigger: 'cli', requestedBy: 'test', sets: ['nope'] })).rejects.toMatchObject({ code: 'validation_failed', details: { problems: [{ path: 'sets' }] } });
    await expect(pipeline.start({ trigger: 'cli', requestedBy: 'test', asOf: Date.now() + 86_400_000 })).rejects.toMatchObject({ details: { problems: [{ path: 'asOf' }] } });
    await expect(pipeline.get('fr_missing')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('pipeline runs over HTTP and from the CLI (sqlite)', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let t: TestApp;
  const BIN = new URL('../../../bin/gigintel.js', import.meta.url).pathname;
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIGINTEL_'))), GIGINTEL_DATABASE_URL: env.databaseUrl, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_QUEUE_POLL_MS: '20' },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  beforeAll(async () => {
    t = await startTestApp(env.config({ 'rateLimit.enabled': false, 'queue.pollIntervalMs': 20 }));
    await seedMarketplace(env.db.db, { providers: 40, jobs: 15, days: 5, seed: 'runs-api', events: 1_000 });
    await t.platform.queue.startWorkers();
  }, 60_000);
  afterAll(async () => { await t?.close(); });

  it('starts a run with an admin key and shows it to a features:read key', async () => {
    const key = async (scopes: string[]) => ({ authorization: `Bearer ${(await t.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: t.adminAuth, payload: { name: scopes.join(), scopes } })).json<{ key: string }>().key}` });
    const reader = await key(['features:read']);
    const scorer = await key(['score']);
    expect((await t.app.inject({ method: 'POST', url: '/v1/pipelines/runs', headers: reader, payload: {} })).statusCode).toBe(403);
    const started = await t.app.inject({ method: 'POST', url: '/v1/pipelines/runs', headers: t.adminAuth, payload: { full: true } });
    expect(started.statusCode).toBe(202);
    const { id } = started.json<PipelineRun>();
    const done = await vi.waitFor(async () => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/pipelines/runs/${id}`, headers: reader });
      expect(res.json<PipelineRun>().status).toBe('succeeded');
      return res.json<PipelineRun>();
    }, { timeout: 30_000, interval: 50 });
    expect(done).toMatchObject({ trigger: 'api', full: true, chunksDone: done.chunksTotal });
    expect(done.entities).toBeGreaterThan(40 + 15);
    const list = await t.app.inject({ method: 'GET', url: '/v1/pipelines/runs?limit=5', headers: reader });
    expect(list.json<{ runs: PipelineRun[] }>().runs.map((r) => r.id)).toContain(id);
    expect((await t.app.inject({ method: 'GET', url: '/v1/pipelines/runs', headers: scorer })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/v1/pipelines/runs/fr_nope', headers: reader })).statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/pipelines/runs', headers: t.adminAuth, payload: { sets: ['nope'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.problems[0].path).toBe('sets');
  }, 60_000);

  it('runs from the CLI, incrementally after the full run, and lists the history', () => {
    const r = cli(['pipeline', 'run', 'features']);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(summary).toMatchObject({ status: 'succeeded', full: false });
    const runs = cli(['pipeline', 'runs', '--json']).out.trim().split('\n').map((l) => JSON.parse(l) as PipelineRun);
    expect(runs.map((x) => x.trigger)).toEqual(['cli', 'api']);
    // Nothing changed since the API's run: no provider or job is computed again.
    expect(runs[0]!.featureSets.filter((f) => ['provider_profile', 'job_profile'].includes(f.name)).map((f) => f.entities)).toEqual([0, 0]);
    const bad = cli(['pipeline', 'run', 'features', '--as-of', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--as-of');
    expect(bad.err).not.toMatch(/\n\s+at /);
  }, 90_000);
});

describe.each(TARGETS.filter((t) => t.dialect === 'mysql'))('a batch run whose worker is killed half-way: $label', (target) => {
  const env = useTestEnv({ dialect: target.dialect });
  let platform: Platform;
  let pipeline: FeaturePipeline;
  const ROOT = new URL('../../..', import.meta.url).pathname;

  afterAll(async () => { await platform?.lifecycle.stop(); });

  it('resumes on another worker and ends with exactly the rows of an uninterrupted run', async () => {
    const overrides = {
      'database.url': env.databaseUrl, 'queue.attempts': 3, 'queue.backoffMs': 10, 'queue.pollIntervalMs': 20,
      'queue.lockDurationMs': 1_500, 'pipeline.chunkSize': CHUNK,
      ...(target.kind === 'bullmq' ? { 'redis.url': REDIS_URL, 'redis.prefix': env.redisPrefix } : {}),
    };
    const config = loadConfig({ overrides, env: {} });
    platform = await createPlatform(config, { logger: createLogger({ level: 'silent' }) });
    await seedMarketplace(platform.db.db, { providers: 150, jobs: 60, days: 10, seed: 'kill-test', events: 4_000 });
    const online = createOnlineStore({ db: platform.db.db, redis: platform.redis, prefix: config.redis.prefix, sets: batchFeatureSets() });
    pipeline = createFeaturePipeline({ db: platform.db.db, queue: platform.queue, online, log: platform.log, chunkSize: CHUNK });
    for (const job of featurePipelineJobs(pipeline)) platform.queue.register(job);
    const planned = await pipeline.start({ trigger: 'cli', requestedBy: 'test', full: true });

    // Only the child works the queue until it hangs after its third chunk; then it is killed.
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fixtures/feature-worker-child.ts', JSON.stringify(overrides)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! });
    const hung = await new Promise<string>((resolve, reject) => {
      lines.on('line', (l) => { if (l.startsWith('hung ')) resolve(l.slice(5)); });
      child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const halfway = await pipeline.get(planned.id);
    expect(halfway.chunksDone).toBe(3);
    expect(hung).toMatch(new RegExp(`^${planned.id}-c\\d+$`));

    await platform.queue.startWorkers(); // the survivor: takes the rest, and the hung job once its lock lapses
    const done = await vi.waitFor(async () => {
      const run = await pipeline.get(planned.id);
      expect(run.status).toBe('succeeded');
      return run;
    }, { timeout: 45_000, interval: 50 });
    expect(done.chunksDone).toBe(done.chunksTotal);
    let rows = 0;
    for (const set of batchFeatureSets()) {
      const history = (await readHistory(platform.db.db, { featureSet: set.name, version: set.version })).filter((r) => r.eventAt === done.asOf);
      const keys = history.map((r) => r.entityKey);
      expect(new Set(keys).size).toBe(keys.length);
      expect(Object.fromEntries(history.map((r) => [r.entityKey, r.values]))).toEqual(Object.fromEntries(await computeBatch(set, platform.db.db, keys, done.asOf)));
      rows += history.length;
    }
    expect(rows).toBe(done.rowsWritten);
    expect(done.entities).toBe(done.featureSets.reduce((n, s) => n + s.entities, 0));
  }, 120_000);
});
