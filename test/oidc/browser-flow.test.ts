import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { inFreshContext, launchChromium, saveScreenshot, startCallbackServer, type CallbackServer } from '../support/chromium.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The same flow as authorization-code.test.ts, but in a real Chromium: cookies, redirects, the
// pages' CSP (form-action) and their accessible labels as a browser applies them.
const BROWSER_TEST_MS = 60_000;
let server: TestServer;
let callback: CallbackServer;
let chromium: Browser;
let config: oidc.Configuration;
let userId: string;

beforeAll(async () => {
  callback = await startCallbackServer();
  server = await startTestServer();
  const merchant = await server.developer('browser-merchant');
  const app = await server.api.post('/api/v1/applications', { name: 'Browser Shop', redirectUris: [callback.redirectUri] }, { token: merchant.token });
  expect(app.status).toBe(201);
  config = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, app.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  userId = (await server.developer('browser-user')).id;
  chromium = await launchChromium();
}, BROWSER_TEST_MS);

afterAll(async () => {
  // Each closes even if another fails, so no Chromium or listener outlives the file.
  const closed = await Promise.allSettled([chromium?.close(), callback?.close(), server?.stop()]);
  for (const result of closed) if (result.status === 'rejected') throw result.reason;
});

/** A fresh authorization request with PKCE (S256) and state. */
async function authorizationRequest() {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: callback.redirectUri, scope: 'openid profile', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  return { url, codeVerifier, state };
}

describe('the authorization-code flow in Chromium', () => {
  it('logs in, consents, lands on the callback with a code that is exchanged for tokens', () => inFreshContext(chromium, async (page) => {
    const { url, codeVerifier, state } = await authorizationRequest();
    await page.goto(url.href);
    await page.getByLabel('Username').fill('browser-user');
    await page.getByLabel('Password').fill('browser-user-password-1');
    await saveScreenshot(page, 'oidc-login-page');
    await page.getByRole('button', { name: 'Log in' }).click();

    expect(await page.getByText('asks to use your Portico account.').textContent()).toContain('Browser Shop');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback.redirectUri));

    const landed = new URL(page.url());
    expect(landed.searchParams.get('code')).toEqual(expect.any(String));
    expect(landed.searchParams.get('state')).toBe(state);
    expect(await page.textContent('body')).toContain('Signed in.');
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: userId, preferred_username: 'browser-user' });
  }), BROWSER_TEST_MS);

  it('shows why a wrong password is refused, on the login page', () => inFreshContext(chromium, async (page) => {
    await page.goto((await authorizationRequest()).url.href);
    await page.getByLabel('Username').fill('browser-user');
    await page.getByLabel('Password').fill('not-the-password-1');
    await page.getByRole('button', { name: 'Log in' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('Wrong username or password.');
    // Still on the login page, with the username kept and the password not.
    expect(await page.getByLabel('Username').inputValue()).toBe('browser-user');
    expect(await page.getByLabel('Password').inputValue()).toBe('');
  }), BROWSER_TEST_MS);
});
