// GET /healthz through the whole gigintel platform (helmet headers, request ids, correlation,
// rate limiting, metrics histogram, error handler, logging) against bare Fastify with one empty
// route, side by side in one run. Target: gigintel keeps at least 70% of bare Fastify.
// This machine's neighbours make throughput swing by ±40% from one 10 s window to the next, so
// the two servers alternate in short rounds and the figure is the median of the per-round ratios.
//   npm run bench -- bench/healthz.ts [seconds per round, default 5] [rounds, default 9]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, load, loadTool, median, start, stop, waitFor } from './bench-lib.js';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 9);
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-'));

const barePort = await freePort();
const giPort = await freePort();
const bare = start(process.execPath, ['bench/peers/bare-fastify.js', String(barePort)], cleanEnv({}));
const gi = start(process.execPath, ['bin/gigintel.js', 'serve', 'api', '--port', String(giPort)], cleanEnv({
  GIGINTEL_DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`,
  GIGINTEL_LOG_LEVEL: 'info',
}));
try {
  const bareUrl = `http://127.0.0.1:${barePort}/healthz`;
  const giUrl = `http://127.0.0.1:${giPort}/healthz`;
  await waitFor(bareUrl);
  await waitFor(giUrl);
  await load(bareUrl, 3); // warm up the JIT on both
  await load(giUrl, 3);

  const bareRps: number[] = [];
  const giRps: number[] = [];
  for (let i = 0; i < rounds; i++) { // alternate, so drift in machine load hits both alike
    bareRps.push(await load(bareUrl, seconds));
    giRps.push(await load(giUrl, seconds));
    console.log(`round ${i + 1}: bare ${bareRps.at(-1)!.toFixed(0)} req/s, gigintel ${giRps.at(-1)!.toFixed(0)} req/s (${(giRps.at(-1)! / bareRps.at(-1)! * 100).toFixed(0)}%)`);
  }
  const ratio = median(giRps.map((g, i) => g / bareRps[i]!));
  console.log(`\nGET /healthz, ${loadTool}, ${rounds} × ${seconds} s, 64 connections`);
  console.log(`bare Fastify:  ${median(bareRps).toFixed(0)} req/s (median)`);
  console.log(`gigintel:      ${median(giRps).toFixed(0)} req/s (median)`);
  console.log(`ratio:         ${(ratio * 100).toFixed(1)}% of bare Fastify, median of per-round ratios (target ≥ 70%) ${ratio >= 0.7 ? 'PASS' : 'MISS'}`);
} finally {
  await stop(bare);
  await stop(gi);
  rmSync(dir, { recursive: true, force: true });
}
