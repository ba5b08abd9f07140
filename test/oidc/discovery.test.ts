import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { TEST_SECRET } from '../support/constants.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiClient } from '../support/http.js';
import { runCli, spawnPortico } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

describe('discovery and JWKS', () => {
  it('serves OpenID Connect discovery for the issuer, with every endpoint under it', async () => {
    const res = await server.api.get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    const issuer = server.portico.issuer;
    expect(res.body).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/oauth2/authorize`,
      token_endpoint: `${issuer}/oauth2/token`,
      jwks_uri: `${issuer}/oauth2/jwks`,
      introspection_endpoint: `${issuer}/oauth2/introspect`,
      revocation_endpoint: `${issuer}/oauth2/revoke`,
      end_session_endpoint: `${issuer}/oauth2/logout`,
    });
    expect(res.body.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(res.body.claims_supported).toEqual(expect.arrayContaining(['sub', 'preferred_username', 'email', 'email_verified', 'name']));
  });

  it('publishes the public part of a sealed RS256 signing key', async () => {
    const jwks = await server.api.get('/oauth2/jwks');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    const [key] = jwks.body.keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    expect(key.d).toBeUndefined();
    const row = await server.portico.context.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    expect(row.kid).toBe(key.kid);
    expect(row.sealed_private_jwk).toMatch(/^v1\./);
    expect(row.sealed_private_jwk).not.toContain('"d"');
  });

  it('leaves other paths to Portico', async () => {
    const res = await server.api.get('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('signing keys across restarts and rotation', () => {
  let database: TestDatabase;
  afterAll(async () => { await database?.drop(); });

  it('keeps the kid across a restart; a rotated key is published at once', async () => {
    database = await createTestDatabase();
    const env = { PORT: '0', PORTICO_SECRET: TEST_SECRET, ...database.env };
    const kidsOf = async () => {
      const server = spawnPortico(env);
      const jwks = await apiClient(await server.ready).get('/oauth2/jwks');
      expect(await server.stop()).toBe(0);
      return (jwks.body.keys as Array<{ kid: string }>).map((k) => k.kid);
    };
    const first = await kidsOf();
    expect(first).toHaveLength(1);
    expect(await kidsOf()).toEqual(first);

    const rotated = await runCli(['keys', 'rotate'], { PORTICO_SECRET: TEST_SECRET, ...database.env });
    expect(rotated.code).toBe(0);
    const newKid = /added signing key (\S+):/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    const listed = await runCli(['keys', 'list'], { PORTICO_SECRET: TEST_SECRET, ...database.env });
    expect(listed.stdout).toMatch(new RegExp(`${newKid}\\s+RS256\\s+next`));
    expect(listed.stdout).toMatch(new RegExp(`${first[0]}\\s+RS256\\s+active`));

    // Published at once, while the old key still signs during the grace period.
    expect(await kidsOf()).toEqual([first[0], newKid]);
    expect((await runCli(['keys', 'rotate', '--grace-seconds', 'soon'], { PORTICO_SECRET: TEST_SECRET, ...database.env })).code).toBe(2);
  });
});

describe('a key rotation that takes effect', () => {
  let database: TestDatabase;
  afterAll(async () => { await database?.drop(); });

  it('signs with the new key after the grace period, while tokens of the old key still verify', async () => {
    database = await createTestDatabase();
    const env = { PORT: '0', PORTICO_SECRET: TEST_SECRET, ...database.env };
    const grant = async (url: string, clientId: string, clientSecret: string) => {
      const res = await fetch(`${url}/oauth2/token`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };

    const before = spawnPortico(env);
    const url = await before.ready;
    const api = apiClient(url);
    await api.post('/api/v1/developers', { username: 'rotation-dev', password: 'rotation-dev-password' });
    const { body: session } = await api.post('/api/v1/auth/login', { username: 'rotation-dev', password: 'rotation-dev-password' });
    const { body: app } = await api.post('/api/v1/applications', { name: 'Rotation' }, { token: session.token });
    const oldToken = await grant(url, app.clientId, app.clientSecret);
    const issuer = JSON.parse(before.stdout().split('\n').find((l) => l.includes('Portico ready'))!).issuer as string;
    expect(await before.stop()).toBe(0);

    expect((await runCli(['keys', 'rotate', '--grace-seconds', '0'], { PORTICO_SECRET: TEST_SECRET, ...database.env })).code).toBe(0);

    const after = spawnPortico({ ...env, ISSUER: issuer });
    const afterUrl = await after.ready;
    const jwks = (await apiClient(afterUrl).get('/oauth2/jwks')).body as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(2);
    const newToken = await grant(afterUrl, app.clientId, app.clientSecret);
    expect(decodeProtectedHeader(newToken).kid).toBe(jwks.keys[0]!.kid);
    expect(decodeProtectedHeader(oldToken).kid).toBe(jwks.keys[1]!.kid);
    const keySet = createLocalJWKSet(jwks);
    await expect(jwtVerify(oldToken, keySet, { issuer, typ: 'at+jwt' })).resolves.toBeDefined();
    await expect(jwtVerify(newToken, keySet, { issuer, typ: 'at+jwt' })).resolves.toBeDefined();
    expect(await after.stop()).toBe(0);
  });
});
