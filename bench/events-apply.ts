// The events.apply processor alone (no HTTP, no queue): batches of 500 validated ad events applied
// straight to a fresh MySQL database, N batches at a time. Shows the ceiling of the processor.
//   npm run bench -- bench/events-apply.ts [batches, default 200] [concurrency, default 4]
import { createDatabase } from '../platform/db/database.js';
import { createMigrationRunner, loadMigrationFiles } from '../platform/db/migrator.js';
import { createEventApplier } from '../pipelines/events/apply-events.job.js';
import { validateEvents } from '../pipelines/events/validate-events.js';
import { adEvent, SEED_AT, seedReferenceRows } from '../tests/fixtures/events-seed.js';
import { createMysqlDatabase, dropMysqlDatabase, uniqueName } from '../tests/helpers/test-env.js';

const batches = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 4);
const SLOTS = 20;
const name = uniqueName('gi_bench');
const handle = createDatabase({ url: await createMysqlDatabase(name) });
try {
  await createMigrationRunner(handle.db, await loadMigrationFiles()).up();
  await seedReferenceRows(handle.db, SLOTS);
  const applier = createEventApplier({ db: handle.db });
  let n = 0;
  const jobs = Array.from({ length: batches }, () => validateEvents(Array.from({ length: 500 }, () => {
    const i = n++;
    return adEvent(`e${i}`, i % 10 === 9 ? 'click' : 'impression', i, SEED_AT + i, SLOTS);
  }), Date.now()).accepted);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < jobs.length) await applier.apply(jobs[next++]!);
  }));
  const s = (performance.now() - t0) / 1000;
  console.log(`events.apply on MySQL: ${n} events in ${s.toFixed(2)} s = ${Math.round(n / s)} events/s (${concurrency} jobs at a time)`);
} finally {
  await handle.close();
  await dropMysqlDatabase(name);
}
