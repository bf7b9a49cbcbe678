// The console's figures: (1) bytes a browser downloads for the console (brotli and gzip, from the
// precompressed build) against the 500 KB budget, with Swagger UI's /docs bundle as the peer; (2)
// each page's time from navigation to its data drawn (the data-ready marker) on the demo-sized
// marketplace (target < 1 s), median of R loads in a warm tab (a full page load, and an in-app
// navigation as a click does it), side by side with the time the same
// page's API calls take from Node (the peer: what the page adds to fetching its data).
//   npm run bench -- bench/console.ts [demo|small] [repeats]
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { consoleDistDir, ensureConsoleBuilt, walk } from '../services/console/build-console.js';
import { launchChromium, waitReady } from '../tests/console/browser.js';
import { startTempConsoleDemo } from './console-demo.js';

const SIZE = process.argv[2] ?? 'demo';
const REPEATS = Number(process.argv[3] ?? 7);
const BUDGET = 500 * 1024;

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

await ensureConsoleBuilt({ quiet: true });
// (1) What a first visit downloads: every built file, as the browser gets it.
const dist = consoleDistDir();
const files = walk(dist).filter((f) => !f.endsWith('.br') && !f.endsWith('.gz'));
const size = (f: string) => { try { return statSync(f).size; } catch { return null; } };
const raw = files.reduce((s, f) => s + statSync(f).size, 0);
const br = files.reduce((s, f) => s + (size(`${f}.br`) ?? statSync(f).size), 0);
const gz = files.reduce((s, f) => s + (size(`${f}.gz`) ?? statSync(f).size), 0);

const started = performance.now();
const demo = await startTempConsoleDemo(SIZE === 'demo' ? { providers: 2000, jobs: 500, days: 30, events: 20_000 } : undefined);
const setupS = (performance.now() - started) / 1000;
const browser = await launchChromium();
try {
  // Peer for (1): Swagger UI's bundle as /docs serves it (gzip as fastify-static sends it, or raw).
  const swaggerJs = await fetch(`${demo.url}/docs/static/swagger-ui-bundle.js`, { headers: { 'accept-encoding': 'gzip' } });
  const swaggerBytes = swaggerJs.ok ? Number(swaggerJs.headers.get('content-length') ?? (await swaggerJs.arrayBuffer()).byteLength) : null;

  const auth = { authorization: `Bearer ${demo.adminKey}` };
  const k = encodeURIComponent(demo.experiment);
  const pages: { name: string; path: string; ready: string; api: string[] }[] = [
    { name: 'models', path: '/models', ready: 'models', api: ['/v1/models?limit=200'] },
    { name: 'model', path: '/models/matching-ranker', ready: 'model', api: ['/v1/models/matching-ranker', '/v1/models/matching-ranker/versions?limit=50', '/v1/models/matching-ranker/history?limit=50'] },
    { name: 'version', path: '/models/matching-ranker/versions/2', ready: 'version', api: ['/v1/models/matching-ranker/versions/2'] },
    { name: 'compare', path: '/models/matching-ranker/compare?a=1&b=2', ready: 'compare', api: ['/v1/models/matching-ranker/compare?a=1&b=2'] },
    { name: 'prediction', path: `/predictions?id=${demo.predictionId}`, ready: 'predictions', api: [`/v1/predictions/${demo.predictionId}`] },
    { name: 'experiments', path: '/experiments', ready: 'experiments', api: ['/v1/experiments?limit=200'] },
    { name: 'experiment', path: `/experiments/${k}`, ready: 'experiment', api: [`/v1/experiments/${k}`, `/v1/experiments/${k}/results`, `/v1/experiments/${k}/analyses?limit=200`, `/v1/experiments/${k}/audit?limit=100`] },
    { name: 'ads', path: '/ads', ready: 'ads', api: ['/v1/ads/campaigns?limit=200', '/v1/ads/flagged-clicks?status=flagged&limit=100'] },
    { name: 'pipelines', path: '/pipelines', ready: 'pipelines', api: ['/v1/pipelines/runs?limit=30', '/v1/features/drift', '/v1/admin/queue', '/v1/admin/dead-letters?limit=50'] },
    { name: 'exports', path: '/exports', ready: 'exports', api: ['/v1/exports', '/v1/exports/jobs?limit=50', '/v1/exports/schedules'] },
  ];
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${demo.url}/console/`);
  await waitReady(page, 'sign-in');
  // A cold first load: sign-in to the first page drawn, nothing cached.
  const coldStart = performance.now();
  await page.getByLabel('API key').fill(demo.adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitReady(page, 'models');
  const cold = performance.now() - coldStart;

  // In-app navigation (what a click does): the router is told of a new URL; the page mounts and fetches.
  const route = (path: string) => page.evaluate((to) => {
    const g = globalThis as unknown as { history: { pushState(a: null, b: string, c: string): void }; dispatchEvent(e: unknown): void; PopStateEvent: new (t: string) => unknown };
    g.history.pushState(null, '', to);
    g.dispatchEvent(new g.PopStateEvent('popstate'));
  }, `/console${path}`);
  const rows: { name: string; pageMs: number; inAppMs: number; apiMs: number }[] = [];
  for (const p of pages) {
    const pageTimes: number[] = []; const apiTimes: number[] = []; const inApp: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      await page.goto(`${demo.url}/console${p.path}`);
      await waitReady(page, p.ready, 30_000);
      pageTimes.push(performance.now() - t0);
      await route('/elsewhere');
      const n0 = performance.now();
      await route(p.path);
      await waitReady(page, p.ready, 30_000);
      inApp.push(performance.now() - n0);
      const a0 = performance.now();
      await Promise.all(p.api.map(async (u) => { const r = await fetch(`${demo.url}${u}`, { headers: auth }); await r.arrayBuffer(); }));
      apiTimes.push(performance.now() - a0);
    }
    rows.push({ name: p.name, pageMs: median(pageTimes), inAppMs: median(inApp), apiMs: median(apiTimes) });
  }

  const out = [
    `console bench (${SIZE} marketplace, setup ${setupS.toFixed(0)} s, ${REPEATS} loads per page, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`,
    '',
    `assets: ${files.length} files, ${kib(raw)} raw, ${kib(br)} brotli, ${kib(gz)} gzip; budget 500 KiB: ${(gz / BUDGET * 100).toFixed(0)}% used (gzip)`,
    swaggerBytes !== null ? `peer: Swagger UI bundle at /docs alone: ${kib(swaggerBytes)} as served → console/peer = ${(gz / swaggerBytes).toFixed(2)}` : 'peer: /docs not served',
    `cold first page (sign-in → models drawn, nothing cached): ${cold.toFixed(0)} ms`,
    '',
    '| page | full load → data drawn | in-app navigation → data drawn | its API calls from Node (peer) | full load / API |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.pageMs.toFixed(0)} ms | ${r.inAppMs.toFixed(0)} ms | ${r.apiMs.toFixed(0)} ms | ${(r.pageMs / Math.max(1, r.apiMs)).toFixed(1)}× |`),
    '',
    `slowest page: ${rows.reduce((a, b) => (b.pageMs > a.pageMs ? b : a)).name} ${Math.max(...rows.map((r) => r.pageMs)).toFixed(0)} ms (target < 1000 ms)`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await browser.close();
  await demo.close();
}
