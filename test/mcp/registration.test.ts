import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { ADMIN } from '../support/constants.js';
import { manualClock, startTestServer, type TestServer } from '../support/server.js';

const LOOPBACK = 'http://127.0.0.1:33418/callback';
const PUBLIC_CLIENT = {
  client_name: 'Desk Agent', redirect_uris: [LOOPBACK], grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'], token_endpoint_auth_method: 'none',
};
const clock = manualClock();
let server: TestServer;
let admin: string;

beforeAll(async () => {
  // The limit is tested on a server of its own (below).
  server = await startTestServer({ clock, env: { CLIENT_REGISTRATION_MAX_PER_IP: '1000' } });
  admin = await server.adminToken();
});
afterAll(async () => { await server?.stop(); });

async function register(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.portico.issuer}/oauth2/register`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers };
}

async function manage(method: string, uri: string, token: string, body?: unknown) {
  const res = await fetch(uri, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: res.status === 204 ? {} : await res.json() as Record<string, unknown> };
}

const setSettings = (changes: Record<string, unknown>) => server.api.put('/api/v1/admin/settings', changes, { token: admin });

describe('dynamic client registration (RFC 7591)', () => {
  it('is named by both metadata documents', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const doc = await (await fetch(`${server.portico.issuer}${path}`)).json() as Record<string, unknown>;
      expect(doc.registration_endpoint).toBe(`${server.portico.issuer}/oauth2/register`);
    }
  });

  it('registers a public client with a loopback redirect URI, without a secret, and lets it read, change and delete itself (RFC 7592)', async () => {
    const created = await register(PUBLIC_CLIENT);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ client_name: 'Desk Agent', redirect_uris: [LOOPBACK], token_endpoint_auth_method: 'none' });
    expect(created.body.client_secret).toBeUndefined();
    const clientId = String(created.body.client_id);
    const uri = String(created.body.registration_client_uri);
    expect(uri).toBe(`${server.portico.issuer}/oauth2/register/${clientId}`);

    const read = await manage('GET', uri, String(created.body.registration_access_token));
    expect(read).toMatchObject({ status: 200, body: { client_id: clientId, client_name: 'Desk Agent' } });
    // Another client's token, or none valid, reads nothing.
    expect((await manage('GET', uri, 'not-a-token')).status).toBe(401);
    const other = await register(PUBLIC_CLIENT);
    expect((await manage('GET', uri, String(other.body.registration_access_token))).status).toBe(401);
    // An application's own client has no registration to manage, whatever token is shown.
    const developer = await server.developer('reg-owner');
    const app = (await server.api.post('/api/v1/applications', { name: 'Console App', redirectUris: ['https://app.example.com/cb'] }, { token: developer.token })).body;
    const own = await register(PUBLIC_CLIENT);
    expect((await manage('GET', `${server.portico.issuer}/oauth2/register/${app.clientId}`, String(own.body.registration_access_token))).status).toBe(401);
    expect((await manage('DELETE', `${server.portico.issuer}/oauth2/register/${app.clientId}`, String(own.body.registration_access_token))).status).toBe(401);
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: developer.token })).status).toBe(200);

    const updated = await manage('PUT', uri, String(created.body.registration_access_token), { ...PUBLIC_CLIENT, client_id: clientId, client_name: 'Desk Agent 2' });
    expect(updated).toMatchObject({ status: 200, body: { client_name: 'Desk Agent 2' } });
    // The token rotates on update: the old one is spent.
    const rotated = String(updated.body.registration_access_token);
    expect(rotated).not.toBe(created.body.registration_access_token);
    expect((await manage('GET', uri, String(created.body.registration_access_token))).status).toBe(401);
    // An update keeps the authentication method the client registered with, and the rules of a registration.
    const switched = await manage('PUT', uri, rotated, { ...PUBLIC_CLIENT, client_id: clientId, token_endpoint_auth_method: 'client_secret_basic' });
    expect(switched).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
    const widened = await manage('PUT', uri, rotated, { ...PUBLIC_CLIENT, client_id: clientId, grant_types: ['authorization_code', 'client_credentials'] });
    expect(widened).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
    const elsewhere = await manage('PUT', uri, rotated, { ...PUBLIC_CLIENT, client_id: clientId, redirect_uris: ['http://agent.example.com/cb'] });
    expect(elsewhere).toMatchObject({ status: 400, body: { error: 'invalid_redirect_uri' } });
    expect((await manage('GET', uri, rotated)).body).toMatchObject({ grant_types: PUBLIC_CLIENT.grant_types, redirect_uris: [LOOPBACK] });

    expect((await manage('DELETE', uri, rotated)).status).toBe(204);
    const row = await server.portico.services.clients.lookup(clientId);
    expect(row).toBeUndefined();
  });

  it('refuses what a self-registered client may not be', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ redirect_uris: ['http://agent.example.com/callback'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['cursor://oauth/callback'] }, 'invalid_redirect_uri'],
      [{ post_logout_redirect_uris: ['http://agent.example.com/bye'] }, 'invalid_client_metadata'],
      [{ redirect_uris: 'http://127.0.0.1/cb' }, 'invalid_redirect_uri'],
      [{ client_name: 'NUL \u0000 inside' }, 'invalid_client_metadata'],
      [{ client_name: 'unpaired \ud800 surrogate' }, 'invalid_client_metadata'],
      [{ redirect_uris: ['http://127.0.0.1/cb\u0000'] }, 'invalid_client_metadata'],
      [{ token_endpoint_auth_method: 'client_secret_basic' }, 'invalid_client_metadata'],
      [{ token_endpoint_auth_method: undefined }, 'invalid_client_metadata'], // RFC 7591's default is a confidential client
      [{ grant_types: ['client_credentials'], response_types: [] }, 'invalid_client_metadata'],
      [{ grant_types: ['authorization_code', 'implicit'] }, 'invalid_client_metadata'],
      [{ response_types: ['code id_token'] }, 'invalid_client_metadata'],
      [{ response_types: ['code', 'id_token'] }, 'invalid_client_metadata'],
      [{ jwks_uri: 'https://agent.example.com/jwks' }, 'invalid_client_metadata'],
      [{ sector_identifier_uri: 'https://agent.example.com/sector' }, 'invalid_client_metadata'],
      [{ tenant_id: '7a1d9a52-4b8e-4a37-9f5c-1d2e3f4a5b6c' }, 'invalid_client_metadata'],
    ];
    const before = await server.portico.context.db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    for (const [change, error] of cases) {
      const res = await register({ ...PUBLIC_CLIENT, ...change });
      expect([change, res.status, res.body.error]).toEqual([change, 400, error]);
      expect(typeof res.body.error_description).toBe('string');
    }
    const after = await server.portico.context.db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    // https redirect URIs anywhere are fine.
    expect((await register({ ...PUBLIC_CLIENT, redirect_uris: ['https://agent.example.com/callback'] })).status).toBe(201);
  });

  it('shows errors of an authorization request on Portico\'s page, not at a registered https redirect URI (no open redirect)', async () => {
    const web = await register({ ...PUBLIC_CLIENT, redirect_uris: ['https://agent.example.com/callback'] });
    const loopback = await register(PUBLIC_CLIENT);
    // No code_challenge: refused before any page, which would normally go back to the redirect URI.
    const authorize = (clientId: unknown, redirectUri: string) => fetch(`${server.portico.issuer}/oauth2/authorize?${new URLSearchParams({
      client_id: String(clientId), redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state: 's',
    })}`, { redirect: 'manual' });
    const shown = await authorize(web.body.client_id, 'https://agent.example.com/callback');
    expect(shown.status).toBe(400);
    expect(shown.headers.get('location')).toBeNull();
    const page = await shown.text();
    expect(page).toContain('did not send you on to agent.example.com');
    expect(page).toContain('requires PKCE');
    // To the user's own machine the error goes back as usual (the client is waiting for it there).
    const sent = await authorize(loopback.body.client_id, LOOPBACK);
    expect(sent.status).toBe(303);
    expect(new URL(sent.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('registers confidential clients only while the administrator allows them', async () => {
    expect((await setSettings({ confidentialClientRegistration: true })).status).toBe(200);
    try {
      const res = await register({ ...PUBLIC_CLIENT, token_endpoint_auth_method: 'client_secret_basic' });
      expect(res.status).toBe(201);
      expect(typeof res.body.client_secret).toBe('string');
      // The secret is stored sealed, never as it is.
      const row = await server.portico.context.db.selectFrom('oauth_clients').select(['sealed_secret', 'metadata']).where('client_id', '=', String(res.body.client_id)).executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain(String(res.body.client_secret));
    } finally {
      await setSettings({ confidentialClientRegistration: false });
    }
  });

  it('asks for an initial access token when registration is not open, and counts what each token registered', async () => {
    expect((await setSettings({ clientRegistration: 'token' })).status).toBe(200);
    try {
      const without = await register(PUBLIC_CLIENT);
      expect(without).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
      expect((await register(PUBLIC_CLIENT, { authorization: 'Bearer rat_made-up' })).status).toBe(401);

      const issued = await server.api.post('/api/v1/admin/registration-tokens', { name: 'CI agents', expiresInDays: 1 }, { token: admin });
      expect(issued.status).toBe(201);
      const token = String(issued.body.token);
      expect(token.startsWith('rat_')).toBe(true);
      expect((await register(PUBLIC_CLIENT, { authorization: `Bearer ${token}` })).status).toBe(201);
      // A refused registration is not counted.
      expect((await register({ ...PUBLIC_CLIENT, redirect_uris: ['http://agent.example.com/cb'] }, { authorization: `Bearer ${token}` })).status).toBe(400);
      const listed = await server.api.get('/api/v1/admin/registration-tokens', { token: admin });
      expect(listed.body.items).toEqual([expect.objectContaining({ id: issued.body.id, name: 'CI agents', registrations: 1 })]);
      expect(JSON.stringify(listed.body)).not.toContain(token);

      // Expired after its days, and gone once revoked.
      clock.advance(25 * 3600 * 1000);
      expect((await register(PUBLIC_CLIENT, { authorization: `Bearer ${token}` })).status).toBe(401);
      admin = await server.login(ADMIN.username, ADMIN.password); // the session ended with the day
      expect((await server.api.delete(`/api/v1/admin/registration-tokens/${issued.body.id}`, { token: admin })).status).toBe(204);
      expect((await server.api.get('/api/v1/admin/registration-tokens', { token: admin })).body.items).toEqual([]);
      expect((await server.api.delete(`/api/v1/admin/registration-tokens/${issued.body.id}`, { token: admin })).status).toBe(404);
    } finally {
      admin = await server.login(ADMIN.username, ADMIN.password);
      await setSettings({ clientRegistration: 'open' });
    }
  });

  it('deletes registered clients nobody authorized within a day', async () => {
    const fresh = String((await register(PUBLIC_CLIENT)).body.client_id);
    clock.advance(23 * 3600 * 1000);
    const older = String((await register(PUBLIC_CLIENT)).body.client_id);
    clock.advance(2 * 3600 * 1000);
    const accessTokensOf = async (clientId: string) => (await server.portico.context.db.selectFrom('oidc_payloads').select('id')
      .where('model', '=', 'RegistrationAccessToken').where(sql<string>`payload->>'clientId'`, '=', clientId).execute()).length;
    expect(await accessTokensOf(fresh)).toBe(1);
    expect(await server.portico.services.clientRegistration.sweepUnclaimed()).toBeGreaterThanOrEqual(1);
    expect(await server.portico.services.clients.lookup(fresh)).toBeUndefined();
    expect(await server.portico.services.clients.lookup(older)).toBeDefined();
    // Their registration access tokens go with them.
    expect(await accessTokensOf(fresh)).toBe(0);
    expect(await accessTokensOf(older)).toBe(1);
  });
});

describe('the registration rate limit', () => {
  let limited: TestServer;
  beforeAll(async () => { limited = await startTestServer({ env: { CLIENT_REGISTRATION_MAX_PER_IP: '2' } }); });
  afterAll(async () => { await limited?.stop(); });

  it('answers 429 slow_down with Retry-After past the limit per address', async () => {
    const post = () => fetch(`${limited.portico.issuer}/oauth2/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(PUBLIC_CLIENT) });
    expect((await post()).status).toBe(201);
    expect((await post()).status).toBe(201);
    const third = await post();
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: 'slow_down' });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
