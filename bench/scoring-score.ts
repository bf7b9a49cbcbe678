// POST /v1/match/score of ONE pair with inline features (the matching champion's own columns, from
// a real stored pair), against (a) FastAPI + uvicorn + scikit-learn serving the same logistic model
// (same encoding, same standardisation and weights, one worker; bench/peers/scoring-fastapi.py) and
// (b) bare Fastify parsing the same body and answering a constant (bench/peers/scoring-bare-fastify.js).
// gigintel runs as `gigintel serve scoring` twice: prediction logging on (the default) and off.
// Same load tool, connections and duration for all; they alternate in rounds (this machine's
// neighbours move throughput by ±40% between windows) and the ratios are medians of per-round ratios.
// Targets: gigintel/python ≥ 5×, gigintel/bare ≥ 0.6. Rate limiting is off on the gigintel servers.
//   npm run bench -- bench/scoring-score.ts [seconds per round, default 5] [rounds, default 5] [connections, default 50]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, freePort, median, start, stop, waitFor } from './bench-lib.js';
import { fmt, logisticSpec, loadNow, rssMb, setupScoring, startScoringServer, wrkPost, type LoadResult } from './scoring-lib.js';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? 50);
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-fastapi/uvicorn/sklearn live

console.log(`load average before setup: ${loadNow()}`);
const setup = await setupScoring();
const dir = mkdtempSync(join(tmpdir(), 'gigintel-bench-score-'));
const servers: { stop(): Promise<void> }[] = [];
try {
  const specFile = join(dir, 'model.json');
  writeFileSync(specFile, JSON.stringify(logisticSpec(setup.matching)));
  const body = JSON.stringify({ pairs: [{ features: setup.pairFeatures }] });
  console.log(`${setup.matching.model} v${setup.matching.version}: ${setup.matching.columns.length} raw columns → ${setup.matching.compiled.inputSize} inputs; body ${body.length} bytes`);

  const on = await startScoringServer(setup);
  servers.push({ stop: () => stop(on.child) });
  const off = await startScoringServer(setup, { GIGINTEL_SCORING_LOG_PREDICTIONS: 'false' });
  servers.push({ stop: () => stop(off.child) });
  const barePort = await freePort();
  const bare = start(process.execPath, ['bench/peers/scoring-bare-fastify.js', String(barePort)], cleanEnv({}));
  servers.push({ stop: () => stop(bare) });
  const pyPort = await freePort();
  const py = start(PYTHON, ['bench/peers/scoring-fastapi.py', specFile, String(pyPort)], cleanEnv({}));
  servers.push({ stop: () => stop(py) });
  await waitFor(`http://127.0.0.1:${barePort}/healthz`);
  await waitFor(`http://127.0.0.1:${pyPort}/healthz`, 60_000);

  const contenders = [
    { label: 'bare Fastify', url: `http://127.0.0.1:${barePort}/v1/match/score`, key: '' },
    { label: 'FastAPI+sklearn', url: `http://127.0.0.1:${pyPort}/v1/match/score`, key: '' },
    { label: 'gigintel (log on)', url: `${on.base}/v1/match/score`, key: setup.key },
    { label: 'gigintel (log off)', url: `${off.base}/v1/match/score`, key: setup.key },
  ];

  // The same answer from both models, before any load.
  const ask = async (url: string, key: string) => {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
    const headerBytes = [...res.headers].reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    return { score: (JSON.parse(text) as { results: { score: number }[] }).results[0]!.score, bytes: `${text.length} B body + ~${headerBytes} B headers` };
  };
  const gi = await ask(contenders[2]!.url, setup.key);
  const pyAnswer = await ask(contenders[1]!.url, '');
  const giScore = gi.score, pyScore = pyAnswer.score;
  console.log(`responses: gigintel ${gi.bytes}, python ${pyAnswer.bytes}, bare ${(await ask(contenders[0]!.url, '')).bytes}`);
  console.log(`score of the pair: gigintel ${giScore}, scikit-learn ${pyScore} (|Δ| ${Math.abs(giScore - pyScore).toExponential(1)})`);
  if (!(Math.abs(giScore - pyScore) < 1e-9)) throw new Error('the peer does not serve the same model');

  for (const c of contenders) wrkPost(c.url, body, 3, connections, c.key); // warm up the JIT
  console.log(`load average before measuring: ${loadNow()}`);
  const results = contenders.map((): LoadResult[] => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of contenders.entries()) results[i]!.push(wrkPost(c.url, body, seconds, connections, c.key));
    console.log(`round ${r + 1}: ${contenders.map((c, i) => `${c.label} ${results[i]![r]!.rps.toFixed(0)}`).join(', ')} req/s (load ${loadNow()})`);
  }
  const rps = (i: number) => results[i]!.map((x) => x.rps);
  const ratio = (a: number, b: number) => median(rps(a).map((x, k) => x / rps(b)[k]!));
  console.log(`\nPOST /v1/match/score, one pair with inline features, wrk -t1 -c${connections}, ${rounds} × ${seconds} s, medians:`);
  for (const [i, c] of contenders.entries()) {
    const byRps = [...results[i]!].sort((x, y) => x.rps - y.rps);
    console.log(`  ${c.label.padEnd(20)} ${fmt(byRps[Math.floor(byRps.length / 2)]!)}`);
  }
  const py2 = ratio(2, 1), bare2 = ratio(2, 0), py3 = ratio(3, 1), bare3 = ratio(3, 0);
  console.log(`gigintel/python  (log on):  ${py2.toFixed(2)}×   (target ≥ 5×)   ${py2 >= 5 ? 'PASS' : 'MISS'}`);
  console.log(`gigintel/bare    (log on):  ${bare2.toFixed(2)}    (target ≥ 0.6)  ${bare2 >= 0.6 ? 'PASS' : 'MISS'}`);
  console.log(`gigintel/python  (log off): ${py3.toFixed(2)}×`);
  console.log(`gigintel/bare    (log off): ${bare3.toFixed(2)}`);
  console.log(`bare/python: ${ratio(0, 1).toFixed(2)}× (the ceiling for gigintel/python); log on/off: ${ratio(2, 3).toFixed(2)}`);
  console.log(`RSS after load: gigintel (log on) ${rssMb(on.pid).toFixed(0)} MB, (log off) ${rssMb(off.pid).toFixed(0)} MB, bare ${rssMb(bare.pid!).toFixed(0)} MB, python ${rssMb(py.pid!).toFixed(0)} MB`);
} finally {
  for (const s of servers.reverse()) await s.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  await setup.cleanup();
}
