import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;

async function createProduct(body: Record<string, unknown>) {
  const res = await server.api.post('/api/v1/admin/products', {
    category: 'tools', description: '', overview: '', guide: '', sampleRequests: [], ...body,
  }, { token: admin });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body as { id: string };
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  await createProduct({ slug: 'mcp-weather', name: 'Weather MCP', type: 'mcp', routePrefix: '/mcp/weather', resourceUri: 'https://mcp.example.com/mcp/weather' });
  await createProduct({ slug: 'mcp-notes', name: 'Notes MCP', type: 'mcp', routePrefix: '/mcp/notes', resourceUri: 'https://mcp.example.com/mcp/notes', status: 'draft' });
  await createProduct({ slug: 'plain-model', name: 'Plain model', type: 'model', category: 'text', routePrefix: '/models/plain' });
});
afterAll(async () => { await server?.stop(); });

const get = (path: string) => fetch(`${server.portico.url}${path}`).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> }));

/** Asks /gateway/check about a call to `uri`, as the gateway in front of an MCP server would. */
async function check(uri: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.portico.url}/gateway/check`, { headers: { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': uri, ...headers } });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

describe('protected resource metadata (RFC 9728)', () => {
  it('describes a published MCP product at its route prefix, naming Portico as its authorization server', async () => {
    const res = await get('/.well-known/oauth-protected-resource/mcp/weather');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body).toEqual({
      resource: 'https://mcp.example.com/mcp/weather', authorization_servers: [server.portico.issuer],
      bearer_methods_supported: ['header'], scopes_supported: ['openid', 'profile', 'email'], resource_name: 'mcp-weather',
    });
  });

  it('knows nothing of drafts, other product types, sub-paths or unknown paths', async () => {
    for (const path of ['/mcp/notes', '/models/plain', '/mcp/weather/tools', '/mcp', '/nothing', '/mcp/weather/../notes']) {
      const res = await get(`/.well-known/oauth-protected-resource${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});

describe('authorization server metadata (RFC 8414)', () => {
  it('is OIDC discovery under its RFC 8414 name, and openid-client accepts it as OAuth 2.0 metadata', async () => {
    const metadata = await get('/.well-known/oauth-authorization-server');
    const discovery = await get('/.well-known/openid-configuration');
    expect(metadata.status).toBe(200);
    expect(metadata.body).toEqual(discovery.body);
    // RFC 8414 section 2: required fields, and the issuer it is fetched for.
    expect(metadata.body).toMatchObject({
      issuer: server.portico.issuer, authorization_endpoint: expect.any(String), token_endpoint: expect.any(String),
      response_types_supported: expect.arrayContaining(['code']), code_challenge_methods_supported: expect.arrayContaining(['S256']),
    });
    const config = await oidc.discovery(new URL(server.portico.issuer), 'any-client', undefined, undefined, { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] });
    expect(config.serverMetadata().issuer).toBe(server.portico.issuer);
  });
});

describe('the gateway\'s 401 under an MCP product', () => {
  const expected = () => `resource_metadata="${server.portico.issuer}/.well-known/oauth-protected-resource/mcp/weather"`;

  it('names the product\'s protected resource metadata without a credential and with an invalid one', async () => {
    const missing = await check('/mcp/weather/message');
    expect(missing.status).toBe(401);
    expect(missing.challenge).toContain('Bearer ');
    expect(missing.challenge).toContain(expected());
    const invalid = await check('/mcp/weather', { Authorization: 'Bearer not-a-token' });
    expect(invalid.status).toBe(401);
    expect(invalid.challenge).toContain(expected());
    expect(invalid.challenge).toContain('error="invalid_token"');
  });

  it('does not for other products', async () => {
    const other = await check('/models/plain/chat');
    expect(other.status).toBe(401);
    expect(other.challenge).not.toContain('resource_metadata');
  });
});
