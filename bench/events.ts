// POST /v1/events through the distributed shape: `gigintel serve all` on MySQL (a fresh database)
// and Redis (a unique prefix), batches of 500 valid ad events (mostly impressions, some clicks)
// from a few concurrent clients for N seconds. Prints accepted events/s, and the queue depth every
// 5 s (GET /readyz checks.queue.waiting): flat means the processor keeps up. Target ≥ 30,000/s.
//   npm run bench -- bench/events.ts [seconds, default 60] [clients, default 4] [offered events/s, default unpaced] [queue concurrency] [stream: on|off, default on]
import { randomBytes } from 'node:crypto';
import { createDatabase } from '../platform/db/database.js';
import { seedReferenceRows, SEED_AT } from '../tests/fixtures/events-seed.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL as REDIS, uniqueName } from '../tests/helpers/test-env.js';
import { cleanEnv, createKey, eventPoster, freePort, start, stop, waitFor } from './bench-lib.js';

const seconds = Number(process.argv[2] ?? 60);
const clients = Number(process.argv[3] ?? 4);
// Offered load in events/s (0: as fast as the server answers). At a fixed rate the question is
// whether the processor keeps up: queue depth must stay flat.
const rate = Number(process.argv[4] ?? 0);
// Jobs each worker runs at once (GIGINTEL_QUEUE_CONCURRENCY; the service's default is 4).
const concurrency = process.argv[5] || undefined;
// Whether accepted batches are also queued for the stream feature processors (GIGINTEL_FEATURE_STREAM).
const stream = (process.argv[6] ?? 'on') !== 'off';
const BATCH = 500;
const SLOTS = 20;
const tag = uniqueName('gi_bench');
const prefix = `gibench:${tag}`;
const adminKey = `gi_bench_admin_${randomBytes(12).toString('hex')}`;

const databaseUrl = await createMysqlDatabase(tag);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = start(process.execPath, ['bin/gigintel.js', 'serve', 'all', '--port', String(port)], cleanEnv({
  GIGINTEL_DATABASE_URL: databaseUrl, GIGINTEL_REDIS_URL: REDIS, GIGINTEL_REDIS_PREFIX: prefix,
  GIGINTEL_ADMIN_KEY: adminKey, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_RATE_LIMIT_ENABLED: 'false',
  ...(concurrency ? { GIGINTEL_QUEUE_CONCURRENCY: concurrency } : {}),
  GIGINTEL_FEATURE_STREAM: String(stream),
  // No demo marketplace: the benchmark seeds only what its events reference.
  GIGINTEL_FEATURE_DEMO_SEED: 'false',
}));
const db = createDatabase({ url: databaseUrl });
try {
  await waitFor(`${base}/readyz`, 60_000); // migrated
  await seedReferenceRows(db.db, SLOTS);
  const key = await createKey(base, adminKey, ['ingest']);

  // Bodies are built as strings: the client should spend its CPU on sending, not on JSON.stringify.
  let seq = 0;
  const body = (): string => {
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = seq++;
      const s = n % SLOTS;
      const type = n % 10 === 9 ? 'click' : 'impression';
      parts.push(`{"event_id":"b${n}","type":"${type}","event_at":${SEED_AT + n},"campaign_id":"cmp${s}","creative_id":"cr${s}","placement_id":"pl${s}","user_id":"u${n % 9973}","ip":"10.0.${(n >> 8) & 255}.${n & 255}","device":"${n % 3 ? 'mobile' : 'desktop'}"}`);
    }
    return `{"events":[${parts.join(',')}]}`;
  };
  const post = eventPoster(base, key, body);
  for (let i = 0; i < 10; i++) await post(); // warm up the JIT
  const depth = async () => {
    const r = await (await fetch(`${base}/readyz`)).json() as { checks?: { queue?: { waiting?: number } } };
    return r.checks?.queue?.waiting ?? -1;
  };
  const receipts = async () => Number((await db.db.selectFrom('event_receipt' as never).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  let accepted = 0;
  let requests = 0;
  const startedAt = performance.now();
  const until = startedAt + seconds * 1000;
  const received0 = await receipts();
  const samples: string[] = [];
  const sampler = setInterval(() => {
    void depth().then((d) => {
      const line = `t=${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s  accepted ${accepted}  queue waiting ${d} jobs`;
      samples.push(line);
      console.log(line);
    });
  }, 5_000);
  const interval = rate > 0 ? (clients * BATCH * 1000) / rate : 0; // ms between one client's requests
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    let next = performance.now() + (interval * i) / clients;
    while (performance.now() < until) {
      if (interval > 0) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        next += interval;
      }
      const n = await post(); // not `accepted += await post()`: that reads accepted before the await
      accepted += n;
      requests++;
    }
  }));
  clearInterval(sampler);
  const elapsed = (performance.now() - startedAt) / 1000;
  const appliedDuring = await receipts() - received0;
  const waitingAtEnd = await depth();
  console.log(`\nPOST /v1/events, ${clients} clients × ${seconds} s, ${BATCH} events per request, ${rate > 0 ? `offered ${rate} events/s` : 'unpaced'}, MySQL + Redis (BullMQ), one \`serve all\` process, stream feature processors ${stream ? 'on' : 'off'}`);
  const acceptedRate = accepted / elapsed;
  // Unpaced, the figure is capacity (target ≥ 30,000/s); paced, it is whether the processor keeps up.
  const verdict = rate > 0
    ? `offered ${rate}/s; queue ${waitingAtEndOf(samples)} (target: flat)`
    : `target ≥ 30000 ${acceptedRate >= 30_000 ? 'PASS' : 'MISS'}`;
  console.log(`accepted: ${acceptedRate.toFixed(0)} events/s (${requests} requests, ${(requests / elapsed).toFixed(1)} req/s) — ${verdict}`);
  console.log(`applied while loading: ${(appliedDuring / elapsed).toFixed(0)} events/s; queue waiting at the end: ${waitingAtEnd} jobs`);
  // Drain: how long the processor needs for the backlog once the load stops.
  const drainStart = performance.now();
  while (performance.now() - drainStart < 120_000 && (await receipts()) - received0 < accepted) await new Promise((r) => setTimeout(r, 500));
  const applied = await receipts() - received0;
  console.log(`drained: ${applied} of ${accepted} applied ${((performance.now() - drainStart) / 1000).toFixed(1)} s after the load stopped`);
} finally {
  await stop(server);
  await db.close();
  await dropMysqlDatabase(tag);
  await deleteRedisKeys(prefix);
}

/** "flat" when the last depth sample is within 20% (or 50 jobs) of the second one, else "growing". */
function waitingAtEndOf(samples: string[]): string {
  const depths = samples.map((l) => Number(/queue waiting (\d+)/.exec(l)?.[1] ?? NaN)).filter(Number.isFinite);
  if (depths.length < 3) return 'not sampled long enough';
  const [early, last] = [depths[1]!, depths.at(-1)!];
  return last <= Math.max(early * 1.2, early + 50) ? `flat (${early} → ${last} jobs)` : `growing (${early} → ${last} jobs)`;
}
