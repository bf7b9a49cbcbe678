// CPU per request of POST /v1/match/score (one pair with inline features) under wrk: the server
// process's user + system time (all its threads, from /proc) over each round, divided by the
// requests wrk counted. On a shared box this is steadier than req/s: other processes take wall
// time, not the server's CPU time. Bare Fastify taking the same body is measured the same way.
// With --before <dir> (another checkout, e.g. `git archive HEAD | tar -x -C <dir>` plus a
// node_modules link) its server runs beside this one's, in alternating rounds, for a before/after
// in one run.
// --env K=V (repeatable) adds a gigintel server (log on) with that setting, e.g. GIGINTEL_LOG_LEVEL=warn.
//   npm run bench -- bench/scoring-cpu.ts [seconds per round, default 5] [rounds, default 3] [connections, default 50] [--before <dir>] [--env K=V]
import { median, start, stop, freePort, cleanEnv, waitFor } from './bench-lib.js';
import { cpuSeconds, loadNow, setupScoring, startScoringServer, wrkPost } from './scoring-lib.js';

const argv = process.argv.slice(2);
const option = (name: string): string[] => {
  const found: string[] = [];
  for (let i = argv.indexOf(name); i >= 0; i = argv.indexOf(name)) found.push(...argv.splice(i, 2).slice(1));
  return found;
};
const before = option('--before')[0];
const variants = option('--env'); // extra gigintel servers (log on) with one setting each, e.g. GIGINTEL_LOG_LEVEL=warn
const seconds = Number(argv[0] ?? 5);
const rounds = Number(argv[1] ?? 3);
const connections = Number(argv[2] ?? 50);

const setup = await setupScoring();
const servers: { stop(): Promise<void> }[] = [];
try {
  const body = JSON.stringify({ pairs: [{ features: setup.pairFeatures }] });
  const contenders: { label: string; url: string; key: string; pid: number }[] = [];
  const barePort = await freePort();
  const bare = start(process.execPath, ['bench/peers/scoring-bare-fastify.js', String(barePort)], cleanEnv({}));
  servers.push({ stop: () => stop(bare) });
  await waitFor(`http://127.0.0.1:${barePort}/healthz`);
  contenders.push({ label: 'bare Fastify', url: `http://127.0.0.1:${barePort}/v1/match/score`, key: '', pid: bare.pid! });
  const gigintel = async (label: string, env: Record<string, string>, root?: string) => {
    const s = await startScoringServer(setup, env, [], root);
    servers.push({ stop: () => stop(s.child) });
    contenders.push({ label, url: `${s.base}/v1/match/score`, key: setup.key, pid: s.pid });
  };
  const OFF = { GIGINTEL_SCORING_LOG_PREDICTIONS: 'false' };
  if (before) {
    await gigintel('before (log on)', {}, before);
    await gigintel('before (log off)', OFF, before);
  }
  await gigintel('gigintel (log on)', {});
  await gigintel('gigintel (log off)', OFF);
  for (const v of variants) {
    const [k, ...rest] = v.split('=');
    await gigintel(`gigintel ${v.replace(/^GIGINTEL_/, '')}`, { [k!]: rest.join('=') });
  }

  // Warm up the JIT: gigintel's CPU per request keeps falling for several seconds of load.
  for (const c of contenders) wrkPost(c.url, body, 10, connections, c.key);
  console.log(`load average before measuring: ${loadNow()}`);
  const us = contenders.map((): number[] => []);
  const rps = contenders.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of contenders.entries()) {
      const cpu0 = cpuSeconds(c.pid);
      const res = wrkPost(c.url, body, seconds, connections, c.key);
      const cpu = cpuSeconds(c.pid) - cpu0;
      if (res.non2xx || res.errors) throw new Error(`${c.label}: ${res.non2xx} non-2xx, ${res.errors} socket errors`);
      us[i]!.push(cpu / res.requests * 1e6);
      rps[i]!.push(res.rps);
    }
    console.log(`round ${r + 1} (load ${loadNow()}): ${contenders.map((c, i) => `${c.label} ${us[i]![r]!.toFixed(0)} µs`).join(', ')}`);
  }
  console.log(`\nPOST /v1/match/score, one pair with inline features, wrk -t1 -c${connections}, ${rounds} × ${seconds} s; server CPU per request, medians:`);
  const bareUs = median(us[0]!);
  for (const [i, c] of contenders.entries()) {
    const u = median(us[i]!);
    console.log(`  ${c.label.padEnd(28)} ${u.toFixed(0).padStart(5)} µs/request (${(bareUs / u).toFixed(2)} of bare's CPU cost), ${median(rps[i]!).toFixed(0).padStart(6)} req/s`);
  }
} finally {
  for (const s of servers.reverse()) await s.stop().catch(() => {});
  await setup.cleanup();
}
