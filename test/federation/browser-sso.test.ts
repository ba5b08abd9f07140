import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { inFreshContext, launchChromium, saveScreenshot, startCallbackServer, type CallbackServer } from '../support/chromium.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startIdp, type TestIdp } from './idp.js';
import { registerProvider } from './support.js';

// "Log in with <IdP>" in a real Chromium, through the upstream provider's own login page: the
// cookies (the sealed state cookie must come back on the provider's cross-site redirect), the
// pages' CSP (a form post that redirects to another origin) and the buttons' accessible names.
const BROWSER_TEST_MS = 60_000;
let server: TestServer;
let idp: TestIdp;
let chromium: Browser;
let merchant: CallbackServer;

beforeAll(async () => {
  merchant = await startCallbackServer();
  server = await startTestServer();
  idp = await startIdp({
    clients: [{ client_id: 'portico', client_secret: 'browser-idp-secret', redirect_uris: [`${server.portico.issuer}/sso/corp/callback`] }],
    users: [
      { sub: 'corp-ivy', preferred_username: 'ivy', email: 'ivy@corp.example', email_verified: true },
      { sub: 'corp-jay', preferred_username: 'jay', email: 'jay@corp.example' },
    ],
    loginPage: true,
  });
  await registerProvider(server, { slug: 'corp', name: 'Corp SSO', issuer: idp.issuer, clientId: 'portico', clientSecret: 'browser-idp-secret' });
  chromium = await launchChromium();
}, BROWSER_TEST_MS);

afterAll(async () => {
  const closed = await Promise.allSettled([chromium?.close(), idp?.close(), merchant?.close(), server?.stop()]);
  for (const result of closed) if (result.status === 'rejected') throw result.reason;
});

describe('enterprise SSO in Chromium', () => {
  it('logs in with the identity provider from the portal\'s log-in page and comes back logged in', () => inFreshContext(chromium, async (page) => {
    await page.goto(`${server.portico.issuer}/login?next=%2Fconsole%2Fapplications`);
    await saveScreenshot(page, 'federation-portal-login');
    await page.getByRole('button', { name: 'Log in with Corp SSO' }).click();

    await page.waitForURL((u) => u.href.startsWith(idp.issuer));
    await page.getByLabel('Username').fill('ivy');
    await saveScreenshot(page, 'federation-upstream-login');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await page.waitForURL(`${server.portico.issuer}/console/applications`);
    expect(await page.locator('header .account span').textContent()).toBe('ivy');
    await saveScreenshot(page, 'federation-logged-in');
  }), BROWSER_TEST_MS);

  it('logs in with the identity provider during an authorization request and goes on to the application with a code', () => inFreshContext(chromium, async (page) => {
    const owner = await server.developer('browser-sso-merchant');
    const app = await server.api.post('/api/v1/applications', { name: 'Browser Shop', redirectUris: [merchant.redirectUri] }, { token: owner.token });
    await server.api.patch(`/api/v1/admin/applications/${app.body.id}`, { firstParty: true }, { token: await server.adminToken() });
    const config = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, app.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: merchant.redirectUri, scope: 'openid profile email', state: 'browser-state',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    });

    await page.goto(url.href);
    await page.getByRole('button', { name: 'Log in with Corp SSO' }).click();
    await page.getByLabel('Username').fill('jay');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(merchant.redirectUri));

    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('browser-state');
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: codeVerifier, expectedState: 'browser-state' });
    expect(tokens.claims()).toMatchObject({ preferred_username: 'jay', email: 'jay@corp.example', email_verified: false });
  }), BROWSER_TEST_MS);
});
