// Ad selection with 2,000 active campaigns (created here, ~2 creatives each, over the seeded
// marketplace's categories; the seeded campaigns paused): a minimal Fastify app whose
// POST /v1/ads/select calls the selector, driven by wrk at 50 connections (and at one) with a
// body per request (random user of 5,000, device, country, browsed category on half), so the
// frequency caps (one user in five has impressions recorded) and placement rules do real work.
// Deployment shapes: MySQL + Redis (caps and online features in Redis) and SQLite without Redis.
// The ads-ctr model is a logistic model over the scoring fixtures' ads encoding reading the
// stored 24 h creative CTR (written here for every creative), not a trained one: the bench
// measures selection, not model quality. Candidate limits (creatives scored per request) vary.
//   npm run bench -- bench/ads-select.ts [seconds per run, default 8] [shapes: mysql,sqlite] [limits: 200,50]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { serialiseArtifact } from '../model-registry/artifact.js';
import { WINDOWED_SETS } from '../pipelines/features/definitions/window-inputs.js';
import { createOnlineStore } from '../pipelines/features/store/create-online-store.js';
import { uniform } from '../pipelines/synthetic/random.js';
import { seedMarketplace } from '../pipelines/synthetic/seed-marketplace.js';
import { createDatabase, type DatabaseHandle } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createAdSelector } from '../services/scoring/ads/selection/ad-selector.js';
import { prepareModel } from '../services/scoring/model-store.js';
import { createFeatureAssembler } from '../services/scoring/request-features.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';
import { adsEncoding, logisticOver } from '../tests/services/scoring/scoring-fixtures.js';
import { freePort } from './bench-lib.js';

const seconds = Number(process.argv[2] ?? 8);
const shapes = (process.argv[3] ?? 'mysql,sqlite').split(',') as ('mysql' | 'sqlite')[];
const limits = (process.argv[4] ?? '200,50').split(',').map(Number);
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

interface Run { rps: number; p50Ms: number; p99Ms: number; non2xx: number }

function wrk(url: string, connections: number, secs: number, placements: string[], categories: string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'gigintel-wrk-ads-'));
  writeFileSync(join(dir, 'select.lua'), LUA);
  // Asynchronous: the server under test runs in this process.
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
      resolve({ rps, p50Ms: num(/P50_US (\d+)/) / 1000, p99Ms: num(/P99_US (\d+)/) / 1000, non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0 });
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
  const servable = logisticOver(adsEncoding(), 'bench-ads-select');
  const d = servable.featureNames.length;
  Object.assign(servable, { means: Array(d).fill(0), stds: Array(d).fill(1), intercept: -4, coef: servable.featureNames.map((f) => (f === 'creative_ctr__ctr_24h' ? 30 : 0)) });
  const art = serialiseArtifact(servable);
  const model = prepareModel('ads-ctr', 'champion', { version: 1, algorithm: 'logistic', featureSets: [] }, art.bytes, art.sha256);
  const features = createFeatureAssembler({ db, online });
  const deps = { db, redis, prefix, store: { get: () => model }, features, tokenSecret: 'bench-secret', random: uniform('bench-ads-random') };

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
say(`load average before setup: ${loadNow()}`);
for (const shape of shapes) {
  const t = performance.now();
  const s = await setup(shape);
  say(`\n[${shape}${shape === 'mysql' ? ' + Redis' : ', no Redis'}] ${CAMPAIGNS} active campaigns set up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  try {
    for (const limit of limits) {
      // Stages, in process and one request at a time: the whole select, and the feature read within it.
      let featureMs = 0;
      const timed = createAdSelector({ ...s.deps, maxScoredCreatives: limit, features: { ads: async (m, q) => { const t0 = performance.now(); const a = await s.deps.features.ads(m, q); featureMs += performance.now() - t0; return a; } } });
      await timed.refresh();
      const rq = uniform(`bench-ads-stages-${limit}`);
      const body = () => ({ placementId: s.placements[Math.floor(rq() * s.placements.length)]!, userId: `u_${Math.floor(rq() * USERS)}`, device: 'mobile', country: 'US', count: 3 });
      for (let i = 0; i < 100; i++) await timed.select(body());
      featureMs = 0;
      const t0 = performance.now();
      for (let i = 0; i < 300; i++) await timed.select(body());
      say(`  limit ${limit} creatives, in process: select ${((performance.now() - t0) / 300).toFixed(2)} ms, of which features.ads ${(featureMs / 300).toFixed(2)} ms`);

      const selector = createAdSelector({ ...s.deps, maxScoredCreatives: limit });
      await selector.refresh();
      const app = Fastify({ logger: false });
      app.post('/v1/ads/select', async (req) => selector.select(req.body as Parameters<typeof selector.select>[0]));
      const port = await freePort();
      await app.listen({ port, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${port}/v1/ads/select`;
      try {
        // One debug answer: how many campaigns each rule left out.
        const dbg = await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ placementId: s.placements[2], userId: 'u_0', device: 'mobile', country: 'US', count: 3, debug: true }) })).json() as { results: unknown[]; excluded: { rule: string }[] };
        const byRule: Record<string, number> = {};
        for (const e of dbg.excluded) byRule[e.rule] = (byRule[e.rule] ?? 0) + 1;
        say(`  limit ${limit} creatives: a debug answer served ${dbg.results.length}, excluded ${JSON.stringify(byRule)}`);
        await wrk(url, 50, 3, s.placements, s.categories); // warm-up
        const runs: Run[] = [];
        for (let i = 0; i < 3; i++) runs.push(await wrk(url, 50, seconds, s.placements, s.categories));
        runs.sort((a, b) => a.p99Ms - b.p99Ms);
        const m = runs[1]!;
        const one = await wrk(url, 1, seconds, s.placements, s.categories);
        say(`  limit ${String(limit).padStart(3)}: 50 conns ${m.rps.toFixed(0)} req/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms (median of 3 × ${seconds} s by p99; p99s ${runs.map((x) => x.p99Ms.toFixed(1)).join(', ')})${m.non2xx ? `, ${m.non2xx} non-2xx` : ''}`);
        say(`             1 conn   ${one.rps.toFixed(0)} req/s, p50 ${one.p50Ms.toFixed(2)} ms, p99 ${one.p99Ms.toFixed(2)} ms${one.non2xx ? `, ${one.non2xx} non-2xx` : ''}   (load ${loadNow()})`);
      } finally {
        await app.close();
      }
    }
  } finally {
    await s.cleanup();
  }
}
