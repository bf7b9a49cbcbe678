// npm run screenshots: refreshes docs/screenshots/<page>.png — each main console page against a
// seeded demo, drawn in headless Chromium (Debian's chromium, playwright-core), laptop width, plus
// one page at phone width. The README's "Console" section shows them.
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ensureConsoleBuilt } from '../services/console/build-console.js';
import { launchChromium, waitReady, watchedPage } from '../tests/console/browser.js';
import { startTempConsoleDemo } from './console-demo.js';
import { ROOT } from './bench-lib.js';

const OUT = join(ROOT, 'docs', 'screenshots');

const built = await ensureConsoleBuilt({ quiet: true });
if (built !== 'fresh') process.stdout.write(`console built (${built.ms} ms)\n`);
const demo = await startTempConsoleDemo();
const browser = await launchChromium();
try {
  mkdirSync(OUT, { recursive: true });
  const shots: { name: string; path: string; ready: string }[] = [
    { name: 'models', path: '/models', ready: 'models' },
    { name: 'model', path: '/models/matching-ranker', ready: 'model' },
    { name: 'version', path: '/models/matching-ranker/versions/2', ready: 'version' },
    { name: 'compare', path: '/models/matching-ranker/compare?a=1&b=2', ready: 'compare' },
    { name: 'prediction', path: `/predictions?id=${demo.predictionId}`, ready: 'predictions' },
    { name: 'experiments', path: '/experiments', ready: 'experiments' },
    { name: 'experiment', path: `/experiments/${demo.experiment}`, ready: 'experiment' },
    { name: 'ads', path: '/ads', ready: 'ads' },
    { name: 'pipelines', path: '/pipelines', ready: 'pipelines' },
    { name: 'exports', path: '/exports', ready: 'exports' },
  ];
  const signIn = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const first = await watchedPage(signIn);
  await first.page.goto(`${demo.url}/console/`);
  await waitReady(first.page, 'sign-in');
  await first.page.screenshot({ path: join(OUT, 'sign-in.png') });
  await first.page.getByLabel('API key').fill(demo.adminKey);
  await first.page.getByRole('button', { name: 'Sign in' }).click();
  await waitReady(first.page, 'models');
  for (const s of shots) {
    await first.page.goto(`${demo.url}/console${s.path}`);
    await waitReady(first.page, s.ready);
    await first.page.screenshot({ path: join(OUT, `${s.name}.png`), fullPage: true });
    process.stdout.write(`docs/screenshots/${s.name}.png\n`);
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, storageState: await signIn.storageState() });
  const p = await watchedPage(phone);
  await p.page.goto(`${demo.url}/console/experiments/${demo.experiment}`);
  await waitReady(p.page, 'experiment');
  await p.page.screenshot({ path: join(OUT, 'experiment-phone.png'), fullPage: true });
  const problems = [...first.problems, ...p.problems];
  if (problems.length) throw new Error(`the pages reported problems:\n${problems.join('\n')}`);
  process.stdout.write(`docs/screenshots/experiment-phone.png\n${shots.length + 2} screenshots (load average ${loadavg()[0]!.toFixed(2)})\n`);
} finally {
  await browser.close();
  await demo.close();
}
