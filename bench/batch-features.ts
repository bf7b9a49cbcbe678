// The full batch feature run at benchmark scale: a fresh MySQL database seeded with N providers
// and M jobs (seeding not timed), then `pipeline run features --full` with this process working
// the queue (BullMQ on Redis, Redis online store: the distributed shape), timed from planning to
// the run's success. Target: 100,000 providers + 20,000 jobs in under 30 s.
//   npm run bench -- bench/batch-features.ts [providers=100000] [jobs=20000] [events=300000] [concurrency=4]
import { createFeaturePipeline, featurePipelineJobs } from '../pipelines/features/batch/feature-pipeline.service.js';
import { FEATURE_SETS } from '../pipelines/features/definitions/catalog.js';
import { createOnlineStore } from '../pipelines/features/store/create-online-store.js';
import { seedMarketplace } from '../pipelines/synthetic/seed-marketplace.js';
import { loadConfig } from '../platform/config/load-config.js';
import { createLogger } from '../platform/logging/logger.js';
import { createPlatform } from '../platform/platform.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';

const [providers = 100_000, jobs = 20_000, events = 300_000, concurrency = 4] = process.argv.slice(2, 6).map(Number);
const name = uniqueName('gi_bench');
const prefix = `gibench:${name}`;
const url = await createMysqlDatabase(name);
const config = loadConfig({ env: {}, overrides: { 'database.url': url, 'redis.url': REDIS_URL, 'redis.prefix': prefix, 'queue.concurrency': concurrency, 'pipeline.chunkSize': 2_000, 'database.poolSize': 16 } });
const platform = await createPlatform(config, { logger: createLogger({ level: 'warn' }) });
try {
  let t = performance.now();
  await seedMarketplace(platform.db.db, { providers, jobs, events, days: 30, seed: 'bench' });
  process.stdout.write(`seeded ${providers} providers, ${jobs} jobs, ~${events} events in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed)\n`);
  const online = createOnlineStore({ db: platform.db.db, redis: platform.redis, prefix, sets: FEATURE_SETS });
  const pipeline = createFeaturePipeline({ db: platform.db.db, queue: platform.queue, online, log: platform.log, chunkSize: config.pipeline.chunkSize });
  for (const job of featurePipelineJobs(pipeline)) platform.queue.register(job);
  await platform.queue.startWorkers();
  t = performance.now();
  const planned = await pipeline.start({ trigger: 'cli', requestedBy: 'bench', full: true });
  const planMs = performance.now() - t;
  let run = planned;
  while (run.status !== 'succeeded' && run.status !== 'failed') {
    await new Promise((r) => setTimeout(r, 100));
    run = await pipeline.get(planned.id);
  }
  const s = (performance.now() - t) / 1000;
  process.stdout.write(`full batch run: ${run.status} in ${s.toFixed(1)} s (planning ${(planMs / 1000).toFixed(1)} s), ${run.chunksTotal} chunks, ${run.entities} entities, ${run.rowsWritten} rows (${Math.round(run.rowsWritten / s)} rows/s), ${concurrency} chunks at a time\n`);
  for (const fs of run.featureSets) process.stdout.write(`  ${fs.name.padEnd(18)} ${String(fs.entities).padStart(7)} entities\n`);
  process.stdout.write(`target: 100,000 providers + 20,000 jobs under 30 s\n`);
  if (run.status === 'failed') process.stdout.write(`error: ${run.error}\n`);
} finally {
  await platform.lifecycle.stop();
  await dropMysqlDatabase(name);
  await deleteRedisKeys(prefix);
}
