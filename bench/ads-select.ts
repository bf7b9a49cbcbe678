// Ad selection with 2,000 active campaigns (created here, ~2 creatives each, over the seeded
// marketplace's categories; the seeded campaigns paused): a minimal Fastify app whose
// POST /v1/ads/select validates the body and serialises the answer with the route's schemas and
// calls the selector wired as the API wires it (budget service and pacer as gates), driven by
// wrk at 50 connections (and at one) with a body per request (random user of 5,000, device,
// country, browsed category on half), so the frequency caps (one user in five has impressions
// recorded), placement rules and the visitor's features (one user in ten has a user_affinity,
// which the model reads) do real work. The peer, in the same process and run: the same route and
// schemas answering a fixed selection (Fastify's own floor for this request and answer).
// Deployment shapes: MySQL + Redis (caps, budgets, pacing and online features in Redis) and
// SQLite without Redis. The ads-ctr model is a logistic model over the scoring fixtures' ads
// encoding reading the stored 24 h creative CTR (written here for every creative), not a trained
// one: the bench measures selection, not model quality. Candidate limits (creatives scored per
// request) and the pCTR cache (on, or off: every request scores its candidates) vary.
// Besides wrk's closed loop (50 connections, each sending its next request when the last is
// answered), an open loop (bench/ads-open-loop.ts, its own process) offers fixed rates and times
// each request from when it was due: the p99 a service sees at a given traffic, stalls included.
// ADS_PROFILE=<dir> writes a CPU profile of each selector's loaded runs there.
//   npm run bench -- bench/ads-select.ts [seconds per run, default 8] [shapes: mysql,sqlite] [limits: 200,50] [modes: on,off,<path to an ad-selector.ts>] [open-loop rates/s: 1000,2000 | none]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { basename, join, resolve } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { serialiseArtifact } from '../model-registry/artifact.js';
import { targetedCategories } from '../pipelines/features/definitions/ads-features.js';
import { WINDOWED_SETS } from '../pipelines/features/definitions/window-inputs.js';
import { createOnlineStore } from '../pipelines/features/store/create-online-store.js';
import { uniform } from '../pipelines/synthetic/random.js';
import { seedMarketplace } from '../pipelines/synthetic/seed-marketplace.js';
import { createDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createBudgetService } from '../services/scoring/ads/budget/budget.service.js';
import { createPacer } from '../services/scoring/ads/budget/pacing.js';
import { createPacingStore } from '../services/scoring/ads/budget/pacing-store.js';
import { listBudgetedCampaigns } from '../services/scoring/ads/budget/pacing.repository.js';
import { SelectIn, SelectOut } from '../services/scoring/ads/selection/ad-selection.schemas.js';
import { createAdSelector, type SelectResult } from '../services/scoring/ads/selection/ad-selector.js';
import { prepareModel } from '../services/scoring/model-store.js';
import { createFeatureAssembler } from '../services/scoring/request-features.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';
import { adsEncoding, logisticOver } from '../tests/services/scoring/scoring-fixtures.js';
import { freePort } from './bench-lib.js';

const seconds = Number(process.argv[2] ?? 8);
const shapes = (process.argv[3] ?? 'mysql,sqlite').split(',') as ('mysql' | 'sqlite')[];
const limits = (process.argv[4] ?? '200,50').split(',').map(Number);
// A mode is the pCTR cache on or off, or the path of another ad-selector module (say, the previous
// commit's, checked out beside this one) measured in the same run.
const cacheModes = (process.argv[5] ?? 'on,off').split(',');
const openRates = (process.argv[6] ?? '1000,2000').split(',').filter((x) => x !== 'none').map(Number);
const CAMPAIGNS = 2_000;
const USERS = 5_000;
const DAY = 86_400_000;
const loadNow = () => loadavg().map((x) => x.toFixed(2)).join(' ');

// wrk: a fresh body per request; latency percentiles and non-200s at the end.
const LUA = `
local counter = 0
local devices = { "mobile", "desktop", "tablet" }
local countries = { "US", "GB", "DE", "IN" }
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
function init(args)
  placements = {}
  for p in string.gmatch(args[1], "[^,]+") do placements[#placements + 1] = p end
  categories = {}
  for c in string.gmatch(args[2], "[^,]+") do categories[#categories + 1] = c end
end
function request()
  local cat = ""
  if math.random() < 0.5 then cat = string.format(',"category":"%s"', categories[math.random(#categories)]) end
  local body = string.format('{"placementId":"%s","userId":"u_%d","device":"%s","country":"%s","count":3%s}',
    placements[math.random(#placements)], math.random(${USERS}) - 1, devices[math.random(3)], countries[math.random(4)], cat)
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body)
  if status ~= 200 then counter = counter + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("P50_US %d\\nP99_US %d\\n", latency:percentile(50), latency:percentile(99)))
end
`;

interface Run { rps: number; p50Ms: number; p99Ms: number; non2xx: number; cpuUs: number }

function wrk(url: string, connections: number, secs: number, placements: string[], categories: string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-wrk-ads-'));
  writeFileSync(join(dir, 'select.lua'), LUA);
  // Asynchronous: the server under test runs in this process.
  const c0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t', '1', '-c', String(connections), '-d', `${secs}s`, '--timeout', '5s', '-s', join(dir, 'select.lua'), url, '--', placements.join(','), categories.join(',')]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      rmSync(dir, { recursive: true, force: true });
      const num = (re: RegExp) => { const m = re.exec(out); return m ? Number(m[1]) : NaN; };
      const rps = num(/Requests\/sec:\s+([\d.]+)/);
      if (!Number.isFinite(rps)) { reject(new Error(`wrk output not understood:\n${out}`)); return; }
      const cpu = process.cpuUsage(c0); // this process serves the requests: its CPU time per request is the cost, whatever the neighbours do
      resolve({ rps, p50Ms: num(/P50_US (\d+)/) / 1000, p99Ms: num(/P99_US (\d+)/) / 1000, non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0, cpuUs: (cpu.user + cpu.system) / (rps * secs) });
    });
  });
}

async function setup(shape: 'mysql' | 'sqlite') {
  const name = uniqueName('gi_bench_ads');
  const prefix = `gibench:${name}:`;
  let tmp: string | null = null;
  const url = shape === 'mysql' ? await createMysqlDatabase(name) : `sqlite:${join(tmp = mkdtempSync(join(tmpdir(), 'gigintel-bench-ads-')), 'ads.db')}`;
  const handle: DatabaseHandle = createDatabase({ url, poolSize: 16 });
  const redis = shape === 'mysql' ? new Redis(REDIS_URL) : null;
  const cleanup = async () => {
    await handle.close();
    redis?.disconnect();
    if (shape === 'mysql') { await dropMysqlDatabase(name); await deleteRedisKeys(prefix); }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  const db = handle.db;
  await createMigrationRunner(db, await loadMigrationFiles()).up();
  await seedMarketplace(db, { providers: 300, jobs: 60, days: 2, seed: 'bench-ads-select', events: 2_000 });
  const k = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  await k.updateTable('campaign').set({ status: 'paused' }).execute();
  const categories = (await k.selectFrom('category').select('id').where('parent_id', 'is not', null).execute()).map((r) => String(r.id));
  const placements = (await k.selectFrom('placement').select('id').orderBy('id').execute()).map((r) => String(r.id));

  // 2,000 campaigns of 400 advertisers; a tenth target devices, a tenth countries.
  const r = uniform('bench-ads-select');
  const now = Date.now();
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const advertisers = Array.from({ length: 400 }, (_, i) => ({ id: `badv_${i}`, name: `Bench advertiser ${i}`, client_id: null, updated_at: now }));
  const campaigns: Record<string, unknown>[] = [];
  const creatives: Record<string, unknown>[] = [];
  for (let i = 0; i < CAMPAIGNS; i++) {
    const cpc = r() < 0.7;
    const targeting: Record<string, unknown> = { categories: r() < 0.3 ? [pick(categories), pick(categories)] : [pick(categories)] };
    if (r() < 0.1) targeting.devices = [pick(['mobile', 'desktop', 'tablet'])];
    if (r() < 0.1) targeting.countries = [pick(['US', 'GB', 'DE', 'IN'])];
    const id = `bcmp_${i}`;
    campaigns.push({
      id, advertiser_id: `badv_${i % 400}`, name: id, bid_type: cpc ? 'cpc' : 'cpm', bid_minor: Math.round(cpc ? 30 + r() * 150 : 200 + r() * 800), currency: 'USD',
      daily_budget_minor: 500_000, lifetime_budget_minor: null, starts_at: now - DAY, ends_at: now + 30 * DAY, targeting: JSON.stringify(targeting), status: 'active', updated_at: now,
    });
    for (let n = 1 + Math.floor(r() * 3); n > 0; n--) creatives.push({ id: `${id}_cr${n}`, campaign_id: id, title: `${id} ${n}`, url: `https://ads.example.com/${id}/${n}`, updated_at: now });
  }
  const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));
  for (const c of chunks(advertisers, 200)) await k.insertInto('advertiser').values(c).execute();
  for (const c of chunks(campaigns, 200)) await k.insertInto('campaign').values(c).execute();
  for (const c of chunks(creatives, 200)) await k.insertInto('creative').values(c).execute();

  const online = createOnlineStore({ db, redis, prefix });
  for (const c of chunks(creatives, 1000)) {
    await online.write(c.map((cr) => {
      const ctr = Math.round((0.005 + r() * 0.05) * 1e6) / 1e6;
      return { featureSet: WINDOWED_SETS.creative, version: 1, entityKey: String(cr.id), eventAt: now, values: { ctr_1h: ctr, ctr_24h: ctr, ctr_7d: ctr, imp_1h: 100, clk_1h: 1, imp_24h: 1000, clk_24h: 10, imp_7d: 5000, clk_7d: 50 } };
    }), now);
  }
  // Every campaign's profile, as the batch job stores it (the affinity feature reads its categories).
  for (const c of chunks(campaigns, 1000)) {
    await online.write(c.map((x) => ({
      featureSet: 'campaign_profile', version: 1, entityKey: String(x.id), eventAt: now, values: {
        advertiser_id: String(x.advertiser_id), bid_type: String(x.bid_type), bid_minor: Number(x.bid_minor), currency: 'USD', daily_budget_minor: 500_000,
        lifetime_budget_minor: null, targeted_categories: targetedCategories(x.targeting), status: 'active', running: true,
      },
    })), now);
  }
  const servable = logisticOver(adsEncoding(), 'bench-ads-select');
  const d = servable.featureNames.length;
  Object.assign(servable, { means: Array(d).fill(0), stds: Array(d).fill(1), intercept: -4, coef: servable.featureNames.map((f) => (f === 'creative_ctr__ctr_24h' ? 30 : 0)) });
  const art = serialiseArtifact(servable);
  const model = prepareModel('ads-ctr', 'champion', { version: 1, algorithm: 'logistic', featureSets: [] }, art.bytes, art.sha256);
  // One user in ten has clicked lately: a user_affinity over two of the categories.
  const affinities = [];
  for (let u = 0; u < USERS; u += 10) affinities.push({ featureSet: 'user_affinity', version: 1, entityKey: `u_${u}`, eventAt: now, values: { clicks_7d: 4, top_categories: [pick(categories), pick(categories)], top_category_shares: [0.75, 0.25] } });
  await online.write(affinities, now);
  const features = createFeatureAssembler({ db, online });
  // The gates as services/api/app-services.ts wires them.
  const budget = createBudgetService({ db, redis, prefix });
  const pacer = createPacer({ store: createPacingStore({ db, redis, prefix }), budgets: budget, campaigns: (at) => listBudgetedCampaigns(db, at) });
  await pacer.updateSlot(now);
  const deps = {
    db, redis, prefix, store: { get: () => model }, features, online, tokenSecret: 'bench-secret', random: uniform('bench-ads-random'),
    budget: { remaining: async (ids: readonly string[], at: number) => new Map([...await budget.remaining(ids, at)].map(([id, b]) => [id, b.remainingMinor])) },
    pacer: { passThrough: (ids: readonly string[]) => pacer.rates(ids) },
  };

  // Rules on two placements; impressions for one user in five (caps of 3 per 24 h bite on some).
  const first = createAdSelector(deps);
  await first.rules.upsert(placements[0]!, { maxAds: 3, blockedCategories: categories.slice(0, 5), minPctr: 0.02 });
  await first.rules.upsert(placements[1]!, { maxAds: 2, devices: ['mobile', 'desktop'], onePerAdvertiser: true });
  await first.refresh();
  for (let u = 0; u < USERS; u += 5) {
    await Promise.all(Array.from({ length: 4 }, () => first.recordImpression({ campaignId: `bcmp_${Math.floor(r() * CAMPAIGNS)}`, userId: `u_${u}` }, now)));
  }
  return { deps, placements, categories, cleanup };
}

const lines: string[] = [];
const say = (line: string) => { console.log(line); lines.push(line); };
const fmt = (r: Run) => `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.cpuUs.toFixed(0)} µs CPU/req${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}`;

/** The route as ads.routes.ts declares it (schemas in and out), the auth preHandler aside. */
async function serve(handler: (body: Parameters<ReturnType<typeof createAdSelector>['select']>[0]) => Promise<SelectResult> | SelectResult) {
  const app = Fastify({ logger: false });
  app.post('/v1/ads/select', { schema: { body: SelectIn, response: { 200: SelectOut } } }, async (req) => handler({ ...(req.body as Parameters<typeof handler>[0]), ip: req.ip }));
  const port = await freePort();
  await app.listen({ port, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${port}/v1/ads/select` };
}

interface OpenRun { offered: number; answered: number; errors: number; achieved: number; maxWaiting: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; cpuUs: number }

/** The open loop at one offered rate (bench/ads-open-loop.ts in a process of its own); CPU per request is this process's, the server's. */
function openLoop(url: string, rate: number, secs: number, placements: string[], categories: string[]): Promise<OpenRun> {
  const c0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'ads-open-loop.ts'), url, String(rate), String(secs), placements.join(','), categories.join(','), String(USERS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', () => {
      const cpu = process.cpuUsage(c0);
      try {
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as Omit<OpenRun, 'cpuUs'>;
        resolve({ ...r, cpuUs: (cpu.user + cpu.system) / Math.max(1, r.answered) });
      } catch { reject(new Error(`open-loop output not understood:\n${out}`)); }
    });
  });
}

const fmtOpen = (r: OpenRun) => `offered ${r.offered}/s: answered ${r.achieved.toFixed(0)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, p99.9 ${r.p999Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms, ${r.cpuUs.toFixed(0)} µs CPU/req, at most ${r.maxWaiting} waiting for a connection${r.errors ? `, ${r.errors} errors` : ''}`;

/** Each offered rate once, after the closed loop (its caches are warm), over 64 connections. */
async function openLoops(tag: string, url: string, placements: string[], categories: string[]): Promise<void> {
  for (const rate of openRates) say(`  ${tag}: open loop ${fmtOpen(await openLoop(url, rate, seconds, placements, categories))}   (load ${loadNow()})`);
}

/** ADS_PROFILE=<dir>: CPU profiles of the selector's three loaded runs and of its one-connection run (not the peer's, not the setup). */
async function profiled<T>(tag: string | null, run: () => Promise<T>): Promise<T> {
  const dir = process.env.ADS_PROFILE;
  if (!dir || !tag) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    const file = join(dir, `ads-select-${tag.replace(/[^\w.-]+/g, '_')}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    say(`  profile: ${file}`);
  }
}

/** 50 connections three times (the median run by p99), then one connection. */
async function measure(url: string, placements: string[], categories: string[], profileTag: string | null = null): Promise<{ m: Run; runs: Run[]; one: Run }> {
  await wrk(url, 50, 3, placements, categories); // warm-up
  const runs: Run[] = [];
  await profiled(profileTag, async () => { for (let i = 0; i < 3; i++) runs.push(await wrk(url, 50, seconds, placements, categories)); });
  runs.sort((a, b) => a.p99Ms - b.p99Ms);
  const one = await profiled(profileTag && `${profileTag}-1conn`, () => wrk(url, 1, seconds, placements, categories));
  return { m: runs[1]!, runs, one };
}

/**
 * The modes side by side in process, 50 selections in flight (no HTTP: that part is the same for
 * all), in alternating rounds of 500, so that every mode meets the same neighbours: CPU µs per
 * selection, the median round of each, with the gates as the API wires them.
 */
async function alternating(s: Awaited<ReturnType<typeof setup>>, limit: number): Promise<void> {
  const rq = uniform(`bench-ads-alternating-${limit}`);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rq() * xs.length)]!;
  const body = () => ({ placementId: pick(s.placements), userId: `u_${Math.floor(rq() * USERS)}`, device: pick(['mobile', 'desktop', 'tablet']), country: pick(['US', 'GB', 'DE', 'IN']), count: 3, ...(rq() < 0.5 ? { category: pick(s.categories) } : {}) });
  const selectors: { mode: string; selector: ReturnType<typeof createAdSelector>; rounds: number[] }[] = [];
  for (const mode of cacheModes) {
    const create = mode === 'on' || mode === 'off' ? createAdSelector : (await import(resolve(mode)) as { createAdSelector: typeof createAdSelector }).createAdSelector;
    const selector = create({ ...s.deps, maxScoredCreatives: limit, pctrCacheMs: mode === 'off' ? 0 : 5_000 });
    await selector.refresh();
    selectors.push({ mode, selector, rounds: [] });
  }
  const round = async (selector: ReturnType<typeof createAdSelector>, n: number) => {
    let left = n;
    await Promise.all(Array.from({ length: 50 }, async () => { while (left-- > 0) await selector.select(body()); }));
  };
  for (const x of selectors) await round(x.selector, 1_000); // warm-up
  for (let r = 0; r < 12; r++) {
    for (const x of selectors) {
      const c0 = process.cpuUsage();
      await round(x.selector, 500);
      const cpu = process.cpuUsage(c0);
      x.rounds.push((cpu.user + cpu.system) / 500);
    }
  }
  for (const x of selectors) {
    const sorted = [...x.rounds].sort((a, b) => a - b);
    say(`  limit ${String(limit).padStart(3)}, ${x.mode === 'on' || x.mode === 'off' ? `pCTR cache ${x.mode}` : basename(x.mode)}, in process, 50 in flight, alternating rounds: median ${sorted[6]!.toFixed(0)} µs CPU per selection (rounds ${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)})   (load ${loadNow()})`);
  }
}

say(`load average before setup: ${loadNow()}`);
for (const shape of shapes) {
  const t = performance.now();
  const s = await setup(shape);
  say(`\n[${shape}${shape === 'mysql' ? ' + Redis' : ', no Redis'}] ${CAMPAIGNS} active campaigns set up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  try {
    // The peer: the same route and schemas answering a fixed selection.
    const fixed = await createAdSelector(s.deps).select({ placementId: s.placements[2]!, userId: 'u_1', device: 'mobile', country: 'US', count: 3 });
    const peer = await serve(() => fixed);
    let peerRun: { m: Run; one: Run } | null = null;
    try {
      peerRun = await measure(peer.url, s.placements, s.categories);
      say(`  peer (same route, fixed answer of ${fixed.results.length} ads): 50 conns ${fmt(peerRun.m)}; 1 conn ${fmt(peerRun.one)}   (load ${loadNow()})`);
      await openLoops('peer', peer.url, s.placements, s.categories);
    } finally {
      await peer.app.close();
    }
    for (const limit of limits) {
      if (cacheModes.length > 1) await alternating(s, limit);
      for (const mode of cacheModes) {
        const pctrCacheMs = mode === 'off' ? 0 : 5_000; // another module: with the cache
        const create = mode === 'on' || mode === 'off' ? createAdSelector : (await import(resolve(mode)) as { createAdSelector: typeof createAdSelector }).createAdSelector;
        // Stages, in process and one request at a time: the whole select, and the feature reads within it.
        let featureMs = 0;
        const timedFeatures = {
          ads: async (...a: Parameters<typeof s.deps.features.ads>) => { const t0 = performance.now(); const r = await s.deps.features.ads(...a); featureMs += performance.now() - t0; return r; },
          adsVisitors: async (...a: Parameters<typeof s.deps.features.adsVisitors>) => { const t0 = performance.now(); const r = await s.deps.features.adsVisitors(...a); featureMs += performance.now() - t0; return r; },
        };
        const tag = `limit ${String(limit).padStart(3)}, ${mode === 'on' || mode === 'off' ? `pCTR cache ${mode.padEnd(3)}` : basename(mode)}`;
        // CPU time of this process per selection (the clients' share of Redis and SQL included), with and without the gates.
        for (const gates of [true, false]) {
          const timed = create({ ...s.deps, maxScoredCreatives: limit, pctrCacheMs, features: timedFeatures, ...(gates ? {} : { budget: undefined, pacer: undefined }) });
          await timed.refresh();
          const rq = uniform(`bench-ads-stages-${limit}`);
          const body = () => ({ placementId: s.placements[Math.floor(rq() * s.placements.length)]!, userId: `u_${Math.floor(rq() * USERS)}`, device: pick(['mobile', 'desktop', 'tablet']), country: 'US', count: 3, ...(rq() < 0.5 ? { category: pick(s.categories) } : {}) });
          const pick = <T>(xs: readonly T[]) => xs[Math.floor(rq() * xs.length)]!;
          for (let i = 0; i < 300; i++) await timed.select(body());
          featureMs = 0;
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          for (let i = 0; i < 2000; i++) await timed.select(body());
          const cpu = process.cpuUsage(c0);
          say(`  ${tag}, in process${gates ? '' : ', no budget/pacing gates'}: select ${((performance.now() - t0) / 2000).toFixed(3)} ms wall (feature reads ${(featureMs / 2000).toFixed(3)} ms), ${((cpu.user + cpu.system) / 2000).toFixed(0)} µs CPU`);
        }

        const selector = create({ ...s.deps, maxScoredCreatives: limit, pctrCacheMs });
        await selector.refresh();
        const srv = await serve((b) => selector.select(b));
        try {
          // One debug answer: how many campaigns each rule left out.
          const dbg = await (await fetch(srv.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ placementId: s.placements[2], userId: 'u_0', device: 'mobile', country: 'US', count: 3, debug: true }) })).json() as { results: unknown[]; excluded: { rule: string }[] };
          const byRule: Record<string, number> = {};
          for (const e of dbg.excluded) byRule[e.rule] = (byRule[e.rule] ?? 0) + 1;
          say(`  ${tag}: a debug answer served ${dbg.results.length}, excluded ${JSON.stringify(byRule)}`);
          const r = await measure(srv.url, s.placements, s.categories, `${shape}-${limit}-${basename(mode)}`);
          const st = selector.pctrCacheStats?.() ?? { hits: 0, misses: 0 };
          const ratio = peerRun ? ` = ${(r.m.rps / peerRun.m.rps * 100).toFixed(0)}% of the peer's req/s` : '';
          say(`  ${tag}: 50 conns ${fmt(r.m)}${ratio} (median of 3 × ${seconds} s by p99; p99s ${r.runs.map((x) => x.p99Ms.toFixed(1)).join(', ')})`);
          say(`  ${' '.repeat(tag.length)}  1 conn   ${fmt(r.one)}; pCTRs cached ${st.hits}, scored ${st.misses}   (load ${loadNow()})`);
          await openLoops(tag, srv.url, s.placements, s.categories);
        } finally {
          await srv.app.close();
        }
      }
    }
  } finally {
    await s.cleanup();
  }
}
