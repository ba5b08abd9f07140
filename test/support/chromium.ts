import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './constants.js';

/** Debian's package (CI installs it with apt-get): playwright-core must never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts');

/**
 * Headless Chromium from the system package. This Chromium (132+) has only the new headless
 * mode, which plain `--headless` selects; `--no-sandbox` because CI runs as root in a container;
 * `--disable-gpu` as there is no GPU; `--disable-dev-shm-usage` because a container's /dev/shm
 * may be small and Debian's launcher fails to check it (docs/stack-traps.md); the rest keeps it
 * off the network. Playwright passes most of these itself: listing them keeps the intent visible.
 */
export function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install --no-install-recommends chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** A context per test, so no cookie (SSO session, CSRF) of one test leaks into the next. */
export async function freshContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1024, height: 768 } });
  // Shorter than jest's timeout, so a missing element fails with Playwright's message, not jest's.
  context.setDefaultTimeout(15_000);
  return context;
}

/**
 * The console errors of every page of a context. A CSP violation (a blocked stylesheet or form
 * post) shows nowhere else: a blocked form post just leaves click() waiting until it times out.
 */
export function collectConsoleErrors(context: BrowserContext): string[] {
  const errors: string[] = [];
  context.on('console', (message) => {
    // Chromium logs every 4xx/5xx document too (a refused login is a 401 page): not an error here.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of')) errors.push(message.text());
  });
  return errors;
}

/**
 * Runs a test's steps on a page of a fresh context, closed afterwards; fails on a console error
 * (a CSP violation), and adds the console errors to any failure: a blocked form post surfaces
 * only as a click timeout, and the console says why.
 */
export async function inFreshContext(browser: Browser, steps: (page: Page) => Promise<void>): Promise<void> {
  const context = await freshContext(browser);
  const consoleErrors = collectConsoleErrors(context);
  try {
    await steps(await context.newPage());
  } catch (error) {
    throw consoleErrors.length ? new Error(`${String(error)}\nbrowser console errors:\n${consoleErrors.join('\n')}`) : error;
  } finally {
    await context.close();
  }
  if (consoleErrors.length) throw new Error(`browser console errors:\n${consoleErrors.join('\n')}`);
}

/** A full-page PNG in test-artifacts/ (ignored by git) to look at after a run; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export interface CallbackServer {
  /** `http://127.0.0.1:<port>/callback`, known before the application is registered. */
  redirectUri: string;
  close(): Promise<void>;
}

/**
 * The merchant's side of a redirect: a real listener, so the browser's last hop succeeds and the
 * test reads the code from the page's URL as a merchant would. Listens before the application
 * exists, because the redirect URI must name the port.
 */
export async function startCallbackServer(): Promise<CallbackServer> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Callback</title><p>Signed in.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    // closeAllConnections: Chromium keeps idle connections open, which would hold close() up.
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
