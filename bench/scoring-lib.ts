// Shared by the scoring benchmarks: a MySQL + Redis deployment with a seeded marketplace, its
// features computed, and a `matching-ranker` and an `ads-ctr` model trained by the real trainer
// (as the quick start's demo does) and promoted; then `gigintel serve scoring` started as its own
// process, and wrk driving POST bodies with latency percentiles.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { bootstrapDemoModels } from '../model-registry/demo-models.js';
import type { LogisticModelShape } from '../model-registry/inference/model-types.js';
import type { TableEncoding } from '../model-registry/training/encode-table.js';
import { seedMarketplace } from '../pipelines/synthetic/seed-marketplace.js';

const END = Math.floor(Date.now() / 86_400_000) * 86_400_000;
import { loadConfig } from '../platform/config/load-config.js';
import { createLogger } from '../platform/logging/logger.js';
import { createPlatform } from '../platform/platform.js';
import { createAppServices } from '../services/api/app-services.js';
import { prepareModel, type LoadedModel } from '../services/scoring/model-store.js';
import { createFeatureAssembler } from '../services/scoring/request-features.js';
import { MATCHING_MODEL } from '../services/scoring/scoring.service.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';
import { cleanEnv, freePort, start, stop, waitFor } from './bench-lib.js';

const DAY = 86_400_000;

export interface ScoringSetup {
  databaseUrl: string;
  redisPrefix: string;
  dataDir: string;
  /** A key with scope `score`. */
  key: string;
  /** The served matching champion, compiled as the server compiles it. */
  matching: LoadedModel;
  ads: { version: number };
  /** A job with stored features, and providers to rank for it. */
  jobId: string;
  providerIds: string[];
  /** One real (job, provider) pair's model columns, as the store and pair features give them. */
  pairFeatures: Record<string, unknown>;
  /** The `features` JSON a ranking of 200 with explanations writes to the prediction log (every candidate's raw values). */
  rankLogFeatureBytes: number;
  /** How long seeding, features and training took (s). */
  timings: Record<string, number>;
  cleanup(): Promise<void>;
}

export interface SetupOptions { providers?: number; jobs?: number; days?: number; events?: number; log?: (line: string) => void }

/**
 * A fresh MySQL database and Redis prefix: seed the synthetic marketplace, backfill the features
 * over the seeded period (reconstructed history) plus a run as of now, then train, register and
 * promote both models with the real trainer. Gates are off for champion here (gatedAliases empty):
 * the bench measures serving, not whether the synthetic data passes the fairness gates.
 */
export async function setupScoring(opts: SetupOptions = {}): Promise<ScoringSetup> {
  // GIGINTEL_BENCH_SCORING_KEEP=<file>: the first run sets up and saves the setup there, later runs
  // reuse it (the 1–3 minute setup once while iterating); nothing is dropped. Delete the database,
  // the Redis prefix and the file by hand when done.
  const keep = process.env.GIGINTEL_BENCH_SCORING_KEEP;
  if (keep && existsSync(keep)) return reuseSetup(keep);
  const made = await freshSetup(opts);
  if (!keep) return made;
  const { matching: _m, cleanup: _c, ...saved } = made;
  writeFileSync(keep, JSON.stringify(saved));
  return { ...made, cleanup: async () => {} };
}

async function reuseSetup(file: string): Promise<ScoringSetup> {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Omit<ScoringSetup, 'matching' | 'cleanup'>;
  const config = loadConfig({ env: {}, overrides: { 'database.url': saved.databaseUrl, 'redis.url': REDIS_URL, 'redis.prefix': saved.redisPrefix, 'data.dir': saved.dataDir } });
  const platform = await createPlatform(config, { logger: createLogger({ level: 'warn' }) });
  try {
    const services = createAppServices(config, platform);
    const v = await services.registry.resolveAlias(MATCHING_MODEL, 'champion');
    const artifact = await services.registry.loadArtifact(MATCHING_MODEL, v.version);
    const matching = await prepareModel(MATCHING_MODEL, 'champion', v, artifact.bytes, artifact.sha256);
    return { ...saved, matching, cleanup: async () => {} };
  } finally {
    await platform.lifecycle.stop();
  }
}

async function freshSetup(opts: SetupOptions): Promise<ScoringSetup> {
  const say = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const name = uniqueName('gi_bench_scoring');
  const redisPrefix = `gibench:${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'gigintel-bench-scoring-'));
  const databaseUrl = await createMysqlDatabase(name);
  const cleanup = async () => {
    await dropMysqlDatabase(name);
    await deleteRedisKeys(redisPrefix);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const config = loadConfig({ env: {}, overrides: {
    'database.url': databaseUrl, 'redis.url': REDIS_URL, 'redis.prefix': redisPrefix, 'data.dir': dataDir,
    'registry.gatedAliases': [], 'features.demoSeed': false, 'database.poolSize': 16,
  } });
  const platform = await createPlatform(config, { logger: createLogger({ level: 'warn' }) });
  try {
    const timings: Record<string, number> = {};
    const days = opts.days ?? 14;
    let t = performance.now();
    // The history ends today, as the demo's does: features computed now stay in the range the models were trained on.
    await seedMarketplace(platform.db.db, { providers: opts.providers ?? 2_000, jobs: opts.jobs ?? 400, days, seed: 'bench-scoring', events: opts.events ?? 60_000, end: END });
    timings.seed = (performance.now() - t) / 1000;
    say(`seeded ${opts.providers ?? 2_000} providers, ${opts.jobs ?? 400} jobs, ${days} days in ${timings.seed.toFixed(1)} s`);

    const services = createAppServices(config, platform);
    await platform.queue.startWorkers();
    t = performance.now();
    const from = END - days * DAY;
    const base = { trigger: 'cli' as const, requestedBy: 'bench', from, to: END, reconstruct: true };
    const runs = [
      ...await services.featurePipeline.backfill({ ...base, everyMs: DAY }),
      ...await services.featurePipeline.backfill({ ...base, everyMs: 2 * 3_600_000, sets: ['job_profile'] }),
      await services.featurePipeline.start({ trigger: 'cli', requestedBy: 'bench', full: true }),
    ];
    const trained = await bootstrapDemoModels(
      { db: platform.db.db, dataDir, registry: services.registry, featurePipeline: services.featurePipeline, log: platform.log },
      runs, { from, to: END },
    );
    timings.featuresAndTraining = (performance.now() - t) / 1000;
    say(`features (${runs.length} runs) and training in ${timings.featuresAndTraining.toFixed(1)} s: ${trained.map((m) => `${m.model} v${m.version}${m.promoted ? ' champion' : ' NOT promoted'}`).join(', ')}`);
    for (const m of trained) if (!m.promoted) throw new Error(`${m.model} v${m.version} was not promoted`);

    const loaded = async (model: string) => {
      const v = await services.registry.resolveAlias(model, 'champion');
      const artifact = await services.registry.loadArtifact(model, v.version);
      return prepareModel(model, 'champion', v, artifact.bytes, artifact.sha256);
    };
    const matching = await loaded(MATCHING_MODEL);
    const adsVersion = (await services.registry.resolveAlias('ads-ctr', 'champion')).version;

    // A job with required skills and stored features; providers that have a profile.
    const db = platform.db.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const js = await db.selectFrom('job_skill').select('job_id').where('required', '=', 1 as never).orderBy('job_id').limit(1).execute();
    const jobId = String(js[0]!.job_id);
    const providerIds = (await db.selectFrom('provider').select('id').orderBy('id').limit(500).execute()).map((r) => String(r.id));
    const assembler = createFeatureAssembler({ db: platform.db.db, online: services.online });
    // The pair whose score is the median of the first 200: a typical row, not an extreme one.
    const pairs = await assembler.matching(matching, { jobId, inlineJob: null, providerIds: providerIds.slice(0, 200) });
    const scores = matching.compiled.predict(pairs.rows, pairs.n);
    const typical = Array.from({ length: pairs.n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!)[pairs.n >> 1]!;
    const pairFeatures = Object.fromEntries(Object.entries(pairs.rawAt(typical)).filter(([, v]) => v !== null));
    const rankLogFeatureBytes = Buffer.byteLength(JSON.stringify(Object.fromEntries(providerIds.slice(0, 200).map((id, i) => [id, pairs.rawAt(i)]))));

    const { key } = await services.apiKeys.create({ name: 'bench scorer', scopes: ['score'] }, { type: 'system', id: 'bench' });
    return { databaseUrl, redisPrefix, dataDir, key, matching, ads: { version: adsVersion }, jobId, providerIds, pairFeatures, rankLogFeatureBytes, timings, cleanup };
  } catch (err) {
    await platform.lifecycle.stop().catch(() => {});
    await cleanup();
    throw err;
  } finally {
    // The setup process stops before measuring: only the scoring server (and wrk) load the CPUs.
    await platform.lifecycle.stop();
  }
}

export interface ScoringServer { child: ChildProcess; base: string; pid: number }

/** `node bin/gigintel.js serve scoring` on a free port, ready when /readyz says the models are loaded. */
export async function startScoringServer(s: ScoringSetup, env: Record<string, string> = {}, nodeArgs: string[] = [], root?: string): Promise<ScoringServer> {
  const port = await freePort();
  const args = [...nodeArgs, 'bin/gigintel.js', 'serve', 'scoring', '--port', String(port)];
  const childEnv = cleanEnv({
    GIGINTEL_DATABASE_URL: s.databaseUrl, GIGINTEL_REDIS_URL: REDIS_URL, GIGINTEL_REDIS_PREFIX: s.redisPrefix,
    GIGINTEL_DATA_DIR: s.dataDir, GIGINTEL_RATE_LIMIT_ENABLED: 'false', GIGINTEL_LOG_LEVEL: 'info',
    GIGINTEL_FEATURE_DOCS: 'false', ...env,
  });
  // `root`: another checkout of gigintel (e.g. `git archive` of an earlier commit), to measure before/after in one run.
  const child = root
    ? spawn(process.execPath, args, { cwd: root, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'], detached: true })
    : start(process.execPath, args, childEnv);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/readyz`, 60_000);
  return { child, base, pid: child.pid! };
}

export { stop };

/** The peer's copy of the served logistic model: encoding plus standardise → dot → sigmoid. */
export function logisticSpec(m: LoadedModel): { encoding: TableEncoding; means: number[]; stds: number[]; coef: number[]; intercept: number } {
  const s = m.servable as LogisticModelShape;
  if (s.kind !== 'logistic' || !m.encoding) throw new Error(`${m.model} v${m.version} is not a logistic model with an encoding`);
  return { encoding: m.encoding, means: s.means, stds: s.stds, coef: s.coef, intercept: s.intercept };
}

export interface LoadResult { rps: number; p50Ms: number; p99Ms: number; requests: number; non2xx: number; errors: number }

const LUA = `
local counter = 0
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
function init(args)
  local f = io.open(args[1], "r"); wrk.body = f:read("*a"); f:close()
  if args[2] ~= nil and args[2] ~= "" then wrk.headers["authorization"] = "Bearer " .. args[2] end
end
function response(status, headers, body)
  if status ~= 200 then counter = counter + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("P50_US %d\\nP99_US %d\\n", latency:percentile(50), latency:percentile(99)))
end
`;

/** `connections` keep-alive connections POSTing `body` to `url` for `seconds` with wrk (one thread): req/s and latency percentiles. */
export function wrkPost(url: string, body: string, seconds: number, connections: number, key = ''): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-wrk-'));
  try {
    writeFileSync(join(dir, 'post.lua'), LUA);
    writeFileSync(join(dir, 'body.json'), body);
    const r = spawnSync('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '-s', join(dir, 'post.lua'), url, '--', join(dir, 'body.json'), key], { encoding: 'utf8' });
    const num = (re: RegExp) => { const m = re.exec(r.stdout); return m ? Number(m[1]) : NaN; };
    const rps = num(/Requests\/sec:\s+([\d.]+)/);
    if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${r.stdout}${r.stderr}`);
    return {
      rps, p50Ms: num(/P50_US (\d+)/) / 1000, p99Ms: num(/P99_US (\d+)/) / 1000,
      requests: num(/(\d+) requests in/), non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
      errors: (num(/Socket errors:.*?timeout (\d+)/) || 0) + (num(/Socket errors: connect (\d+)/) || 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system, all threads) a process has used so far (Linux /proc; clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14 and 15 of stat)
}

/** Resident set size of a process in MB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export const loadNow = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export const fmt = (r: LoadResult) => `${r.rps.toFixed(0).padStart(6)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${r.non2xx || r.errors ? ` (${r.non2xx} non-2xx, ${r.errors} socket errors)` : ''}`;

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** The functions with the most self time in a V8 .cpuprofile, and the share of samples under each `groups` url pattern. */
export function profileTop(file: string, n = 25, groups: Record<string, RegExp> = {}): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const self = new Map<string, number>();
  const grouped = new Map<string, number>(Object.keys(groups).map((g) => [g, 0]));
  const short = (url: string) => url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'nm:').replace(/.*\/dist\//, 'dist/');
  for (const id of p.samples) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + 1);
    // Inclusive share per group: count a sample once if any frame on its stack matches.
    for (const [g, re] of Object.entries(groups)) {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const cf = byId.get(at)!.callFrame;
        if (re.test(`${cf.functionName} ${cf.url}`)) { grouped.set(g, grouped.get(g)! + 1); break; }
      }
    }
  }
  // Inclusive time per function: each sample counted once per distinct function on its stack.
  const incl = new Map<string, number>();
  for (const id of p.samples) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!f.url) continue;
      const name = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
      if (!seen.has(name)) { seen.add(name); incl.set(name, (incl.get(name) ?? 0) + 1); }
    }
  }
  const total = p.samples.length;
  const pct = (k: number) => `${(k / total * 100).toFixed(1).padStart(5)}%`;
  return [
    `${total} samples; self time:`,
    ...[...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, k]) => `  ${pct(k)}  ${name}`),
    'inclusive time (functions with a source file):',
    ...[...incl].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, k]) => `  ${pct(k)}  ${name}`),
    ...(grouped.size ? ['inclusive (any frame on the stack):', ...[...grouped].map(([g, k]) => `  ${pct(k)}  ${g}`)] : []),
  ];
}

/** A /v1/match/rank body: the setup's job and `n` of its providers, top 10, with or without explanations. */
export function rankBody(s: ScoringSetup, n: number, explain: boolean, k = 10): string {
  return JSON.stringify({ job: { id: s.jobId }, candidates: s.providerIds.slice(0, n), k, explain });
}
