// The streaming pipeline under load: `gigintel serve all` on MySQL (a fresh database) and Redis
// (a unique prefix), POST /v1/events offered at a fixed rate in batches of 500 (mostly
// impressions, 10% clicks, event time = send time) for N seconds. Every batch feeds both
// events.apply and features.stream. Prints the stream lag histogram's p50 / p99 over the load
// (gigintel_feature_stream_lag_seconds from /metrics: event time → online write) and the queue
// depth of both jobs every 5 s (flat means the processors keep up). Target: p99 < 2 s at 10,000/s.
//   npm run bench -- bench/stream.ts [seconds, default 60] [offered events/s, default 10000] [clients, default 4]
import { randomBytes } from 'node:crypto';
import { createDatabase } from '../platform/db/database.js';
import { STREAM_LAG_METRIC } from '../pipelines/features/stream/stream-metrics.js';
import { seedReferenceRows } from '../tests/fixtures/events-seed.js';
import { createMysqlDatabase, deleteRedisKeys, dropMysqlDatabase, REDIS_URL as REDIS, uniqueName } from '../tests/helpers/test-env.js';
import { cleanEnv, createKey, eventPoster, freePort, start, stop, waitFor } from './bench-lib.js';

const seconds = Number(process.argv[2] ?? 60);
const rate = Number(process.argv[3] ?? 10_000);
const clients = Number(process.argv[4] ?? 4);
const BATCH = 500;
const SLOTS = 20;
const IPS = 2_000;
const tag = uniqueName('gi_bench');
const prefix = `gibench:${tag}`;
const adminKey = `gi_bench_admin_${randomBytes(12).toString('hex')}`;
const metricsToken = randomBytes(16).toString('hex');

const databaseUrl = await createMysqlDatabase(tag);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = start(process.execPath, ['bin/gigintel.js', 'serve', 'all', '--port', String(port)], cleanEnv({
  GIGINTEL_DATABASE_URL: databaseUrl, GIGINTEL_REDIS_URL: REDIS, GIGINTEL_REDIS_PREFIX: prefix,
  GIGINTEL_ADMIN_KEY: adminKey, GIGINTEL_LOG_LEVEL: 'warn', GIGINTEL_RATE_LIMIT_ENABLED: 'false',
  GIGINTEL_FEATURE_DEMO_SEED: 'false', GIGINTEL_METRICS_TOKEN: metricsToken,
}));
const db = createDatabase({ url: databaseUrl });

interface Histogram { buckets: [number, number][]; count: number; sum: number }

/** The lag histogram (cumulative buckets) and per-job waiting counts, from one /metrics scrape. */
async function scrape(): Promise<{ lag: Histogram; waiting: Record<string, number> }> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const lag: Histogram = { buckets: [], count: 0, sum: 0 };
  const waiting: Record<string, number> = {};
  for (const line of text.split('\n')) {
    let m = new RegExp(`^${STREAM_LAG_METRIC}_bucket\\{le="([^"]+)"\\} (\\S+)`).exec(line);
    if (m) { lag.buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]); continue; }
    m = new RegExp(`^${STREAM_LAG_METRIC}_(count|sum) (\\S+)`).exec(line);
    if (m) { lag[m[1] as 'count' | 'sum'] = Number(m[2]); continue; }
    m = /^gigintel_queue_jobs\{job="([^"]+)",state="waiting"\} (\S+)/.exec(line);
    if (m) waiting[m[1]!] = Number(m[2]);
  }
  return { lag, waiting };
}

/** Quantile of the difference of two cumulative histograms, interpolated linearly inside a bucket (as Prometheus does). */
function quantile(q: number, after: Histogram, before: Histogram): number {
  const counts = after.buckets.map(([le, n], i) => [le, n - (before.buckets[i]?.[1] ?? 0)] as const);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of counts) {
    if (n >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(1, n - prevN);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}

try {
  await waitFor(`${base}/readyz`, 60_000);
  await seedReferenceRows(db.db, SLOTS);
  const key = await createKey(base, adminKey, ['ingest']);

  let seq = 0;
  const body = (): string => {
    const now = Date.now();
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = seq++;
      const s = n % SLOTS;
      const type = n % 10 === 9 ? 'click' : 'impression';
      const ip = n % IPS;
      parts.push(`{"event_id":"s${n}","type":"${type}","event_at":${now - (n % 50)},"campaign_id":"cmp${s}","creative_id":"cr${s}","placement_id":"pl${s}","user_id":"u${n % 9973}","ip":"10.1.${ip >> 8}.${ip & 255}","device":"${n % 3 ? 'mobile' : 'desktop'}"}`);
    }
    return `{"events":[${parts.join(',')}]}`;
  };
  const post = eventPoster(base, key, body);
  for (let i = 0; i < 10; i++) await post(); // warm up the JIT and the script cache
  await new Promise((r) => setTimeout(r, 3_000));

  const before = await scrape();
  let accepted = 0;
  const startedAt = performance.now();
  const until = startedAt + seconds * 1000;
  const depths: { apply: number; stream: number }[] = [];
  const sampler = setInterval(() => {
    void scrape().then(({ waiting, lag }) => {
      const d = { apply: waiting['events.apply'] ?? -1, stream: waiting['features.stream'] ?? -1 };
      depths.push(d);
      console.log(`t=${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s  accepted ${accepted}  waiting: events.apply ${d.apply}, features.stream ${d.stream}  lag p99 so far ${quantile(0.99, lag, before.lag).toFixed(2)} s`);
    });
  }, 5_000);
  const interval = (clients * BATCH * 1000) / rate; // ms between one client's requests
  await Promise.all(Array.from({ length: clients }, async (_, i) => {
    let next = performance.now() + (interval * i) / clients;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
      next += interval;
      const n = await post();
      accepted += n;
    }
  }));
  clearInterval(sampler);
  const elapsed = (performance.now() - startedAt) / 1000;
  const end = await scrape();

  // Drain what is queued, so the histogram holds every event sent during the load.
  const drainStart = performance.now();
  let drained = end;
  while (performance.now() - drainStart < 120_000) {
    drained = await scrape();
    if (drained.lag.count - before.lag.count >= accepted) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const drainSecs = (performance.now() - drainStart) / 1000;

  // Flat: the last third of the samples averages no more than the first third plus 20 jobs (or 20%).
  const flat = (xs: number[]) => {
    if (xs.length < 3) return 'not sampled long enough';
    const third = Math.max(1, Math.floor(xs.length / 3));
    const avg = (ys: number[]) => ys.reduce((a, b) => a + b, 0) / ys.length;
    const [early, late] = [avg(xs.slice(0, third)), avg(xs.slice(-third))];
    return `${late <= Math.max(early * 1.2, early + 20) ? 'flat' : 'growing'} (${xs.join(' → ')} jobs)`;
  };
  console.log(`\nstreaming pipeline: POST /v1/events at ${rate} events/s offered (${clients} clients, ${BATCH} per request, 90% impressions / 10% clicks, ${SLOTS} creatives, ${IPS} IPs) for ${seconds} s; MySQL + Redis, one \`serve all\` process`);
  console.log(`accepted: ${(accepted / elapsed).toFixed(0)} events/s (${accepted} events)`);
  console.log(`queue waiting, events.apply: ${flat(depths.map((d) => d.apply))}`);
  console.log(`queue waiting, features.stream: ${flat(depths.map((d) => d.stream))}`);
  const p50 = quantile(0.5, end.lag, before.lag);
  const p99 = quantile(0.99, end.lag, before.lag);
  console.log(`stream lag while loading (${end.lag.count - before.lag.count} events): p50 ${p50.toFixed(3)} s, p99 ${p99.toFixed(3)} s, mean ${((end.lag.sum - before.lag.sum) / Math.max(1, end.lag.count - before.lag.count)).toFixed(3)} s — target p99 < 2 s ${p99 < 2 ? 'PASS' : 'MISS'}`);
  console.log(`after draining (${drained.lag.count - before.lag.count} of ${accepted} events written online, ${drainSecs.toFixed(1)} s after the load stopped): p50 ${quantile(0.5, drained.lag, before.lag).toFixed(3)} s, p99 ${quantile(0.99, drained.lag, before.lag).toFixed(3)} s`);
} finally {
  await stop(server);
  await db.close();
  await dropMysqlDatabase(tag);
  await deleteRedisKeys(prefix);
}
