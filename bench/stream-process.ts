// The features.stream processor alone (no HTTP, no queue): batches of 500 validated ad events
// counted in Redis and written online (Redis) and to the history (MySQL), N batches at a time,
// with the time split by stage. Shows the ceiling of the stream path next to bench/events-apply.ts.
//   npm run bench -- bench/stream-process.ts [batches, default 200] [concurrency, default 4]
import { Redis } from 'ioredis';
import { createStreamFeatures } from '../pipelines/features/stream/stream-features.job.js';
import { validateEvents } from '../pipelines/events/validate-events.js';
import { createDatabase } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createLogger } from '../platform/logging/logger.js';
import { createInlineQueue } from '../platform/queue/inline-queue.js';
import { adEvent, seedReferenceRows } from '../tests/fixtures/events-seed.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL, uniqueName } from '../tests/helpers/test-env.js';

const batches = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 4);
const SLOTS = 20;
const name = uniqueName('gi_bench');
const prefix = `gibench:${name}`;
const handle = createDatabase({ url: await createMysqlDatabase(name) });
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
try {
  await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
  await seedReferenceRows(handle.db, SLOTS);
  const log = createLogger({ level: 'silent' });
  const queue = createInlineQueue({ db: handle, log, defaults: { concurrency: 1, attempts: 1, backoffMs: 0, lockDurationMs: 30_000, pollIntervalMs: 1000 } });
  const { counters, writer } = createStreamFeatures({ db: handle.db, redis, prefix, queue, log });
  const now = Date.now();
  let n = 0;
  const jobs = Array.from({ length: batches }, () => validateEvents(Array.from({ length: 500 }, () => {
    const i = n++;
    return { ...adEvent(`e${i}`, i % 10 === 9 ? 'click' : 'impression', i, now - 60_000 + i % 60_000, SLOTS), ip: `10.0.${(i >> 8) & 255}.${i & 255}`.slice(0, 15) };
  }), now).accepted);
  const { streamEventOf } = await import('../pipelines/features/stream/window-counters.js');
  const stages = { count: 0, write: 0 };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) {
      const events = jobs[next++]!.map(streamEventOf);
      let t = performance.now();
      const { windows } = await counters.countAndRead(events); // what the job does: count and read back in one call
      stages.count += performance.now() - t; t = performance.now();
      await writer.write(windows, Date.now());
      stages.write += performance.now() - t;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const per = (ms: number) => `${(ms / batches).toFixed(1)} ms`;
  console.log(`features.stream on Redis + MySQL: ${n} events in ${s.toFixed(2)} s = ${Math.round(n / s)} events/s (${concurrency} batches at a time)`);
  console.log(`per batch of 500 (summed over concurrent batches): count + read back ${per(stages.count)}, write online + history ${per(stages.write)}; `
    + `this process's CPU ${per((cpu.user + cpu.system) / 1000)} (Redis and MySQL work in their own processes)`);
} finally {
  await handle.close();
  await dropMysqlDatabase(name);
  await deleteRedisKeys(prefix);
  redis.disconnect();
}
