import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { inFreshContext, launchChromium, saveScreenshot } from '../support/chromium.js';
import { ADMIN } from '../support/constants.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The portal as people use it, in a real Chromium: forms, redirects, cookies, CSP and labels.
const BROWSER_TEST_MS = 90_000;
let server: TestServer;
let chromium: Browser;

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.adminToken();
  for (const product of [
    { slug: 'support-agent', name: 'Customer Support Agent', type: 'agent', category: 'Customer service', description: 'Answers customer questions.', routePrefix: '/agents/support', overview: 'Answers **customers** around the clock.' },
    { slug: 'analyst-agent', name: 'Data Analyst Agent', type: 'agent', category: 'Analytics', description: 'Charts from spreadsheets.', routePrefix: '/agents/analyst' },
    { slug: 'chat-model', name: 'Chat Model', type: 'model', category: 'Text generation', description: 'A chat model.', routePrefix: '/models/chat' },
    { slug: 'weather-mcp', name: 'Weather MCP Server', type: 'mcp', category: 'Data', description: 'Forecast tools.', routePrefix: '/mcp/weather' },
  ]) {
    expect((await server.api.post('/api/v1/admin/products', product, { token: admin })).status).toBe(201);
  }
  chromium = await launchChromium();
}, BROWSER_TEST_MS);

afterAll(async () => {
  const closed = await Promise.allSettled([chromium?.close(), server?.stop()]);
  for (const result of closed) if (result.status === 'rejected') throw result.reason;
});

describe('the developer portal in Chromium', () => {
  it('a newcomer signs up, browses agents, searches, subscribes, and manages a second consumer', () => inFreshContext(chromium, async (page) => {
    const url = server.portico.url;
    await page.goto(`${url}/`);
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Username').fill('newcomer');
    await page.getByLabel('Password').fill('newcomer-password-1');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(`${url}/console/consumers?notice=signed-up`);
    expect(await page.getByRole('status').textContent()).toContain('Welcome!');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalog' }).click();
    await page.getByRole('navigation', { name: 'Product types' }).getByRole('link', { name: 'Agent' }).click();
    const products = page.getByRole('list', { name: 'Products' });
    expect((await products.getByRole('heading').allTextContents()).sort()).toEqual(['Customer Support Agent', 'Data Analyst Agent']);
    await saveScreenshot(page, 'portal-catalog-agents');

    await page.getByLabel('Search').fill('support');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=support/);
    expect(await products.getByRole('heading').allTextContents()).toEqual(['Customer Support Agent']);
    await products.getByRole('link', { name: 'Customer Support Agent' }).click();
    expect(await page.locator('.markdown strong').first().textContent()).toBe('customers');
    expect(await page.getByLabel('Consumer').inputValue()).not.toBe('');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.waitForURL(`${url}/console/subscriptions?notice=subscribed`);
    const row = page.getByRole('row', { name: /Customer Support Agent/ });
    expect(await row.getByRole('cell').nth(2).textContent()).toContain('approved');

    await page.getByRole('link', { name: 'Consumers' }).click();
    await page.getByLabel('Name').fill('reporting');
    await page.getByLabel('Description').fill('nightly exports');
    await page.getByRole('button', { name: 'Create consumer' }).click();
    const reporting = page.getByRole('region', { name: 'reporting' });
    await reporting.getByRole('button', { name: 'Create API key' }).click();
    const shown = page.getByRole('region', { name: 'reporting' }).getByText(/^pk_/);
    expect(await shown.isVisible()).toBe(false); // hidden until asked for
    await page.getByRole('region', { name: 'reporting' }).getByText('View credential').click();
    const apiKey = (await shown.textContent())!;
    expect(apiKey).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(await server.portico.services.credentials.findApiKeyOwner(apiKey)).toBeDefined();
    await saveScreenshot(page, 'portal-console-consumers');

    await page.getByRole('region', { name: 'reporting' }).getByRole('link', { name: 'Delete consumer' }).click();
    await page.getByRole('button', { name: 'Delete consumer' }).click();
    await page.waitForURL(`${url}/console/consumers?notice=consumer-deleted`);
    expect(await page.getByRole('region', { name: 'reporting' }).count()).toBe(0);
    expect(await server.portico.services.credentials.findApiKeyOwner(apiKey)).toBeUndefined();
  }), BROWSER_TEST_MS);

  it('an admin switches subscriptions to manual approval and approves a developer\'s request in the admin pages', () => inFreshContext(chromium, async (adminPage) => {
    const url = server.portico.url;
    const logIn = async (page: typeof adminPage, username: string, password: string, next: string) => {
      await page.goto(`${url}/login?next=${encodeURIComponent(next)}`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(`${url}${next}`);
    };
    await logIn(adminPage, ADMIN.username, ADMIN.password, '/admin/settings');
    await adminPage.getByLabel('Subscription approval').selectOption('manual');
    await adminPage.getByRole('button', { name: 'Save settings' }).click();
    await adminPage.waitForURL(/notice=saved/);
    expect((await server.api.get('/api/v1/admin/settings', { token: await server.adminToken() })).body.subscriptionApproval).toBe('manual');

    await server.developer('careful-dev');
    await inFreshContext(chromium, async (devPage) => {
      await logIn(devPage, 'careful-dev', 'careful-dev-password-1', '/products/chat-model');
      await devPage.getByRole('button', { name: 'Subscribe' }).click();
      await devPage.waitForURL(`${url}/console/subscriptions?notice=subscription-pending`);
      expect(await devPage.getByRole('row', { name: /Chat Model/ }).textContent()).toContain('pending');

      await adminPage.getByRole('link', { name: 'Queue' }).click();
      const approve = adminPage.getByRole('form', { name: 'Approve subscription of careful-dev to Chat Model' });
      await approve.getByRole('button', { name: 'Approve' }).click();
      await adminPage.waitForURL(/notice=approved/);
      expect(await adminPage.getByRole('form', { name: 'Approve subscription of careful-dev to Chat Model' }).count()).toBe(0);

      await devPage.reload();
      expect(await devPage.getByRole('row', { name: /Chat Model/ }).textContent()).toContain('approved');
    });
    await server.api.put('/api/v1/admin/settings', { subscriptionApproval: 'auto' }, { token: await server.adminToken() });
  }), BROWSER_TEST_MS);

  it('a developer creates an application and asks to go live, an admin approves it, and the developer sees it online with its usage chart', () => inFreshContext(chromium, async (devPage) => {
    const url = server.portico.url;
    await server.developer('app-builder');
    await devPage.goto(`${url}/login?next=${encodeURIComponent('/console/applications')}`);
    await devPage.getByLabel('Username').fill('app-builder');
    await devPage.getByLabel('Password').fill('app-builder-password-1');
    await devPage.getByRole('button', { name: 'Log in' }).click();
    await devPage.waitForURL(`${url}/console/applications`);

    await devPage.getByLabel('Name').fill('Merchant back end');
    await devPage.getByLabel('Redirect URIs').fill('https://merchant.example/callback');
    await devPage.getByRole('button', { name: 'Create application' }).click();
    const secret = devPage.getByRole('region', { name: 'Client secret' });
    expect(await secret.locator('code').textContent()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await devPage.getByRole('button', { name: 'Go live' }).click();
    await devPage.waitForURL(/notice=go-live-requested/);
    expect(await devPage.getByRole('region', { name: 'Client secret' }).count()).toBe(0); // shown once
    expect(await devPage.getByRole('region', { name: 'Details' }).textContent()).toContain('review');

    await inFreshContext(chromium, async (adminPage) => {
      await adminPage.goto(`${url}/login?next=%2Fadmin`);
      await adminPage.getByLabel('Username').fill(ADMIN.username);
      await adminPage.getByLabel('Password').fill(ADMIN.password);
      await adminPage.getByRole('button', { name: 'Log in' }).click();
      await adminPage.waitForURL(`${url}/admin`);
      await adminPage.getByRole('form', { name: 'Approve application Merchant back end of app-builder' }).getByRole('button', { name: 'Approve' }).click();
      await adminPage.waitForURL(/notice=approved/);
    });

    // Some of today's calls, as the gateway counts them, so the chart has a bar past the 80 % mark.
    const appId = new URL(devPage.url()).pathname.split('/').pop()!;
    for (let i = 0; i < 85_000; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: appId }, 100_000);
    await devPage.goto(`${url}/console/applications/${appId}`);
    const details = devPage.getByRole('region', { name: 'Details' });
    expect(await details.locator('.badge').first().textContent()).toBe('online');
    expect(await details.textContent()).toContain('100,000 calls');
    const chart = devPage.getByRole('img', { name: /Calls per day over the last 30 days/ });
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.locator('rect').count()).toBe(30);
    expect(await chart.locator('rect.high').count()).toBe(1);
    expect(await devPage.getByRole('region', { name: 'Usage' }).textContent()).toContain('Today: 85,000 of 100,000 calls (85.0 %).');
    expect(await devPage.getByRole('button', { name: 'Request a higher quota' }).isVisible()).toBe(true);
    await saveScreenshot(devPage, 'portal-console-application');
  }), BROWSER_TEST_MS);
});
