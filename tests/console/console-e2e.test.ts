// The console in headless Chromium against a seeded app: sign in (cookie and tab-only key), the
// scopes decide what is offered, promote a version through its gates and roll it back, open a
// prediction's explanation (waterfall drawn), read an experiment's results and hit the kill switch,
// download an XLSX export and open it — with no CSP violation or script error on the way.
import { readFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConsoleBuilt } from '../../services/console/build-console.js';
import { useTestEnv } from '../helpers/test-env.js';
import { launchChromium, waitReady, watchedPage, type BrowserGlobals, type WatchedPage } from './browser.js';
import { CONSOLE_DEMO_SETTINGS, startConsoleDemo, type ConsoleDemo } from './console-fixture.js';

describe('console in Chromium', () => {
  const env = useTestEnv({ dialect: 'sqlite' });
  let demo: ConsoleDemo;
  let browser: Browser;
  let context: BrowserContext;
  let w: WatchedPage;

  beforeAll(async () => {
    await ensureConsoleBuilt({ quiet: true });
    demo = await startConsoleDemo(env.config(CONSOLE_DEMO_SETTINGS), env.db.db);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    w = await watchedPage(context);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('signs in with a session cookie and lands on the models', async () => {
    const { page } = w;
    await page.goto(`${demo.url}/console/`);
    await waitReady(page, 'sign-in');
    await page.getByLabel('API key').fill(demo.adminKey);
    await page.getByLabel(/a session cookie/).check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitReady(page, 'models');
    expect(new URL(page.url()).pathname).toBe('/console/models');
    await expect(page.getByRole('link', { name: 'matching-ranker' }).count()).resolves.toBe(1);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'gigintel_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(session!.value).not.toContain(demo.adminKey);
    // Every section is offered to an admin key.
    const nav = await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Models', 'Predictions', 'Experiments', 'Ads', 'Pipelines', 'Exports']);
  });

  it('promotes v2 through its gates with a reason, then rolls it back', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'matching-ranker' }).click();
    await waitReady(page, 'model');
    await page.getByRole('button', { name: 'Promote v2' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('table').waitFor();
    const gates = await dialog.locator('tr[data-gate]').count();
    expect(gates).toBeGreaterThan(2);
    expect(await dialog.getByText('failed', { exact: true }).count()).toBe(0);
    const confirm = dialog.getByRole('button', { name: 'Confirm promotion' });
    expect(await confirm.isDisabled()).toBe(true); // a reason is required
    await dialog.getByLabel(/Reason/).fill('v2 lifts AUC by 0.03 with fairness intact');
    await confirm.click();
    await page.getByText('champion now serves v2 (was v1).').waitFor();
    const champion = await demo.t.services.registry.resolveAlias('matching-ranker', 'champion');
    expect(champion.version).toBe(2);

    await waitReady(page, 'model');
    await page.getByRole('button', { name: 'Roll back champion' }).click();
    await page.getByRole('dialog').getByLabel(/Reason/).fill('conversion dipped after the switch');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm rollback' }).click();
    await page.getByText('champion rolled back to v1 (was v2).').waitFor();
    expect((await demo.t.services.registry.resolveAlias('matching-ranker', 'champion')).version).toBe(1);
    await waitReady(page, 'model');
    const timeline = await page.locator('ol.timeline li').allTextContents();
    expect(timeline[0]).toMatch(/Rolled back champion v2 → v1.*conversion dipped/);
    expect(timeline[1]).toMatch(/Moved champion v1 → v2.*gates passed.*v2 lifts AUC/);
  });

  it('draws a version\'s calibration, fairness with the four-fifths line, and importance', async () => {
    const { page } = w;
    await page.goto(`${demo.url}/console/models/matching-ranker/versions/2`);
    await waitReady(page, 'version');
    for (const id of ['calibration', 'fairness-gender', 'fairness-region', 'importance']) {
      const drawn = await page.evaluate((sel) => {
        const c = (globalThis as unknown as BrowserGlobals).document.querySelector(sel);
        return !!c && c.width > 0 && c.height > 0;
      }, `[data-chart="${id}"] canvas`);
      expect(drawn, id).toBe(true);
    }
    await expect(page.getByText('training set', { exact: false }).count()).resolves.toBeGreaterThan(0);
  });

  it('opens a prediction and draws the waterfall of its explanation with the reasons', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'Predictions' }).click();
    await waitReady(page, 'predictions');
    await page.getByLabel('Prediction id').fill(demo.predictionId);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('[data-chart="waterfall"] canvas').waitFor();
    await waitReady(page, 'predictions');
    const heading = await page.getByRole('heading', { level: 3 }).first().textContent();
    expect(heading).toMatch(/^Why .+ scored 0\.\d+/);
    const reasons = await page.locator('ul.reasons li').count();
    expect(reasons).toBeGreaterThan(0);
    expect(await page.getByRole('link', { name: /matching-ranker v1/ }).count()).toBe(1);
  });

  it('shows an experiment\'s results with intervals, SRM and guardrails, and hits the kill switch', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'Experiments' }).click();
    await waitReady(page, 'experiments');
    await page.getByRole('link', { name: demo.experiment }).click();
    await waitReady(page, 'experiment');
    expect(await page.locator('[data-check="srm"]').textContent()).toMatch(/OK \(p = /);
    expect(await page.locator('[data-check="guardrails"]').textContent()).toMatch(/events\.complaint/);
    await page.locator('[data-chart="ci-events.conversion"] canvas').waitFor();
    await page.locator('[data-chart="p-values"] canvas').waitFor();
    expect(await page.locator('table').first().textContent()).toMatch(/treatment/);
    await page.getByRole('button', { name: 'Kill switch: roll back' }).click();
    await page.getByRole('dialog').getByLabel(/Reason/).fill('complaints from early users');
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm rollback' }).click();
    await page.getByText(`${demo.experiment} rolled back: all traffic now gets control.`).waitFor();
    expect((await demo.t.services.experiments.get(demo.experiment)).status).toBe('rolled_back');
    await waitReady(page, 'experiment');
    expect(await page.locator('ol.timeline').textContent()).toMatch(/experiment\.rolled_back.*complaints from early users/);
    expect(await page.getByRole('button', { name: 'Kill switch: roll back' }).count()).toBe(0);
  });

  it('shows campaigns with spend, today\'s pacing curve, and releases a flagged click from the review queue', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'Ads' }).click();
    await waitReady(page, 'ads');
    await page.locator('[data-chart="spend"] canvas').waitFor();
    await page.locator('[data-chart="pacing"] canvas').waitFor();
    const overview = await demo.t.app.inject({ method: 'GET', url: '/v1/ads/campaigns', headers: demo.t.adminAuth });
    const spent = overview.json<{ campaigns: { name: string; spentTodayMinor: number; pacing: { spentMinor: number }[] }[] }>().campaigns.filter((c) => c.spentTodayMinor > 0);
    expect(spent.length).toBeGreaterThan(0);
    // The curve's last point is what the ledger holds for today.
    for (const c of spent) expect(c.pacing.at(-1)!.spentMinor).toBe(c.spentTodayMinor);
    const row = page.locator('tr[data-click="ck_console_suspect"]');
    expect(await row.textContent()).toMatch(/invalid_token/);
    await row.getByRole('button', { name: 'Release' }).click();
    await page.getByText(/ck_console_suspect: released/).waitFor();
    await waitReady(page, 'ads');
    expect(await page.locator('tr[data-click="ck_console_suspect"]').count()).toBe(0);
    const after = await demo.t.services.ads.fraud.getFlagged('ck_console_suspect');
    expect(after?.status).toBe('released');
  });

  it('lists pipeline runs, drift and the queue with its dead letters', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'Pipelines' }).click();
    await waitReady(page, 'pipelines');
    expect(await page.getByRole('heading', { name: 'Batch runs' }).count()).toBe(1);
    expect(await page.locator('table').filter({ hasText: 'succeeded' }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('heading', { name: /^Queue \(/ }).count()).toBe(1);
    const jobs = Object.keys((await demo.t.app.inject({ method: 'GET', url: '/v1/admin/queue', headers: demo.t.adminAuth })).json<{ jobs: Record<string, unknown> }>().jobs);
    expect(jobs).toContain('features.chunk');
    const shown = await page.locator('table').filter({ hasText: 'Waiting' }).locator('tbody th').allTextContents();
    expect(shown.sort()).toEqual(jobs.sort());
    expect(await page.getByRole('heading', { name: 'Dead letters' }).count()).toBe(1);
  });

  it('downloads an XLSX export that opens', async () => {
    const { page } = w;
    await page.getByRole('link', { name: 'Exports' }).click();
    await waitReady(page, 'exports');
    const form = page.locator('form.report').first();
    const report = await form.getAttribute('data-report');
    const [download] = await Promise.all([page.waitForEvent('download'), form.getByRole('button', { name: 'Download XLSX' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.xlsx$/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(readFileSync((await download.path())!) as unknown as ArrayBuffer);
    expect(book.worksheets.length, `report ${report}`).toBeGreaterThan(0);
    expect(book.worksheets[0]!.rowCount).toBeGreaterThan(0);
  });

  it('offers a read-only key no promote, rollback or kill-switch buttons, and keeps a tab-only key out of cookies', async () => {
    const ctx = await browser.newContext();
    const { page, problems } = await watchedPage(ctx);
    await page.goto(`${demo.url}/console/models/matching-ranker`);
    await waitReady(page, 'sign-in');
    await page.getByLabel('API key').fill(demo.readerKey);
    await page.getByLabel(/for this tab only/).check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitReady(page, 'model'); // signed in where the link pointed
    expect(await ctx.cookies()).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('gigintel.apiKey'))).toBe(demo.readerKey);
    const nav = await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Models', 'Experiments', 'Pipelines', 'Exports']);
    expect(await page.getByRole('button', { name: /Promote|Roll back/ }).count()).toBe(0);
    expect(await page.locator('tr[data-version]').count()).toBe(2);
    await page.goto(`${demo.url}/console/experiments/${demo.experiment}`);
    await waitReady(page, 'experiment');
    expect(await page.getByRole('button', { name: /Kill switch/ }).count()).toBe(0);
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it('met no CSP violation or script error on the way', () => {
    expect(w.problems).toEqual([]);
  });
});
