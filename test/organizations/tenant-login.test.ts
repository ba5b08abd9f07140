import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { unseal } from '../../src/crypto/seal.js';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ORGS, organizationHelpers } from './support.js';

const REDIRECT_URI = 'http://localhost:8080/callback';
const PASSWORD = (name: string) => `${name}-password-1`;
let server: TestServer;
let h: ReturnType<typeof organizationHelpers>;
let app: { id: string; clientId: string; clientSecret: string };
let org: { id: string };
let install: { id: string };
let tenantClient: { clientId: string; clientSecret: string };

/** The tenant client of an install, secret unsealed as the server holds it (its delivery to the merchant is another route). */
async function tenantClientOf(installId: string) {
  const { db, keys } = server.portico.context;
  const row = await db.selectFrom('oauth_clients').select(['client_id', 'sealed_secret']).where('install_id', '=', installId).executeTakeFirstOrThrow();
  return { clientId: row.client_id, clientSecret: unseal(keys.seal, row.sealed_secret!, `oauth_clients:${row.client_id}`) };
}

const discover = (client: { clientId: string; clientSecret: string }) =>
  oidc.discovery(new URL(server.portico.issuer), client.clientId, client.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });

/** An authorization request for the tenant, through the real login page; stops at the callback, the consent or the refusal page. */
async function signInForTenant(username: string, options: { clientId?: string; tenantId?: string | null } = {}) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const url = new URL(`${server.portico.issuer}/oauth2/authorize`);
  url.search = new URLSearchParams({
    client_id: options.clientId ?? app.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid profile', state: 'tenant-state',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    ...(options.tenantId === null ? {} : { tenant_id: options.tenantId ?? org.id }),
  }).toString();
  const b = browser();
  const loginPage = await b.open(url.href, REDIRECT_URI);
  const login = formWithButton(await loginPage.res.text(), 'Log in');
  const next = await b.submit(login.action, loginPage.url, { ...login.fields, username, password: PASSWORD(username) }, REDIRECT_URI);
  return { ...next, browser: b, codeVerifier };
}

/** Allows on the consent page and returns the callback URL. */
async function consent(step: Awaited<ReturnType<typeof signInForTenant>>) {
  const html = await step.res.text();
  const allow = formWithButton(html, 'Allow');
  return new URL((await step.browser.submit(allow.action, step.url, allow.fields, REDIRECT_URI)).url);
}

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.adminToken();
  h = organizationHelpers(server, () => admin);
  const merchant = await server.developer('tl-merchant');
  const created = await server.api.post('/api/v1/applications', { name: 'Tenant Suite', redirectUris: [REDIRECT_URI] }, { token: merchant.token });
  app = created.body;
  org = await h.organization('tl-org');
  for (const name of ['tl-granted', 'tl-ungranted', 'tl-outsider']) await server.developer(name);
  await h.member(org.id, { username: 'tl-granted' });
  await h.member(org.id, { username: 'tl-ungranted' });
  install = await h.created(`${ORGS}/${org.id}/installs`, { applicationId: app.id });
  const granted = (await server.api.get(`${ORGS}/${org.id}/members`, { token: admin })).body.items.find((m: { username: string }) => m.username === 'tl-granted');
  await h.created(`${ORGS}/${org.id}/installs/${install.id}/grants`, { kind: 'member', id: granted.accountId });
  tenantClient = await tenantClientOf(install.id);
});
afterAll(async () => { await server?.stop(); });

describe('tenant login', () => {
  it('lets a granted member in: tenant_id in the callback, the ID token, the access token and introspection; the tenant client exchanges the code', async () => {
    const step = await signInForTenant('tl-granted');
    const callback = await consent(step);
    expect(callback.searchParams.get('tenant_id')).toBe(org.id);
    expect(callback.searchParams.get('state')).toBe('tenant-state');
    expect(callback.searchParams.get('iss')).toBe(server.portico.issuer);

    // The code belongs to the tenant client: the application's own credentials cannot redeem it.
    const appConfig = await discover(app);
    await expect(oidc.authorizationCodeGrant(appConfig, callback, { pkceCodeVerifier: step.codeVerifier, expectedState: 'tenant-state' })).rejects.toThrow();

    const config = await discover(tenantClient);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: step.codeVerifier, expectedState: 'tenant-state' });
    expect(tokens.claims()).toMatchObject({ tenant_id: org.id, preferred_username: 'tl-granted' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ tenant_id: org.id, client_id: tenantClient.clientId });
    const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, tenant_id: org.id });

    // Refreshes stay the tenant's; client credentials stay the application's own client's.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ tenant_id: org.id });
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error_description: 'requested grant type is not allowed for this client' });
  });

  it('follows the application: a redirect URI changed on it is the tenant client\'s at once', async () => {
    const merchantToken = (await server.api.post('/api/v1/auth/login', { username: 'tl-merchant', password: PASSWORD('tl-merchant') })).body.token;
    const other = 'http://localhost:8080/other-callback';
    expect((await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: [other] }, { token: merchantToken })).status).toBe(200);
    const res = await fetch(`${server.portico.issuer}/oauth2/authorize?${new URLSearchParams({
      client_id: tenantClient.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256',
    })}`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('redirect_uri');
    expect((await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: [REDIRECT_URI] }, { token: merchantToken })).status).toBe(200);
  });

  it('takes the tenant client itself, without tenant_id, as a login for its tenant', async () => {
    const step = await signInForTenant('tl-granted', { clientId: tenantClient.clientId, tenantId: null });
    const callback = step.url.startsWith(REDIRECT_URI) ? new URL(step.url) : await consent(step);
    expect(callback.searchParams.get('tenant_id')).toBe(org.id);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('shows a member without a grant and an outsider why, then sends access_denied with the reason to the client', async () => {
    for (const [username, reason] of [['tl-ungranted', 'has not granted you access'], ['tl-outsider', 'not a member of this organization']] as const) {
      const step = await signInForTenant(username);
      expect(step.res.status).toBe(403);
      const html = await step.res.text();
      expect(html).toContain(reason);
      const back = formWithButton(html, 'Back to Tenant Suite');
      const callback = new URL((await step.browser.submit(back.action, step.url, back.fields, REDIRECT_URI)).url);
      expect(callback.searchParams.get('error')).toBe('access_denied');
      expect(callback.searchParams.get('error_description')).toContain(reason);
      expect(callback.searchParams.get('state')).toBe('tenant-state');
      expect(callback.searchParams.get('code')).toBeNull();
    }
  });

  it('refuses an unknown organization and a disabled install, and lets the member in again once enabled', async () => {
    const unknown = await signInForTenant('tl-granted', { tenantId: '00000000-0000-4000-8000-000000000000' });
    expect(await unknown.res.text()).toContain('There is no such organization.');

    const before = await signInForTenant('tl-granted');
    const config = await discover(tenantClient);
    const tokens = await oidc.authorizationCodeGrant(config, before.url.startsWith(REDIRECT_URI) ? new URL(before.url) : await consent(before),
      { pkceCodeVerifier: before.codeVerifier, expectedState: 'tenant-state' });

    const path = `${ORGS}/${org.id}/installs/${install.id}`;
    expect((await server.api.patch(path, { enabled: false }, { token: await server.adminToken() })).status).toBe(200);
    const disabled = await signInForTenant('tl-granted');
    expect(disabled.res.status).toBe(403);
    expect(await disabled.res.text()).toContain('The organization has disabled this application.');
    // Its tenant client gets no tokens meanwhile, not even by refresh.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toThrow();

    expect((await server.api.patch(path, { enabled: true }, { token: await server.adminToken() })).status).toBe(200);
    const again = await signInForTenant('tl-granted');
    expect((await consent(again)).searchParams.get('tenant_id')).toBe(org.id);
  });
});
