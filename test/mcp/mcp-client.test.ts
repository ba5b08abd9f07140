import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { logIn, openPage } from '../portal/pages.js';
import { createMcpProducts, subscribe, WEATHER } from './fixtures.js';

// An MCP client as the MCP authorization specification has it, starting from nothing but the
// MCP server's URL: the gateway's 401 -> protected resource metadata (RFC 9728) -> authorization
// server metadata (RFC 8414) -> dynamic registration (RFC 7591) -> authorization code + PKCE +
// resource (RFC 8707), the user logging in and consenting on the real pages -> calls through
// the gateway, counted against the consumer the user chose.
const REDIRECT_URI = 'http://127.0.0.1:53682/callback';
let server: TestServer;
let user: { id: string; token: string; paying: string; spare: string };
let other: { id: string; token: string; paying: string };

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.adminToken();
  const { weather, notes } = await createMcpProducts(server, admin);
  /** A developer whose default consumer holds approved subscriptions to `products`, and a second consumer holding none. */
  async function developer(username: string, products: string[]) {
    const account = await server.developer(username);
    const consumers = (await server.api.get('/api/v1/consumers', { token: account.token })).body.items as Array<{ id: string; isDefault: boolean }>;
    const paying = consumers.find((c) => c.isDefault)!.id;
    await subscribe(server, { developer: account.token, admin }, paying, products);
    const spare = (await server.api.post('/api/v1/consumers', { name: 'spare' }, { token: account.token })).body.id as string;
    return { ...account, paying, spare };
  }
  user = await developer('agent-user', [weather, notes]);
  other = await developer('second-user', [weather]);
});
afterAll(async () => { await server?.stop(); });

async function gatewayCheck(uri: string, token?: string) {
  const res = await fetch(`${server.portico.url}/gateway/check`, {
    headers: { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': uri, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  });
  return { status: res.status, headers: res.headers, body: await res.json() as { code: number } };
}

/** What the MCP client learns before it has any client id: where to register, and what to ask for. */
async function discover(mcpPath: string) {
  const unauthorized = await gatewayCheck(mcpPath);
  expect(unauthorized.status).toBe(401);
  const metadataUrl = /resource_metadata="([^"]+)"/.exec(unauthorized.headers.get('www-authenticate') ?? '')?.[1];
  expect(metadataUrl).toBe(`${server.portico.issuer}/.well-known/oauth-protected-resource/mcp/weather`);
  const resource = await (await fetch(metadataUrl!)).json() as { resource: string; authorization_servers: string[]; scopes_supported: string[] };
  expect(resource.resource).toBe(WEATHER);
  return resource;
}

/** Registers with openid-client against the RFC 8414 document (`algorithm: 'oauth2'`), as a public client. */
async function register(issuer: string) {
  return oidc.dynamicClientRegistration(new URL(issuer), {
    client_name: 'Weather Desk', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'], token_endpoint_auth_method: 'none',
  }, oidc.None(), { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
}

/** The user's part: log in on Portico's form, choose the consumer on the consent page, allow. Then the client's code exchange. */
async function authorize(config: oidc.Configuration, scope: string, who: { username: string; consumerId: string }) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope, state, resource: WEATHER,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  const b = browser();
  const loginPage = await b.open(url.href, REDIRECT_URI);
  const login = formWithButton(await loginPage.res.text(), 'Log in');
  const consentPage = await b.submit(login.action, loginPage.url, { ...login.fields, username: who.username, password: `${who.username}-password-1` }, REDIRECT_URI);
  const consentHtml = await consentPage.res.text();
  const consent = formWithButton(consentHtml, 'Allow');
  const done = await b.submit(consent.action, consentPage.url, { ...consent.fields, consumerId: who.consumerId }, REDIRECT_URI);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: codeVerifier, expectedState: state }, { resource: WEATHER });
  return { consentHtml, tokens };
}

describe('an MCP client, from the MCP server URL to an allowed call', () => {
  let config: oidc.Configuration;
  let tokens: oidc.TokenEndpointResponse;

  it('discovers, registers, and gets a token for the MCP server only, paid by the consumer chosen at consent', async () => {
    const resource = await discover('/mcp/weather/tools/call');
    config = await register(resource.authorization_servers[0]!);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.portico.issuer);
    expect(metadata.registration_endpoint).toBe(`${server.portico.issuer}/oauth2/register`);
    expect(metadata.code_challenge_methods_supported).toContain('S256');
    expect(config.clientMetadata().client_secret).toBeUndefined();

    const signedIn = await authorize(config, resource.scopes_supported.join(' '), { username: 'agent-user', consumerId: user.paying });
    tokens = signedIn.tokens;
    expect(signedIn.consentHtml).toContain('<strong>Weather MCP</strong>');
    expect(signedIn.consentHtml).toContain('registered itself');
    expect(signedIn.consentHtml).toContain('<strong>127.0.0.1:53682</strong>');
    const claims = decodeJwt(tokens.access_token);
    expect([claims.aud].flat()).toEqual([WEATHER]);
    expect(claims).toMatchObject({ sub: user.id, consumer_id: user.paying });

    const allowed = await gatewayCheck('/mcp/weather/tools/call', tokens.access_token);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-portico-consumer')).toBe(user.paying);
    expect(allowed.headers.get('x-portico-developer')).toBe(user.id);
    expect(allowed.headers.get('x-portico-user')).toBe(user.id);
    expect(allowed.headers.get('x-ratelimit-remaining')).toBe(String(Number(allowed.headers.get('x-ratelimit-limit')) - 1));
    // The same token under another product, subscribed or not, is refused as a token for another resource.
    const elsewhere = await gatewayCheck('/mcp/notes/tools/call', tokens.access_token);
    expect(elsewhere).toMatchObject({ status: 401, body: { code: 1101 } });
    expect(elsewhere.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('belongs, as an application, to the developer who first authorized it', async () => {
    const apps = (await server.api.get('/api/v1/applications', { token: user.token })).body.items as Array<Record<string, unknown>>;
    const app = apps.find((a) => a.clientId === config.clientMetadata().client_id);
    expect(app).toMatchObject({ name: 'Weather Desk', registered: true, consumerId: user.paying, stage: 'development', redirectUris: [REDIRECT_URI] });
    // Its settings are the client's own (RFC 7592): the console offers neither an edit form nor a secret, only deletion.
    expect((await server.api.patch(`/api/v1/applications/${app!.id}`, { name: 'Renamed' }, { token: user.token })).status).toBe(409);
    expect((await server.api.post(`/api/v1/applications/${app!.id}/secret`, {}, { token: user.token })).status).toBe(409);
    const console = await logIn(server.portico.url, 'agent-user', 'agent-user-password-1');
    expect((await openPage(console, `${server.portico.url}/console/applications`)).html).toMatch(/Weather Desk[\s\S]*<span class="badge">registered<\/span>/);
    const page = (await openPage(console, `${server.portico.url}/console/applications/${app!.id}`)).html;
    expect(page).toContain('This client registered itself');
    expect(page).not.toContain('Rotate secret');
    expect(page).not.toContain('Save changes');
    expect(page).toContain(`/console/applications/${app!.id}/delete`);
    expect((await server.api.get('/api/v1/applications', { token: other.token })).body.items).toEqual([]);
  });

  it('counts another user\'s calls against their own consumer, which needs its own subscription', async () => {
    // The second user picks a consumer without a subscription: the gateway refuses (1300).
    const spare = await authorize(config, 'openid', { username: 'second-user', consumerId: (await server.api.post('/api/v1/consumers', { name: 'unsubscribed' }, { token: other.token })).body.id });
    expect(await gatewayCheck('/mcp/weather/tools/call', spare.tokens.access_token)).toMatchObject({ status: 403, body: { code: 1300 } });
    // Choosing again on a new consent (prompt=consent is implied: a new grant) switches the consumer.
    const paying = await authorize(config, 'openid profile', { username: 'second-user', consumerId: other.paying });
    const allowed = await gatewayCheck('/mcp/weather/tools/call', paying.tokens.access_token);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('x-portico-consumer')).toBe(other.paying);
    expect(allowed.headers.get('x-portico-developer')).toBe(other.id);
    // Still the first user's application.
    expect((await server.api.get('/api/v1/applications', { token: other.token })).body.items).toEqual([]);
  });

  it('cannot be installed in an organization, and cannot manage its registration while suspended', async () => {
    const admin = await server.adminToken();
    const app = ((await server.api.get('/api/v1/applications', { token: user.token })).body.items as Array<{ id: string; clientId: string }>)
      .find((a) => a.clientId === config.clientMetadata().client_id)!;
    const org = await server.api.post('/api/v1/admin/organizations', { slug: 'acme-mcp', name: 'Acme' }, { token: admin });
    expect((await server.api.post(`/api/v1/admin/organizations/${org.body.id}/installs`, { applicationId: app.id }, { token: admin })).status).toBe(409);

    const { registration_client_uri: uri, registration_access_token: token } = config.clientMetadata() as unknown as { registration_client_uri: string; registration_access_token: string };
    const manage = async () => (await fetch(uri, { headers: { authorization: `Bearer ${token}` } })).status;
    expect(await manage()).toBe(200);
    expect((await server.api.post(`/api/v1/admin/applications/${app.id}/suspend`, {}, { token: admin })).status).toBe(200);
    expect(await manage()).toBe(403);
    expect((await server.api.post(`/api/v1/admin/applications/${app.id}/reinstate`, {}, { token: admin })).status).toBe(200);
    // Its registration access token survived the suspension.
    expect(await manage()).toBe(200);
  });

  it('refreshes, and stops when the owner deletes it in the console', async () => {
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, { resource: WEATHER });
    expect([decodeJwt(refreshed.access_token).aud].flat()).toEqual([WEATHER]);
    const app = ((await server.api.get('/api/v1/applications', { token: user.token })).body.items as Array<{ id: string; clientId: string }>)
      .find((a) => a.clientId === config.clientMetadata().client_id)!;
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: user.token })).status).toBe(204);
    expect(await gatewayCheck('/mcp/weather/tools/call', refreshed.access_token)).toMatchObject({ status: 401, body: { code: 1101 } });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!, { resource: WEATHER })).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
