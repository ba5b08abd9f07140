import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/server.js';

// A merchant that signs its client assertions, publishing its keys at a loopback jwks_uri.
let server: TestServer;
let jwksServer: http.Server;
let jwksUri: string;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
beforeAll(async () => {
  server = await startTestServer();
  const pair = await generateKeyPair('ES256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'merchant-1', alg: 'ES256', use: 'sig' };
  jwksServer = http.createServer((_req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ keys: [jwk] })); });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
});
afterAll(async () => {
  await server?.stop();
  await new Promise((r) => jwksServer?.close(r));
});

describe('private_key_jwt applications', () => {
  it('have no secret and get tokens with a signed client assertion only', async () => {
    const { token } = await server.developer('signing-merchant');
    const app = await server.api.post('/api/v1/applications', { name: 'Signed', tokenEndpointAuthMethod: 'private_key_jwt', jwksUri }, { token });
    expect(app.status).toBe(201);
    expect(app.body.clientSecret).toBeNull();
    expect((await server.api.post(`/api/v1/applications/${app.body.id}/secret`, undefined, { token })).status).toBe(409);

    const config = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, { token_endpoint_auth_signing_alg: 'ES256' },
      oidc.PrivateKeyJwt({ key: privateKey, kid: 'merchant-1' }), { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.expires_in).toBe(7200);

    // An assertion signed with a key the application did not publish is refused.
    const stranger = await generateKeyPair('ES256', { extractable: true });
    const forged = await oidc.discovery(new URL(server.portico.issuer), app.body.clientId, { token_endpoint_auth_signing_alg: 'ES256' },
      oidc.PrivateKeyJwt({ key: stranger.privateKey, kid: 'merchant-1' }), { execute: [oidc.allowInsecureRequests] });
    await expect(oidc.clientCredentialsGrant(forged)).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
