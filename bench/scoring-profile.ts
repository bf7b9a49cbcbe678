// Where the scoring server's time goes under load: `gigintel serve scoring` started with
// `node --cpu-prof`, driven by wrk for N seconds on one endpoint, stopped (the profile is written
// at exit), and the top self-time functions printed, with inclusive shares for the main suspects.
//   npm run bench -- bench/scoring-profile.ts [score|rank|rank-explain] [seconds, default 10] [connections, default 50] [log on|off]
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, loadNow, profileTop, rankBody, setupScoring, startScoringServer, stop, wrkPost } from './scoring-lib.js';

const what = (process.argv[2] ?? 'score') as 'score' | 'rank' | 'rank-explain';
const seconds = Number(process.argv[3] ?? 10);
const connections = Number(process.argv[4] ?? 50);
const log = (process.argv[5] ?? 'on') === 'on';

const setup = await setupScoring();
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-prof-'));
try {
  const server = await startScoringServer(setup, log ? {} : { GIGINTEL_SCORING_LOG_PREDICTIONS: 'false' }, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const url = `${server.base}/v1/match/${what === 'score' ? 'score' : 'rank'}`;
  const body = what === 'score' ? JSON.stringify({ pairs: [{ features: setup.pairFeatures }] }) : rankBody(setup, 200, what === 'rank-explain');
  wrkPost(url, body, 3, connections, setup.key); // warm-up, in the profile too (small against the run)
  console.log(`load average: ${loadNow()}`);
  console.log(`${what}, prediction log ${log ? 'on' : 'off'}: ${fmt(wrkPost(url, body, seconds, connections, setup.key))}`);
  await stop(server.child);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  const kept = join(tmpdir(), `gigintel-scoring-${what}-log-${log ? 'on' : 'off'}.cpuprofile`);
  copyFileSync(join(dir, file), kept);
  console.log(`profile kept in ${kept} (open in Chrome DevTools → Performance)`);
  for (const line of profileTop(join(dir, file), 30, {
    '(idle)': /^\(idle\) /, '(garbage collector)': /^\(garbage collector\) /,
    'writev/write (socket out)': /^(writev|writeGeneric|writeBuffer|_writeGeneric|writevGeneric) /,
    'TypeBox body validation (Check/Compile)': /typebox/i,
    'response serialisation (fast-json-stringify)': /fast-json-stringify|serialize/i,
    'prediction log (record/flush/enqueue)': /prediction-log|bullmq/i,
    'ioredis': /ioredis/,
    'online store read': /online-store/,
    'feature assembly (request-features)': /request-features|encode-table/,
    'explanations': /scoring\/explain\//,
    'pino logging': /pino/,
    'sha256 (createHash)': /^(createHash|digest|update|Hash) /,
    'random ids (randomBytes)': /^(randomBytes|randomFillSync) /,
    'scoring service use case (scoreMatch/rankMatch)': /^(scoreMatch|rankMatch) /,
    'auth preHandler (API key)': /api-key|auth\//,
    'prom-client metrics': /prom-client/,
    'body parsing (secure-json-parse)': /secure-json-parse/,
  })) console.log(line);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await setup.cleanup();
}
