import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { storageId } from '../../src/oidc/adapter.js';

const REDIRECT_URI = 'http://localhost:8080/callback';
let server: TestServer;
let developer: { id: string; token: string };
let config: oidc.Configuration;
let consumerId: string;

beforeAll(async () => {
  server = await startTestServer();
  const merchant = await server.developer('code-merchant');
  const app = await server.api.post('/api/v1/applications', { name: 'Merchant Portal', redirectUris: [REDIRECT_URI] }, { token: merchant.token });
  consumerId = app.body.consumerId;
  config = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, app.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
  developer = await server.developer('end-user');
  await server.portico.context.db.updateTable('accounts').set({ email: 'end-user@example.com' }).where('id', '=', developer.id).execute();
});
afterAll(async () => { await server?.stop(); });

/** A fresh authorization request with PKCE (S256) and state. */
async function authorizationRequest(client = config, scope = 'openid profile email') {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(client, {
    redirect_uri: REDIRECT_URI, scope, state,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  return { url, codeVerifier, state };
}

/** Runs the authorization request through the real login and consent pages; returns the callback URL. */
async function authorize(username: string, password: string, choice: 'Allow' | 'Deny' = 'Allow') {
  const { url, codeVerifier, state } = await authorizationRequest();
  const b = browser();
  const loginPage = await b.open(url.href, REDIRECT_URI);
  const loginHtml = await loginPage.res.text();
  expect(loginHtml).toContain('name="username"');
  expect(loginHtml).toContain('>Log in</button>');
  expect(loginHtml).toContain('href="/signup"');
  const login = formWithButton(loginHtml, 'Log in');
  const consentPage = await b.submit(login.action, loginPage.url, { ...login.fields, username, password }, REDIRECT_URI);
  const consentHtml = await consentPage.res.text();
  expect(consentHtml).toContain('Merchant Portal');
  const consent = formWithButton(consentHtml, choice);
  const done = await b.submit(consent.action, consentPage.url, consent.fields, REDIRECT_URI);
  return { callback: new URL(done.url), codeVerifier, state, browser: b };
}

async function signIn() {
  const { callback, codeVerifier, state } = await authorize('end-user', 'end-user-password-1');
  expect(callback.searchParams.get('iss')).toBe(server.portico.issuer);
  return oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
}

describe('authorization code with PKCE', () => {
  it('logs in through the pages and exchanges the code for 2-hour JWT, ID and refresh tokens', async () => {
    const tokens = await signIn();
    expect(tokens.expires_in).toBe(7200);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${server.portico.issuer}/oauth2/jwks`)),
      { issuer: server.portico.issuer, typ: 'at+jwt', audience: 'urn:portico:api' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.exp! - payload.iat!).toBe(7200);
    expect(payload).toMatchObject({ sub: developer.id, client_id: config.clientMetadata().client_id, consumer_id: consumerId, grant_id: expect.any(String) });
    expect(tokens.claims()).toMatchObject({
      sub: developer.id, preferred_username: 'end-user', name: 'end-user', email: 'end-user@example.com', email_verified: false,
    });
  });

  it('gives the refresh token 30 days from the login, kept when it rotates', async () => {
    const before = Date.now();
    const tokens = await signIn();
    const { db } = server.portico.context;
    // An opaque refresh token's row is keyed by its hash.
    const expiresAt = async (token: string) => (await db.selectFrom('oidc_payloads').select('expires_at')
      .where('model', '=', 'RefreshToken').where('id', '=', storageId('RefreshToken', token)).executeTakeFirstOrThrow()).expires_at!.getTime();
    const original = await expiresAt(tokens.refresh_token!);
    expect(original - before).toBeGreaterThanOrEqual(30 * 86400_000 - 1000);
    expect(original - Date.now()).toBeLessThanOrEqual(30 * 86400_000);
    await new Promise((r) => setTimeout(r, 2100)); // a fresh 30 days would now end 2 s later
    const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(Math.abs(await expiresAt(rotated.refresh_token!) - original)).toBeLessThan(1000);
  });

  it('revokes the whole grant when a rotated refresh token is used again', async () => {
    const tokens = await signIn();
    const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('lets only one of two concurrent refreshes with one token win', async () => {
    const tokens = await signIn();
    const results = await Promise.allSettled([
      oidc.refreshTokenGrant(config, tokens.refresh_token!),
      oidc.refreshTokenGrant(config, tokens.refresh_token!),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { error: 'invalid_grant' } });
  });

  it('sends the user back with access_denied when consent is denied', async () => {
    const { callback } = await authorize('end-user', 'end-user-password-1', 'Deny');
    expect(callback.searchParams.get('error')).toBe('access_denied');
  });
});

describe('the login page', () => {
  async function loginPage() {
    const { url } = await authorizationRequest(config, 'openid');
    const b = browser();
    const page = await b.open(url.href, REDIRECT_URI);
    return { b, page, form: formWithButton(await page.res.text(), 'Log in') };
  }

  it('says why a login is refused, after the password is verified', async () => {
    const banned = await server.developer('banned-user');
    await server.api.post(`/api/v1/admin/developers/${banned.id}/ban`, undefined, { token: await server.adminToken() });
    const cases: Array<[string, string, number, string]> = [
      ['end-user', 'wrong-password-x', 401, 'Wrong username or password.'],
      ['nobody-at-all', 'whatever-pass', 401, 'Wrong username or password.'],
      ['banned-user', 'banned-user-password-1', 403, 'Your account is banned.'],
      ['banned-user', 'not-the-password', 401, 'Wrong username or password.'],
    ];
    for (const [username, password, status, message] of cases) {
      const { b, page, form } = await loginPage();
      const res = await b.submit(form.action, page.url, { ...form.fields, username, password });
      expect({ username, status: res.res.status }).toEqual({ username, status });
      expect(await res.res.text()).toContain(message);
    }
  });

  it('refuses a post without the CSRF token, as an HTML page', async () => {
    const { b, page, form } = await loginPage();
    const res = await b.submit(form.action, page.url, { username: 'end-user', password: 'end-user-password-1' });
    expect(res.res.status).toBe(403);
    expect(res.res.headers.get('content-type')).toContain('text/html');
    expect(await res.res.text()).toContain('The form expired');
  });

  it('escapes what the user typed', async () => {
    const { b, page, form } = await loginPage();
    const res = await b.submit(form.action, page.url, { ...form.fields, username: '<script>alert(1)</script>', password: 'x-password-1' });
    const html = await res.res.text();
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;');
  });
});

describe('standing and sessions', () => {
  it('refuses to refresh the tokens of a user banned since', async () => {
    const user = await server.developer('soon-banned');
    const { callback, codeVerifier, state } = await authorize('soon-banned', 'soon-banned-password-1');
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
    await server.api.post(`/api/v1/admin/developers/${user.id}/ban`, undefined, { token: await server.adminToken() });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('asks a signed-in user banned since to log in again, and then says why not', async () => {
    const user = await server.developer('banned-mid-session');
    const first = await authorize('banned-mid-session', 'banned-mid-session-password-1');
    await server.api.post(`/api/v1/admin/developers/${user.id}/ban`, undefined, { token: await server.adminToken() });
    const again = await first.browser.open((await authorizationRequest()).url.href, REDIRECT_URI);
    const html = await again.res.text();
    expect(again.res.status).toBe(200);
    expect(html).toContain('name="username"');
    const login = formWithButton(html, 'Log in');
    const refused = await first.browser.submit(login.action, again.url, { ...login.fields, username: 'banned-mid-session', password: 'banned-mid-session-password-1' });
    expect(refused.res.status).toBe(403);
    expect(await refused.res.text()).toContain('Your account is banned.');
  });

  it('ends the single sign-on session on RP-initiated logout', async () => {
    const first = await authorize('end-user', 'end-user-password-1');
    const tokens = await oidc.authorizationCodeGrant(config, first.callback, { pkceCodeVerifier: first.codeVerifier, expectedState: first.state });
    const startAgain = async () => {
      const { url } = await authorizationRequest();
      return first.browser.open(url.href, REDIRECT_URI);
    };
    // Still signed in: straight back to the application with a code.
    expect(new URL((await startAgain()).url).searchParams.get('code')).toEqual(expect.any(String));

    const confirm = await first.browser.open(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href);
    const html = await confirm.res.text();
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action && xsrf).toBeTruthy();
    const done = await first.browser.submit(action!, confirm.url, { xsrf: xsrf!, logout: 'yes' });
    expect(done.res.status).toBe(200);

    const afterLogout = await startAgain();
    expect(await afterLogout.res.text()).toContain('name="username"');
  });
});

describe('introspection and revocation', () => {
  /** Polls introspection until it says inactive, for at most one second (the contract's bound). */
  /** Whether the grant of this access token is in the revoked_grants table right now. */
  async function revocationRecorded(accessToken: string): Promise<boolean> {
    const grantId = String(decodeJwt(accessToken).grant_id);
    return (await server.portico.context.db.selectFrom('revoked_grants').select('grant_id').where('grant_id', '=', grantId).execute()).length === 1;
  }

  async function inactiveWithinOneSecond(token: string): Promise<boolean> {
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      if (!(await oidc.tokenIntrospection(config, token)).active) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  it('answers for a JWT access token from its signature, expiry and grant, and for a refresh token', async () => {
    const tokens = await signIn();
    const jwt = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(jwt).toMatchObject({
      active: true, token_type: 'Bearer', sub: developer.id, client_id: config.clientMetadata().client_id,
      consumer_id: consumerId, grant_id: expect.any(String), aud: 'urn:portico:api', iss: server.portico.issuer,
    });
    expect(jwt.exp! - jwt.iat!).toBe(7200);
    const refresh = await oidc.tokenIntrospection(config, tokens.refresh_token!);
    expect(refresh).toMatchObject({ active: true, client_id: config.clientMetadata().client_id, sub: developer.id });
    expect((await oidc.tokenIntrospection(config, `${tokens.access_token.slice(0, -4)}AAAA`)).active).toBe(false);
  });

  it("tells another client nothing of a token, and refuses a wrong secret", async () => {
    const tokens = await signIn();
    const other = await server.api.post('/api/v1/applications', { name: 'Other' }, { token: (await server.developer('other-merchant')).token });
    const otherConfig = await oidc.discovery(new URL(server.portico.issuer), other.body.clientId, other.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    expect((await oidc.tokenIntrospection(otherConfig, tokens.access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(otherConfig, tokens.refresh_token!)).active).toBe(false);
    expect((await oidc.tokenIntrospection(config, tokens.refresh_token!)).active).toBe(true);
    const wrong = await fetch(`${server.portico.url}/oauth2/introspect`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: config.clientMetadata().client_id, client_secret: 'w'.repeat(43) }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('revokes the grant with its refresh token: the JWT is refused within a second, the refresh token at once', async () => {
    const tokens = await signIn();
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    // Recorded for every node (and restarts) before the answer: a crash right after it loses nothing.
    expect(await revocationRecorded(tokens.access_token)).toBe(true);
    expect(await inactiveWithinOneSecond(tokens.access_token)).toBe(true);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('revokes the whole grant when the access token itself is revoked', async () => {
    const tokens = await signIn();
    await oidc.tokenRevocation(config, tokens.access_token);
    expect(await inactiveWithinOneSecond(tokens.access_token)).toBe(true);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Another client's revocation of it changes nothing (and is answered 200 all the same).
    const other = await signIn();
    const stranger = await server.api.post('/api/v1/applications', { name: 'Stranger' }, { token: (await server.developer('stranger-merchant')).token });
    const strangerConfig = await oidc.discovery(new URL(server.portico.issuer), stranger.body.clientId, stranger.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    await oidc.tokenRevocation(strangerConfig, other.access_token);
    expect((await oidc.tokenIntrospection(config, other.access_token)).active).toBe(true);
  });

  it('revokes the access token of a user banned since, so that an unban does not bring it back', async () => {
    const user = await server.developer('revoked-while-banned');
    const { callback, codeVerifier, state } = await authorize('revoked-while-banned', 'revoked-while-banned-password-1');
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
    const admin = await server.adminToken();
    await server.api.post(`/api/v1/admin/developers/${user.id}/ban`, undefined, { token: admin });
    await oidc.tokenRevocation(config, tokens.access_token);
    await server.api.post(`/api/v1/admin/developers/${user.id}/unban`, undefined, { token: admin });
    expect(await inactiveWithinOneSecond(tokens.access_token)).toBe(true);
  });

  it('refuses the access tokens of a grant revoked by refresh-token reuse', async () => {
    const tokens = await signIn();
    const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect((await oidc.tokenIntrospection(config, rotated.access_token)).active).toBe(true);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await revocationRecorded(rotated.access_token)).toBe(true);
    expect(await inactiveWithinOneSecond(rotated.access_token)).toBe(true);
    expect(await inactiveWithinOneSecond(tokens.access_token)).toBe(true);
  });
});

describe('first-party applications', () => {
  it('skip the consent page once an admin marks them so; others may not set the flag', async () => {
    const merchant = await server.developer('first-party-owner');
    const app = await server.api.post('/api/v1/applications', { name: 'Our Console', redirectUris: [REDIRECT_URI] }, { token: merchant.token });
    expect((await server.api.patch(`/api/v1/admin/applications/${app.body.id}`, { firstParty: true }, { token: merchant.token })).status).toBe(403);
    const marked = await server.api.patch(`/api/v1/admin/applications/${app.body.id}`, { firstParty: true }, { token: await server.adminToken() });
    expect(marked.status).toBe(200);
    expect(marked.body.firstParty).toBe(true);

    const firstParty = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, app.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const { url, codeVerifier, state } = await authorizationRequest(firstParty, 'openid profile');
    const b = browser();
    const page = await b.open(url.href, REDIRECT_URI);
    const login = formWithButton(await page.res.text(), 'Log in');
    const done = await b.submit(login.action, page.url, { ...login.fields, username: 'end-user', password: 'end-user-password-1' }, REDIRECT_URI);
    expect(done.url.startsWith(REDIRECT_URI)).toBe(true); // no consent page on the way
    const tokens = await oidc.authorizationCodeGrant(firstParty, new URL(done.url), { pkceCodeVerifier: codeVerifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ sub: developer.id, preferred_username: 'end-user' });
    const events = await server.api.get(`/api/v1/admin/audit?targetId=${app.body.id}&action=application.first_party_changed`, { token: await server.adminToken() });
    expect(events.body.items[0].details).toEqual({ from: false, to: true });
  });
});
