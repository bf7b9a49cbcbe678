// Where one ranking of 200 candidates spends its time, stage by stage, in-process (no HTTP, one
// call at a time, so the figures are the CPU cost of each stage, not queueing): the online read,
// the pair features (with their reason texts), the whole feature assembly, the kernel, the
// explanations of the top 10, and the JSON the prediction log writes. Diagnostic for
// bench/scoring-rank.ts.
//   npm run bench -- bench/scoring-stages.ts [iterations, default 300] [candidates, default 200]
import { ConnectionGraph } from '../pipelines/features/definitions/connection-graph.js';
import { computePairFeatures, loadSkillIdf } from '../pipelines/features/definitions/matching-features.js';
import { featureSet } from '../pipelines/features/definitions/catalog.js';
import type { FeatureValues } from '../pipelines/features/feature-set.js';
import { readConnectionTimeline } from '../pipelines/datasets/dataset.repository.js';
import { loadConfig } from '../platform/config/load-config.js';
import { createLogger } from '../platform/logging/logger.js';
import { createPlatform } from '../platform/platform.js';
import { createAppServices } from '../services/api/app-services.js';
import { createFeatureAssembler, modelSets } from '../services/scoring/request-features.js';
import { REDIS_URL } from '../tests/helpers/test-env.js';
import { loadNow, setupScoring } from './scoring-lib.js';

const ITER = Number(process.argv[2] ?? 300);
const N = Number(process.argv[3] ?? 200);

const setup = await setupScoring();
const config = loadConfig({ env: {}, overrides: { 'database.url': setup.databaseUrl, 'redis.url': REDIS_URL, 'redis.prefix': setup.redisPrefix, 'data.dir': setup.dataDir } });
const platform = await createPlatform(config, { logger: createLogger({ level: 'warn' }) });
try {
  const services = createAppServices(config, platform);
  const m = setup.matching;
  const ids = setup.providerIds.slice(0, N);
  const assembler = createFeatureAssembler({ db: platform.db.db, online: services.online });
  const cached = createFeatureAssembler({ db: platform.db.db, online: services.online, entityCacheMs: 1_000 });
  const now = Date.now();
  const providerSets = [...modelSets(m)].filter((s) => s !== 'match_pair' && s !== 'job_profile');
  const reads = [...providerSets.map((s) => ({ set: featureSet(s), entityKeys: ids })), { set: featureSet('job_profile'), entityKeys: [setup.jobId] }];
  const ctx = { idf: await loadSkillIdf(platform.db.db, now), graph: new ConnectionGraph((await readConnectionTimeline(platform.db.db, now + 1)).map((e) => [e.a, e.b] as const), now), now };
  const first = await services.online.readMany(reads, now);
  const job = first.at(-1)![0]!.values;
  const profiles = first[providerSets.indexOf('provider_profile')]!.map((r) => r.values as FeatureValues);

  const stages: Record<string, () => unknown> = {
    [`online read (${providerSets.length} sets × ${N} + job)`]: () => services.online.readMany(reads, now),
    [`pair features × ${N} (values + reason texts)`]: () => { for (const p of profiles) computePairFeatures(p, job, ctx); },
    [`whole assembly (matching(): read + pairs + encode)`]: () => assembler.matching(m, { jobId: setup.jobId, inlineJob: null, providerIds: ids }),
    [`whole assembly, entity cache of 1 s (the server's default)`]: () => cached.matching(m, { jobId: setup.jobId, inlineJob: null, providerIds: ids }),
  };
  const a = await assembler.matching(m, { jobId: setup.jobId, inlineJob: null, providerIds: ids });
  const top = Int32Array.from({ length: 10 }, (_, i) => i);
  const rows10 = a.rows.slice(0, 10 * m.compiled.inputSize);
  Object.assign(stages, {
    [`kernel predict × ${N}`]: () => m.compiled.predict(a.rows, a.n),
    'explain top 10 (SHAP, top 5 contributions)': () => m.explainer.explain(rows10, 10, { topK: 5, rawValues: Array.from(top, (i) => a.rawAt(i)), reasons: Array.from(top, (i) => a.reasonsAt(i)) }),
    [`explain all ${N}`]: () => m.explainer.explain(a.rows, a.n, { topK: 5, rawValues: Array.from({ length: a.n }, (_, i) => a.rawAt(i)), reasons: Array.from({ length: a.n }, (_, i) => a.reasonsAt(i)) }),
    [`log entry JSON: candidates × ${N}`]: () => JSON.stringify(ids.map((id, i) => ({ id, score: 0.5, rank: i + 1 }))),
    [`log entry JSON: raw features × ${N} (before: every candidate's)`]: () => JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, a.rawAt(i)]))),
  });
  // What the served model makes of features computed as of now (the synthetic history ends earlier).
  const scores = Array.from(m.compiled.predict(a.rows, a.n)).sort((x, y) => x - y);
  const [ex] = m.explainer.explain(rows10, 1, { topK: 5, rawValues: [a.rawAt(0)], reasons: [a.reasonsAt(0)] });
  console.log(`scores of the ${N} candidates: min ${scores[0]!.toExponential(2)}, median ${scores[N >> 1]!.toExponential(2)}, max ${scores.at(-1)!.toExponential(2)}`);
  console.log(`candidate 1: logit ${ex!.logit.toFixed(1)} (base ${ex!.base.toFixed(2)}); largest contributions: ${ex!.contributions.map((c) => `${c.feature}=${JSON.stringify(c.value)} φ ${c.phi.toFixed(1)}`).join('; ')}`);
  console.log(`load average: ${loadNow()}; ${m.model} v${m.version}: ${m.columns.length} raw columns → ${m.compiled.inputSize} inputs; ${ITER} iterations each, one at a time`);
  for (const [label, run] of Object.entries(stages)) {
    for (let i = 0; i < 20; i++) await run(); // warm up
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < ITER; i++) {
      const t = performance.now();
      await run();
      times.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    times.sort((x, y) => x - y);
    console.log(`${label.padEnd(60)} p50 ${times[ITER >> 1]!.toFixed(2).padStart(6)} ms, p99 ${times[Math.floor(ITER * 0.99)]!.toFixed(2).padStart(6)} ms, CPU ${((cpu.user + cpu.system) / 1000 / ITER).toFixed(2).padStart(6)} ms/call`);
  }
} finally {
  await platform.lifecycle.stop();
  await setup.cleanup();
}
