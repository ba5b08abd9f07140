import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createMcpProducts, NOTES, subscribe, WEATHER } from './fixtures.js';

const REDIRECT_URI = 'http://localhost:8080/callback';
let server: TestServer;
let config: oidc.Configuration;

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.adminToken();
  const merchant = await server.developer('mcp-merchant');
  const { weather, notes } = await createMcpProducts(server, admin);
  const app = (await server.api.post('/api/v1/applications', { name: 'Agent Desk', redirectUris: [REDIRECT_URI] }, { token: merchant.token })).body;
  // The application's consumer holds approved subscriptions to both products: only the audience tells them apart.
  await subscribe(server, { developer: merchant.token, admin }, app.consumerId, [weather, notes]);
  await server.developer('mcp-user');
  config = await oidc.discovery(new URL(server.portico.issuer), app.clientId, app.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
});
afterAll(async () => { await server?.stop(); });

/** The authorization code flow through the real pages, asking for `resource`; the consent page's text and the tokens. */
async function signIn(resource: string) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI, scope: 'openid profile', state, resource,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  const b = browser();
  const loginPage = await b.open(url.href, REDIRECT_URI);
  const login = formWithButton(await loginPage.res.text(), 'Log in');
  const consentPage = await b.submit(login.action, loginPage.url, { ...login.fields, username: 'mcp-user', password: 'mcp-user-password-1' }, REDIRECT_URI);
  const consentHtml = await consentPage.res.text();
  const consent = formWithButton(consentHtml, 'Allow');
  const done = await b.submit(consent.action, consentPage.url, consent.fields, REDIRECT_URI);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: codeVerifier, expectedState: state }, { resource });
  return { consentHtml, tokens };
}

async function check(uri: string, token: string) {
  const res = await fetch(`${server.portico.url}/gateway/check`, { headers: { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': uri, Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() as { code: number }, challenge: res.headers.get('www-authenticate') };
}

describe('tokens for one MCP product (RFC 8707 resource indicators)', () => {
  it('names the product on the consent page and issues a token whose only audience is the product', async () => {
    const { consentHtml, tokens } = await signIn(WEATHER);
    expect(consentHtml).toContain('<strong>Weather MCP</strong>');
    const { aud } = decodeJwt(tokens.access_token);
    expect([aud].flat()).toEqual([WEATHER]);

    expect(await check('/mcp/weather/message', tokens.access_token)).toMatchObject({ status: 200, body: { code: 1000 } });
    // The same token for another product, subscribed or not, is a token for the wrong resource.
    const elsewhere = await check('/mcp/notes/message', tokens.access_token);
    expect(elsewhere).toMatchObject({ status: 401, body: { code: 1101 } });
    expect(elsewhere.challenge).toContain('error="invalid_token"');
    expect(elsewhere.challenge).toContain(`resource_metadata="${server.portico.issuer}/.well-known/oauth-protected-resource/mcp/notes"`);
    expect(await check('/nothing/here', tokens.access_token)).toMatchObject({ status: 401, body: { code: 1101 } });
  });

  it('keeps a token for Portico\'s API good for every subscribed product', async () => {
    const { tokens } = await signIn('urn:portico:api');
    expect(decodeJwt(tokens.access_token).aud).toBe('urn:portico:api');
    expect(await check('/mcp/weather/message', tokens.access_token)).toMatchObject({ status: 200 });
    expect(await check('/mcp/notes/message', tokens.access_token)).toMatchObject({ status: 200 });
  });

  it('refuses a resource that is no published MCP product', async () => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', resource: 'https://mcp.example.com/unknown', state: 's' });
    const res = await fetch(url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location')!, server.portico.issuer);
    expect(location.searchParams.get('error')).toBe('invalid_target');
  });
});
