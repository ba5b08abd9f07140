import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, decodeJwt, importJWK, type JWK } from 'jose';
import { loadSigningKeys, rotateSigningKey } from '../../src/oidc/keys.js';
import { signRequest } from '../support/sdk-signer.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
let dev: { id: string; token: string };
let consumerId: string;
let apiKey: string;
const products: Record<string, string> = {};

async function createProduct(slug: string, routePrefix: string) {
  const res = await server.api.post('/api/v1/admin/products', {
    slug, name: slug, type: 'model', category: 'text', description: '', overview: '', guide: '', sampleRequests: [], routePrefix,
  }, { token: admin });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  products[slug] = res.body.id;
}

async function subscribe(productSlug: string, consumer = consumerId, token = dev.token) {
  const res = await server.api.post('/api/v1/subscriptions', { productId: products[productSlug], consumerId: consumer }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body.id as string;
}

async function newApiKey(consumer = consumerId, token = dev.token): Promise<{ id: string; apiKey: string }> {
  const res = await server.api.post(`/api/v1/consumers/${consumer}/credentials`, { type: 'api-key' }, { token });
  return res.body;
}

/** Asks /gateway/check about a request to `uri`, as nginx's auth_request would. */
async function check(uri: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.portico.url}/gateway/check`, {
    headers: { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': uri, 'X-Forwarded-Host': 'api.example.com', ...headers },
  });
  return { status: res.status, body: await res.json() as { code: number; msg: string }, headers: res.headers };
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  dev = await server.developer('gateway-dev');
  consumerId = (await server.api.get('/api/v1/consumers', { token: dev.token })).body.items[0].id;
  await createProduct('gw-chat', '/gw/models/chat');
  await createProduct('gw-models', '/gw/models');
  await createProduct('gw-other', '/gw/other');
  await subscribe('gw-chat');
  apiKey = (await newApiKey()).apiKey;
});
afterAll(async () => { await server?.stop(); });

describe('/gateway/check with an API key', () => {
  it('allows a subscribed product and names the caller to the upstream', async () => {
    for (const headers of [{ 'X-API-Key': apiKey }, { Authorization: `Bearer ${apiKey}` }] as Array<Record<string, string>>) {
      const res = await check('/gw/models/chat/completions?stream=true', headers);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: 1000, msg: 'ok' });
      expect(res.headers.get('x-portico-consumer')).toBe(consumerId);
      expect(res.headers.get('x-portico-developer')).toBe(dev.id);
      expect(res.headers.get('x-portico-product')).toBe('gw-chat');
      expect(res.headers.get('x-portico-application')).toBeNull();
      expect(res.headers.get('x-ratelimit-limit')).toBe('100000');
      expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(100000);
    }
  });

  it('takes the original path from after /gateway/check/ when no X-Forwarded-Uri is sent (Envoy ext_authz)', async () => {
    const res = await fetch(`${server.portico.url}/gateway/check/gw/models/chat/completions?x=1`, { method: 'POST', headers: { 'X-API-Key': apiKey } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-portico-product')).toBe('gw-chat');
    const other = await fetch(`${server.portico.url}/gateway/check/gw/other/x`, { headers: { 'X-API-Key': apiKey } });
    expect(((await other.json()) as { code: number }).code).toBe(1300);
  });

  it('answers 1102 without a credential and 1101 for an unknown key', async () => {
    const none = await check('/gw/models/chat');
    expect(none).toMatchObject({ status: 401, body: { code: 1102 } });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="portico"/);
    const unknown = await check('/gw/models/chat', { 'X-API-Key': 'pk_not-a-key' });
    expect(unknown).toMatchObject({ status: 401, body: { code: 1101 } });
    expect(unknown.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('maps the path to the product with the longest route prefix on a / boundary, or X-Product', async () => {
    const productOf = async (uri: string, headers: Record<string, string> = {}) => {
      const res = await check(uri, { 'X-API-Key': apiKey, ...headers });
      return res.status === 200 ? res.headers.get('x-portico-product') : res.body.msg;
    };
    expect(await productOf('/gw/models/chat')).toBe('gw-chat');
    expect(await productOf('/gw/models/chat/')).toBe('gw-chat');
    expect(await productOf('/gw/models/chat/v1/x?y=1')).toBe('gw-chat');
    expect(await productOf('/gw/models/chatter')).toBe('no approved subscription to gw-models');
    expect(await productOf('/gw/models/embed')).toBe('no approved subscription to gw-models');
    expect(await productOf('/gw/nothing-here')).toBe('no product serves this path');
    expect(await productOf('/gw/models/chat/../../other/x')).toBe('no approved subscription to gw-other');
    expect(await productOf('/anything', { 'X-Product': 'gw-chat' })).toBe('gw-chat');
    expect(await productOf('/gw/models/chat', { 'X-Product': 'gw-other' })).toBe('no approved subscription to gw-other');
    expect(await productOf('/gw/models/chat', { 'X-Product': 'no-such-product' })).toBe('no product serves this path');
  });

  it('answers 1300 after the subscription is cancelled, and for a draft product', async () => {
    const other = await server.developer('gateway-cancel');
    const otherConsumer = (await server.api.get('/api/v1/consumers', { token: other.token })).body.items[0].id;
    const subscription = await subscribe('gw-other', otherConsumer, other.token);
    const { apiKey: key } = await newApiKey(otherConsumer, other.token);
    expect((await check('/gw/other/x', { 'X-API-Key': key })).status).toBe(200);
    await server.api.delete(`/api/v1/subscriptions/${subscription}`, { token: other.token });
    expect(await check('/gw/other/x', { 'X-API-Key': key })).toMatchObject({ status: 403, body: { code: 1300 } });
    await server.api.patch(`/api/v1/admin/products/${products['gw-other']}`, { status: 'draft' }, { token: admin });
    expect((await check('/gw/other/x', { 'X-API-Key': key })).body.msg).toBe('no product serves this path');
    await server.api.patch(`/api/v1/admin/products/${products['gw-other']}`, { status: 'published' }, { token: admin });
  });

  it('answers 1200 while the owner is banned and 1101 once the key is deleted', async () => {
    const other = await server.developer('gateway-banned');
    const otherConsumer = (await server.api.get('/api/v1/consumers', { token: other.token })).body.items[0].id;
    await subscribe('gw-chat', otherConsumer, other.token);
    const key = await newApiKey(otherConsumer, other.token);
    expect((await check('/gw/models/chat', { 'X-API-Key': key.apiKey })).status).toBe(200);
    await server.api.post(`/api/v1/admin/developers/${other.id}/ban`, {}, { token: admin });
    expect(await check('/gw/models/chat', { 'X-API-Key': key.apiKey })).toMatchObject({ status: 403, body: { code: 1200 } });
    await server.api.post(`/api/v1/admin/developers/${other.id}/unban`, {}, { token: admin });
    expect((await check('/gw/models/chat', { 'X-API-Key': key.apiKey })).status).toBe(200);
    const session = await server.login('gateway-banned', 'gateway-banned-password-1');
    expect((await server.api.delete(`/api/v1/consumers/${otherConsumer}/credentials/${key.id}`, { token: session })).status).toBe(204);
    expect(await check('/gw/models/chat', { 'X-API-Key': key.apiKey })).toMatchObject({ status: 401, body: { code: 1101 } });
  });

  it('counts against the consumer\'s quota, which an admin sets, and answers 1400 with Retry-After', async () => {
    const other = await server.developer('gateway-quota');
    const otherConsumer = (await server.api.get('/api/v1/consumers', { token: other.token })).body.items[0].id;
    await subscribe('gw-chat', otherConsumer, other.token);
    const { apiKey: key } = await newApiKey(otherConsumer, other.token);
    expect((await server.api.get(`/api/v1/admin/consumers/${otherConsumer}/quota`, { token: admin })).body)
      .toEqual({ consumerId: otherConsumer, dailyQuota: 100000, source: 'setting' });
    const set = await server.api.put(`/api/v1/admin/consumers/${otherConsumer}/quota`, { dailyQuota: 3 }, { token: admin });
    expect(set.body).toEqual({ consumerId: otherConsumer, dailyQuota: 3, source: 'consumer' });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await check('/gw/models/chat', { 'X-API-Key': key });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await check('/gw/models/chat', { 'X-API-Key': key });
    expect(refused).toMatchObject({ status: 429, body: { code: 1400 } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Back to the setting: the calls made today still count.
    await server.api.put(`/api/v1/admin/consumers/${otherConsumer}/quota`, { dailyQuota: null }, { token: admin });
    const after = await check('/gw/models/chat', { 'X-API-Key': key });
    expect(after.status).toBe(200);
    expect(after.headers.get('x-ratelimit-remaining')).toBe(String(100000 - 4));
    const audit = await server.api.get(`/api/v1/admin/audit?targetId=${otherConsumer}`, { token: admin });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toContain('consumer.quota_changed');
  });

  it('validates the consumer quota call', async () => {
    for (const body of [{ dailyQuota: 0 }, { dailyQuota: 1.5 }, { dailyQuota: '5' }, {}, { dailyQuota: 5, extra: 1 }]) {
      expect((await server.api.put(`/api/v1/admin/consumers/${consumerId}/quota`, body, { token: admin })).status).toBe(400);
    }
    expect((await server.api.get('/api/v1/admin/consumers/00000000-0000-4000-8000-000000000000/quota', { token: admin })).status).toBe(404);
    expect((await server.api.get(`/api/v1/admin/consumers/${consumerId}/quota`, { token: dev.token })).status).toBe(403);
  });
});

describe('/gateway/check with an AK/SK signature', () => {
  let pair: { id: string; accessKey: string; secretKey: string };
  beforeAll(async () => {
    pair = (await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'ak-sk' }, { token: dev.token })).body;
  });

  /** Signs a request to api.example.com as a client SDK would, and asks the gateway check about it. */
  async function signedCheck(method: string, pathAndQuery: string, options: { date?: Date; secretKey?: string; forwardedUri?: string; forwardedMethod?: string } = {}) {
    const signed = signRequest({
      method, url: `https://api.example.com${pathAndQuery}`, headers: { 'Content-Type': 'application/json' },
      accessKey: pair.accessKey, secretKey: options.secretKey ?? pair.secretKey, date: options.date, payload: '{"prompt":"hi"}',
    });
    const { host, ...headers } = signed; // the original host travels as X-Forwarded-Host
    return check(options.forwardedUri ?? pathAndQuery, { ...headers, 'X-Forwarded-Host': host!, 'X-Forwarded-Method': options.forwardedMethod ?? method });
  }

  it('allows a request signed with the secret key, query with reserved characters included', async () => {
    for (const uri of ['/gw/models/chat/completions', '/gw/models/chat/v1?b=2&a=1&a=0', '/gw/models/chat/x?q=a%20b%2Bc%2F%3F%3D%26&empty=&na%C3%AFve=%E2%9C%93']) {
      const res = await signedCheck('POST', uri);
      expect({ uri, status: res.status, body: res.body }).toEqual({ uri, status: 200, body: { code: 1000, msg: 'ok' } });
      expect(res.headers.get('x-portico-consumer')).toBe(consumerId);
    }
  });

  it('refuses a tampered request, a wrong key and a stale or future date with 1101', async () => {
    const refusals = [
      await signedCheck('POST', '/gw/models/chat/x?a=1', { forwardedUri: '/gw/models/chat/x?a=2' }),
      await signedCheck('POST', '/gw/models/chat/x', { forwardedMethod: 'DELETE' }),
      await signedCheck('POST', '/gw/models/chat/x', { secretKey: 'not-the-secret-key' }),
      await signedCheck('POST', '/gw/models/chat/x', { date: new Date(Date.now() - 16 * 60_000) }),
      await signedCheck('POST', '/gw/models/chat/x', { date: new Date(Date.now() + 16 * 60_000) }),
    ];
    for (const res of refusals) expect(res).toMatchObject({ status: 401, body: { code: 1101 } });
    const unknown = await check('/gw/models/chat', { Authorization: 'SDK-HMAC-SHA256 Access=PAKNOSUCHKEY0000000000, SignedHeaders=host;x-sdk-date, Signature=00', 'X-Sdk-Date': '20260101T000000Z' });
    expect(unknown).toMatchObject({ status: 401, body: { code: 1101 } });
  });
});

describe('/gateway/check with a bearer JWT', () => {
  async function application(token = dev.token) {
    const app = (await server.api.post('/api/v1/applications', { name: 'Gateway app' }, { token })).body;
    const issued = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret });
    return { app, token: issued.body.token as string };
  }

  it('allows the application\'s consumer\'s products, counted against the application\'s quota', async () => {
    const { app, token } = await application();
    const res = await check('/gw/models/chat/x', { Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-portico-application')).toBe(app.id);
    expect(res.headers.get('x-portico-consumer')).toBe(consumerId);
    expect(res.headers.get('x-portico-developer')).toBe(dev.id);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(await check('/gw/other/x', { Authorization: `Bearer ${token}` })).toMatchObject({ status: 403, body: { code: 1300 } });
  });

  it('answers 1101 for a tampered token and 1200 while the application is suspended', async () => {
    const { app, token } = await application();
    expect(await check('/gw/models/chat', { Authorization: `Bearer ${token.slice(0, -3)}abc` })).toMatchObject({ status: 401, body: { code: 1101 } });
    expect(await check('/gw/models/chat', { Authorization: 'Bearer not.a.jwt' })).toMatchObject({ status: 401, body: { code: 1101 } });
    await server.api.post(`/api/v1/admin/applications/${app.id}/suspend`, {}, { token: admin });
    expect(await check('/gw/models/chat', { Authorization: `Bearer ${token}` })).toMatchObject({ status: 403, body: { code: 1200 } });
    await server.api.post(`/api/v1/admin/applications/${app.id}/reinstate`, {}, { token: admin });
    expect((await check('/gw/models/chat', { Authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

describe('/gateway/check with hostile input', () => {
  it.each([
    ['an absolute URI', { 'X-Forwarded-Uri': 'http://evil.example.com/gw/models/chat' }],
    ['a scheme-relative URI', { 'X-Forwarded-Uri': '//evil.example.com/gw/models/chat' }],
    ['encoded dot segments', { 'X-Forwarded-Uri': '/gw/models/chat/%2e%2e/%2e%2e/other' }],
    ['a NUL byte', { 'X-Forwarded-Uri': '/gw/models/chat%00/x' }],
    ['an overlong URI', { 'X-Forwarded-Uri': `/gw/models/chat/${'a'.repeat(10_000)}` }],
    ['a garbage signature header', { Authorization: 'SDK-HMAC-SHA256 Access=, SignedHeaders=;;;, Signature=zz' }],
    ['an overlong API key', { 'X-API-Key': `pk_${'x'.repeat(5_000)}` }],
    ['SQL in the API key', { 'X-API-Key': "pk_' or '1'='1" }],
    ['an unknown X-Product', { 'X-Product': '../../etc/passwd' }],
    ['a huge bearer token', { Authorization: `Bearer ${'e'.repeat(6_000)}.${'e'.repeat(100)}.x` }],
  ])('answers %s with a decision, never a 5xx', async (_what, headers) => {
    const res = await check('/gw/models/chat', { 'X-API-Key': apiKey, ...headers });
    expect(res.status).toBeLessThan(500);
    expect([1000, 1101, 1102, 1200, 1300, 1400]).toContain(res.body.code);
  });

  it('matches an absolute or encoded URI only by its path, never by another host', async () => {
    expect((await check('http://evil.example.com/gw/models/chat', { 'X-API-Key': apiKey })).headers.get('x-portico-product')).toBe('gw-chat');
    expect((await check('/gw/models/chat/%2e%2e/%2e%2e/other', { 'X-API-Key': apiKey })).body.msg).toBe('no approved subscription to gw-other');
  });
});

describe('the answer of /gateway/check', () => {
  it('carries the request id, no-store and nosniff, and no body for HEAD', async () => {
    const res = await fetch(`${server.portico.url}/gateway/check`, { headers: { 'X-Forwarded-Uri': '/gw/models/chat', 'X-API-Key': apiKey, 'X-Request-Id': 'gateway-req-0001' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('gateway-req-0001');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ code: 1000, msg: 'ok' });
    const generated = await fetch(`${server.portico.url}/gateway/check`, { headers: { 'X-Request-Id': 'bad id' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const head = await fetch(`${server.portico.url}/gateway/check`, { method: 'HEAD', headers: { 'X-Forwarded-Uri': '/gw/models/chat', 'X-API-Key': apiKey } });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-portico-product')).toBe('gw-chat');
    expect(await head.text()).toBe('');
  });

  it('is only /gateway/check and what lies under it', async () => {
    const res = await fetch(`${server.portico.url}/gateway/checkout`, { headers: { 'X-API-Key': apiKey } });
    expect(res.status).toBe(404);
  });

  it('answers 503 {code: 1500} when it cannot decide (the database is gone)', async () => {
    const broken = await startTestServer();
    try {
      await broken.portico.context.db.destroy();
      const res = await fetch(`${broken.portico.url}/gateway/check`, { headers: { 'X-Forwarded-Uri': '/x', 'X-API-Key': 'pk_not-cached-anywhere' } });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ code: 1500, msg: 'the check could not be made; try again' });
    } finally {
      await broken.stop().catch(() => {});
    }
  });
});

describe('signing key rotation', () => {
  it('accepts a token signed with a key another node started with after a rotation', async () => {
    const app = (await server.api.post('/api/v1/applications', { name: 'Rotation app' }, { token: dev.token })).body;
    const issued = (await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.token as string;
    // Another node, restarted after `keys rotate`, signs with the new key.
    const { context } = server.portico;
    const { kid } = await rotateSigningKey(context.db, context.keys.seal, context.clock, 0);
    const newKey = (await loadSigningKeys(context.db, context.keys.seal, context.clock)).find((k) => k.kid === kid) as JWK;
    const resigned = await new SignJWT(decodeJwt(issued)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid }).sign(await importJWK(newKey, 'RS256'));
    expect(await check('/gw/models/chat', { Authorization: `Bearer ${resigned}` })).toMatchObject({ status: 200, body: { code: 1000 } });
    // A key nobody published is refused.
    const stranger = await new SignJWT(decodeJwt(issued)).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'unknown-kid' }).sign(await importJWK(newKey, 'RS256'));
    expect(await check('/gw/models/chat', { Authorization: `Bearer ${stranger}` })).toMatchObject({ status: 401, body: { code: 1101 } });
  });
});

describe('GATEWAY_SECRET', () => {
  it('answers 401 before anything else without the shared secret', async () => {
    const guarded = await startTestServer({ env: { GATEWAY_SECRET: 'gateway-shared-secret' } });
    try {
      const ask = (headers: Record<string, string>) => fetch(`${guarded.portico.url}/gateway/check`, { headers: { 'X-Forwarded-Uri': '/x', ...headers } })
        .then(async (r) => ({ status: r.status, body: await r.json() }));
      expect(await ask({})).toMatchObject({ status: 401, body: { code: 1101 } });
      expect(await ask({ 'X-Gateway-Secret': 'wrong' })).toMatchObject({ status: 401, body: { code: 1101 } });
      expect(await ask({ 'X-Gateway-Secret': 'gateway-shared-secret' })).toMatchObject({ status: 401, body: { code: 1102 } });
    } finally {
      await guarded.stop();
    }
  });
});
