import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { seal } from '../../src/crypto/seal.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let owner: { id: string; token: string };
let defaultConsumerId: string;
beforeAll(async () => {
  server = await startTestServer();
  owner = await server.developer('merchant');
  defaultConsumerId = (await server.portico.services.consumers.listOfAccount(owner.id))[0]!.id;
});
afterAll(async () => { await server?.stop(); });

async function createApplication(body: Record<string, unknown> = {}, token = owner.token) {
  const res = await server.api.post('/api/v1/applications', { name: 'Merchant back end', ...body }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body as { id: string; clientId: string; clientSecret: string } & Record<string, unknown>;
}

/** openid-client against the issuer's discovery, as a merchant would configure it. */
function discover(clientId: string, clientSecret: string, auth?: oidc.ClientAuth) {
  return oidc.discovery(new URL(server.portico.issuer), clientId, clientSecret, auth, { execute: [oidc.allowInsecureRequests] });
}

async function verifyAccessToken(token: string) {
  const jwks = createRemoteJWKSet(new URL(`${server.portico.issuer}/oauth2/jwks`));
  return jwtVerify(token, jwks, { issuer: server.portico.issuer, typ: 'at+jwt' });
}

describe('applications as OAuth clients', () => {
  it('creates an application whose secret is shown once and stored sealed', async () => {
    const app = await createApplication({ redirectUris: ['http://localhost:8080/callback'] });
    expect(app).toMatchObject({
      stage: 'development', dailyQuota: 5000, consumerId: defaultConsumerId, firstParty: false,
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], tokenEndpointAuthMethod: 'client_secret_basic',
      redirectUris: ['http://localhost:8080/callback'],
    });
    expect(app.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const shown = await server.api.get(`/api/v1/applications/${app.id}`, { token: owner.token });
    expect(shown.body.clientSecret).toBeUndefined();
    expect(shown.body.clientId).toBe(app.clientId);
    const row = await server.portico.context.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', app.clientId).executeTakeFirstOrThrow();
    expect(row.sealed_secret).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(app.clientSecret);
  });

  it.each([
    [{ redirectUris: ['http://merchant.example.com/cb'] }, 'body.redirectUris.0'],
    [{ redirectUris: ['https://merchant.example.com/cb#frag'] }, 'body.redirectUris.0'],
    [{ redirectUris: ['/relative'] }, 'body.redirectUris.0'],
    [{ grantTypes: ['password'] }, 'body.grantTypes.0'],
    [{ tokenEndpointAuthMethod: 'private_key_jwt' }, 'body.jwksUri'],
    [{ consumerId: 'not-a-uuid' }, 'body.consumerId'],
    [{ clientSecret: 'chosen' }, 'body'],
  ])('refuses %j', async (body, path) => {
    const res = await server.api.post('/api/v1/applications', { name: 'Bad', ...body }, { token: owner.token });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("hides another owner's applications and consumers (404)", async () => {
    const app = await createApplication();
    const other = await server.developer('competitor');
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: other.token })).status).toBe(404);
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: other.token })).status).toBe(404);
    const res = await server.api.post('/api/v1/applications', { name: 'Sneaky', consumerId: defaultConsumerId }, { token: other.token });
    expect(res.status).toBe(404);
    expect((await server.api.get('/api/v1/applications', { token: other.token })).body.items).toEqual([]);
  });
});

describe('client_credentials', () => {
  it('issues a 2-hour RS256 JWT access token with the contract claims', async () => {
    const app = await createApplication();
    const config = await discover(app.clientId, app.clientSecret);
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.expires_in).toBe(7200);
    const { payload, protectedHeader } = await verifyAccessToken(tokens.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(payload.exp! - payload.iat!).toBe(7200);
    expect(payload).toMatchObject({ aud: 'urn:portico:api', client_id: app.clientId, sub: app.clientId, consumer_id: defaultConsumerId });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.grant_id).toBeUndefined();
  });

  it('refuses a wrong secret', async () => {
    const app = await createApplication();
    const config = await discover(app.clientId, 'x'.repeat(43));
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('answers on the alias with the secret in the Basic header or in the form, for basic and post clients', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const app = await createApplication({ tokenEndpointAuthMethod: method });
      const basic = Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64');
      const viaHeader = await fetch(`${server.portico.url}/api/v1/oauth2/token`, {
        method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      const viaForm = await fetch(`${server.portico.url}/api/v1/oauth2/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }),
      });
      for (const res of [viaHeader, viaForm]) {
        expect({ method, status: res.status }).toEqual({ method, status: 200 });
        const body = await res.json() as { access_token: string; expires_in: number };
        expect(body.expires_in).toBe(7200);
        expect(decodeProtectedHeader(body.access_token).typ).toBe('at+jwt');
      }
    }
  });

  it('stops issuing after a secret rotation, a ban of the owner, or deletion', async () => {
    const dev = await server.developer('rotating-dev');
    const app = await createApplication({}, dev.token);
    const rotated = await server.api.post(`/api/v1/applications/${app.id}/secret`, undefined, { token: dev.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.clientSecret).not.toBe(app.clientSecret);
    await expect(oidc.clientCredentialsGrant(await discover(app.clientId, app.clientSecret))).rejects.toMatchObject({ error: 'invalid_client' });
    const config = await discover(app.clientId, rotated.body.clientSecret);
    await oidc.clientCredentialsGrant(config);

    const admin = await server.adminToken();
    await server.api.post(`/api/v1/admin/developers/${dev.id}/ban`, undefined, { token: admin });
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
    await server.api.post(`/api/v1/admin/developers/${dev.id}/unban`, undefined, { token: admin });
    await oidc.clientCredentialsGrant(config);

    const devToken = await server.login('rotating-dev', 'rotating-dev-password-1');
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: devToken })).status).toBe(204);
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
  });
});

describe('the client cache', () => {
  it('drops a client when another node changes it (NOTIFY)', async () => {
    const app = await createApplication();
    const config = await discover(app.clientId, app.clientSecret);
    await oidc.clientCredentialsGrant(config); // now cached on this node
    const { db, bus, keys } = server.portico.context;
    // As another node rotating the secret would: new sealed secret, then the notification.
    const newSecret = 'n'.repeat(43);
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('oauth_clients').set({ sealed_secret: seal(keys.seal, newSecret, `oauth_clients:${app.clientId}`) })
        .where('client_id', '=', app.clientId).execute();
      await bus.publish(trx, 'oauth_clients', { clientId: app.clientId });
    });
    await new Promise((r) => setTimeout(r, 100));
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject({ error: 'invalid_client' });
    await oidc.clientCredentialsGrant(await discover(app.clientId, newSecret));
  });
});
