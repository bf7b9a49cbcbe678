// Headless Chromium for the console tests and scripts: Debian's chromium driven by playwright-core
// (never a downloaded browser). Every page records console errors and CSP violations.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** The little of the DOM these helpers touch (this project's TypeScript has no DOM types). */
export interface BrowserGlobals {
  document: { body: { dataset: Record<string, string | undefined> }; querySelector(s: string): { width: number; height: number } | null };
  sessionStorage: { getItem(k: string): string | null };
}

export interface WatchedPage { page: Page; problems: string[] }

/** A page that collects console errors, page errors and CSP violations into `problems`. */
export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.exposeFunction('__cspViolation', (text: string) => problems.push(`csp: ${text}`));
  // Page-side code as strings: this project's TypeScript has no DOM types.
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.violatedDirective + ' blocked ' + e.blockedURI));" });
  return { page, problems };
}

/** Waits until the page has drawn its data (document.body.dataset.ready === name). */
export async function waitReady(page: Page, name: string, timeout = 30_000): Promise<void> {
  // A function, not a string: the console's CSP forbids eval, and Playwright evaluates string predicates with it.
  await page.waitForFunction((n) => (globalThis as unknown as BrowserGlobals).document.body.dataset.ready === n, name, { timeout });
}
