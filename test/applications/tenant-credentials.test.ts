import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compactDecrypt, decodeProtectedHeader, importPKCS8 } from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';

const ORGS = '/api/v1/admin/organizations';
let server: TestServer;
let admin: string;
let merchant: { id: string; token: string };
let app: { id: string; clientId: string; clientSecret: string };
let orgId: string;

const rsa = (modulusLength: number) => generateKeyPairSync('rsa', { modulusLength, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const merchantKey = rsa(3072);

/** The token endpoint's answer to the tenant client's credentials (a made-up code: only the client authentication matters). */
async function tokenEndpointWith(clientId: string, clientSecret: string) {
  const res = await fetch(`${server.portico.url}/api/v1/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: 'not-a-code', redirect_uri: 'http://localhost:8080/callback' }),
  });
  return (await res.json() as { error: string }).error;
}

async function clientCredentialsToken(client: { clientId: string; clientSecret: string }) {
  const res = await server.api.post('/openapi/v1/token', { clientId: client.clientId, clientSecret: client.clientSecret });
  return res.body.token as string;
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  merchant = await server.developer('tc-merchant');
  app = (await server.api.post('/api/v1/applications', { name: 'Tenant Creds', redirectUris: ['http://localhost:8080/callback'] }, { token: merchant.token })).body;
  orgId = (await server.api.post(ORGS, { slug: 'tc-org', name: 'TC Org' }, { token: admin })).body.id;
});
afterAll(async () => { await server?.stop(); });

describe('the merchant\'s public key', () => {
  it('takes an RSA public key of at least 3072 bits, as PEM or JWK, and shows which one is registered', async () => {
    const put = await server.api.put(`/api/v1/applications/${app.id}/public-key`, { pem: merchantKey.publicKey }, { token: merchant.token });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ thumbprint: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), bits: 3072 });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: merchant.token })).body.publicKey).toEqual(put.body);
    const jwk = (await import('node:crypto')).createPublicKey(merchantKey.publicKey).export({ format: 'jwk' });
    const again = await server.api.put(`/api/v1/applications/${app.id}/public-key`, { jwk }, { token: merchant.token });
    expect(again.body).toEqual(put.body); // the same key, the same thumbprint
  });

  it('refuses short, non-RSA, private and unreadable keys with 422 and the reason, and changes nothing', async () => {
    const path = `/api/v1/applications/${app.id}/public-key`;
    const before = (await server.api.get(`/api/v1/applications/${app.id}`, { token: merchant.token })).body.publicKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    for (const [body, reason] of [
      [{ pem: rsa(2048).publicKey }, '2048 bits; at least 3072'],
      [{ pem: ec.publicKey }, 'must be RSA'],
      [{ pem: merchantKey.privateKey }, 'private key'],
      [{ jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB' } }, 'private key'],
      [{ pem: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----' }, 'could not be read'],
    ] as const) {
      const res = await server.api.put(path, body, { token: merchant.token });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'public_key_rejected', detail: expect.stringContaining(reason) });
    }
    expect((await server.api.put(path, { pem: 'x', jwk: {} }, { token: merchant.token })).status).toBe(400);
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: merchant.token })).body.publicKey).toEqual(before);
    const stranger = await server.developer('tc-stranger');
    expect((await server.api.put(path, { pem: merchantKey.publicKey }, { token: stranger.token })).status).toBe(404);
  });
});

describe('a tenant\'s client credentials', () => {
  it('are not there before the application is installed in the organization', async () => {
    const res = await server.api.get(`/api/v1/applications/${app.id}/tenants/${orgId}`, { token: merchant.token });
    expect(res.status).toBe(404);
  });

  it('come to the owner and to the application itself, the secret readable only with the private key', async () => {
    expect((await server.api.post(`${ORGS}/${orgId}/installs`, { applicationId: app.id }, { token: admin })).status).toBe(201);
    const asOwner = await server.api.get(`/api/v1/applications/${app.id}/tenants/${orgId}`, { token: merchant.token });
    expect(asOwner.status).toBe(200);
    expect(asOwner.body).toEqual({ tenantId: orgId, clientId: expect.any(String), clientSecretJwe: expect.any(String) });
    const { clientId, clientSecretJwe } = asOwner.body;
    expect(clientId).not.toBe(app.clientId);
    expect(decodeProtectedHeader(clientSecretJwe)).toMatchObject({ alg: 'RSA-OAEP-256', enc: 'A256GCM' });
    const { plaintext } = await compactDecrypt(clientSecretJwe, await importPKCS8(merchantKey.privateKey, 'RSA-OAEP-256'));
    const secret = new TextDecoder().decode(plaintext);
    // The secret is the tenant client's: the token endpoint authenticates it (then finds no such code).
    expect(await tokenEndpointWith(clientId, secret)).toBe('invalid_grant');
    expect(await tokenEndpointWith(clientId, `${secret}x`)).toBe('invalid_client');
    // Nowhere in the clear: not in the logs, not in the application's own answers.
    expect(server.logs.join('\n')).not.toContain(secret);
    expect(JSON.stringify((await server.api.get(`/api/v1/applications/${app.id}`, { token: merchant.token })).body)).not.toContain(secret);
    expect(JSON.stringify((await server.api.get(`${ORGS}/${orgId}/installs`, { token: admin })).body)).not.toContain(secret);

    const asApplication = await fetch(`${server.portico.url}/api/v1/applications/${app.id}/tenants/${orgId}`, {
      headers: { Authorization: `Bearer ${await clientCredentialsToken(app)}` },
    });
    expect(asApplication.status).toBe(200);
    expect(((await asApplication.json()) as { clientId: string }).clientId).toBe(clientId);
  });

  it('are refused to another application\'s token, a bad token, another developer and without a public key', async () => {
    const path = `/api/v1/applications/${app.id}/tenants/${orgId}`;
    const other = (await server.api.post('/api/v1/applications', { name: 'Other' }, { token: merchant.token })).body;
    const ask = (token: string) => fetch(`${server.portico.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await ask(await clientCredentialsToken(other))).status).toBe(404);
    const forged = await ask('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.x');
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${server.portico.url}${path}`)).status).toBe(401);
    const stranger = await server.developer('tc-other-dev');
    expect((await server.api.get(path, { token: stranger.token })).status).toBe(404);

    // Installed, but no key registered: nothing is sent in the clear.
    expect((await server.api.post(`${ORGS}/${orgId}/installs`, { applicationId: other.id }, { token: admin })).status).toBe(201);
    const keyless = await server.api.get(`/api/v1/applications/${other.id}/tenants/${orgId}`, { token: merchant.token });
    expect(keyless.status).toBe(409);
    expect(keyless.body.code).toBe('public_key_required');
  });
});
