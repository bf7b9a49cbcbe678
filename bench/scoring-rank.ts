// POST /v1/match/rank with 200 given candidates (features read from the Redis online store, pair
// features computed per request), top 10, at 50 concurrent connections for N seconds: p50/p99
// latency and req/s, with explanations (exact SHAP of the 10 returned) and without, alternating in
// rounds; plus explanations of all 200 (k = 200) for comparison. `gigintel serve scoring` on MySQL
// + Redis, twice: prediction logging on (the default) and off; rate limiting off. Also measures
// one request at a time (the service time, free of queueing behind the other 49 connections).
// Target: p99 < 15 ms with explanations.
//   npm run bench -- bench/scoring-rank.ts [seconds per round, default 10] [rounds, default 3] [connections, default 50]
import { median } from './bench-lib.js';
import { fmt, loadNow, peakRssMb, rankBody, rssMb, setupScoring, startScoringServer, stop, wrkPost, type LoadResult } from './scoring-lib.js';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 3);
const connections = Number(process.argv[4] ?? 50);
const CANDIDATES = 200;
// wrk stops sending at the end of a run, but the server still works through the requests already
// read from its 50 connections (and its logging backlog): let that finish before the next run.
const settle = () => new Promise((r) => setTimeout(r, 3_000));

console.log(`load average before setup: ${loadNow()}`);
const setup = await setupScoring();
try {
  const bodies = [
    { label: 'explain, top 10', body: rankBody(setup, CANDIDATES, true) },
    { label: 'no explain, top 10', body: rankBody(setup, CANDIDATES, false) },
    { label: 'explain all 200', body: rankBody(setup, CANDIDATES, true, CANDIDATES) },
  ];
  console.log(`prediction log entry of one ranking with explanations: the raw features of all ${CANDIDATES} candidates, ${(setup.rankLogFeatureBytes / 1024).toFixed(0)} KB of JSON`);
  // Logging on (the default), then off: one server at a time, since a server with a logging
  // backlog keeps working after its load stops and would slow the next one down.
  const summary: string[] = [];
  let p99Explain = NaN;
  for (const log of ['on', 'off'] as const) {
    const server = await startScoringServer(setup, log === 'on' ? {} : { GIGINTEL_SCORING_LOG_PREDICTIONS: 'false' });
    try {
      const url = `${server.base}/v1/match/rank`;
      console.log(`\nprediction log ${log}: RSS after start ${rssMb(server.pid).toFixed(0)} MB`);
      const check = await fetch(url, { method: 'POST', body: bodies[0]!.body, headers: { 'content-type': 'application/json', authorization: `Bearer ${setup.key}` } });
      const answer = await check.json() as { candidates: { considered: number }; results: { explanation?: unknown }[] };
      if (!check.ok || answer.candidates.considered !== CANDIDATES || !answer.results[0]?.explanation) throw new Error(`unexpected answer: ${check.status} ${JSON.stringify(answer).slice(0, 300)}`);
      for (const b of bodies) wrkPost(url, b.body, 2, connections, setup.key); // warm up the JIT and the context caches
      console.log(`load average before measuring: ${loadNow()}`);
      const results = bodies.map((): LoadResult[] => []);
      const single = bodies.map((): LoadResult[] => []);
      for (let r = 0; r < rounds; r++) {
        for (const [i, b] of bodies.entries()) {
          await settle();
          results[i]!.push(wrkPost(url, b.body, seconds, connections, setup.key));
          await settle();
          single[i]!.push(wrkPost(url, b.body, Math.max(2, seconds / 2), 1, setup.key));
          console.log(`round ${r + 1}: ${b.label.padEnd(20)} ${connections} conns: ${fmt(results[i]![r]!)} | 1 conn: ${fmt(single[i]![r]!)} (load ${loadNow()}, RSS ${rssMb(server.pid).toFixed(0)} MB)`);
        }
      }
      const mid = (xs: LoadResult[]) => [...xs].sort((x, y) => x.p99Ms - y.p99Ms)[xs.length >> 1]!;
      for (const [i, b] of bodies.entries()) {
        summary.push(`  ${`${b.label} (log ${log})`.padEnd(28)} ${String(connections).padStart(2)} conns: ${fmt(mid(results[i]!))}; req/s median ${median(results[i]!.map((x) => x.rps)).toFixed(0)}`);
        summary.push(`  ${''.padEnd(28)}  1 conn:  ${fmt(mid(single[i]!))}`);
      }
      if (log === 'on') p99Explain = mid(results[0]!).p99Ms;
      summary.push(`  RSS after load (log ${log}): ${rssMb(server.pid).toFixed(0)} MB (peak ${peakRssMb(server.pid).toFixed(0)} MB)`);
    } finally {
      await stop(server.child);
    }
  }
  console.log(`\nPOST /v1/match/rank, ${CANDIDATES} given candidates, wrk -t1, ${rounds} × ${seconds} s; the round with the median p99:`);
  for (const line of summary) console.log(line);
  console.log(`p99 with explanations at ${connections} connections (log on): ${p99Explain.toFixed(2)} ms (target < 15 ms) ${p99Explain < 15 ? 'PASS' : 'MISS'}`);
} finally {
  await setup.cleanup();
}
