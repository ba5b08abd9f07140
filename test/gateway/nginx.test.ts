import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requireNginx, startEchoUpstream, startNginx, type EchoRequest, type EchoUpstream, type RunningNginx } from '../support/nginx.js';
import { signRequest } from '../support/sdk-signer.js';
import { startTestServer, type TestServer } from '../support/server.js';

// deploy/nginx as shipped, in Debian's nginx, between a client and an API that echoes what it
// receives, with Portico (and its GATEWAY_SECRET) deciding.
const GATEWAY_SECRET = 'nginx-test-gateway-secret';

let server: TestServer | undefined;
let upstream: EchoUpstream | undefined;
let nginx: RunningNginx | undefined;
let admin: string;
let dev: { id: string; token: string };
let consumerId: string;
let apiKey: string;
let chatProduct: string;

async function consumerOf(token: string): Promise<string> {
  return (await server!.api.get('/api/v1/consumers', { token })).body.items[0].id;
}

async function createProduct(slug: string, routePrefix: string): Promise<string> {
  const res = await server!.api.post('/api/v1/admin/products', {
    slug, name: slug, type: 'model', category: 'text', description: '', overview: '', guide: '', sampleRequests: [], routePrefix,
  }, { token: admin });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body.id;
}

async function subscribe(productId: string, consumer: string, token: string): Promise<void> {
  const res = await server!.api.post('/api/v1/subscriptions', { productId, consumerId: consumer }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
}

async function newApiKey(consumer: string, token: string): Promise<string> {
  return (await server!.api.post(`/api/v1/consumers/${consumer}/credentials`, { type: 'api-key' }, { token })).body.apiKey;
}

interface Answer { status: number; headers: Headers; text: string; json: any }

/** A client's call through nginx. */
async function call(uri: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(nginx!.url + uri, init);
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/** What /gateway/check itself answers about the same request (a refusal counts nothing). */
async function directCheck(method: string, uri: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${server!.portico.url}/gateway/check`, {
    headers: { ...headers, 'X-Forwarded-Method': method, 'X-Forwarded-Uri': uri, 'X-Forwarded-Host': new URL(nginx!.url).host, 'X-Gateway-Secret': GATEWAY_SECRET },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

/** Requests the API received since `before`. */
const received = (before: number): EchoRequest[] => upstream!.requests.slice(before);

beforeAll(async () => {
  requireNginx(); // before anything starts: the message names the package to install
  server = await startTestServer({ env: { GATEWAY_SECRET } });
  upstream = await startEchoUpstream();
  nginx = await startNginx({ porticoUrl: server.portico.url, upstreamUrl: upstream.url, gatewaySecret: GATEWAY_SECRET });
  admin = await server.adminToken();
  dev = await server.developer('nginx-dev');
  consumerId = await consumerOf(dev.token);
  chatProduct = await createProduct('ng-chat', '/ng/chat');
  await subscribe(chatProduct, consumerId, dev.token);
  await createProduct('ng-other', '/ng/other');
  apiKey = await newApiKey(consumerId, dev.token);
});

afterAll(async () => {
  await nginx?.stop();
  await upstream?.close();
  await server?.stop();
});

describe('deploy/nginx/portico-gateway.conf in front of an API', () => {
  it('passes an allowed call to the API with the caller\'s identity, and the quota to the client', async () => {
    const before = upstream!.requests.length;
    const res = await call('/ng/chat/completions?stream=true&q=a%20b', {
      headers: { 'X-API-Key': apiKey, 'X-Portico-Consumer': 'spoofed', 'X-Portico-Application': 'spoofed', 'X-Gateway-Secret': 'spoofed' },
    });
    expect(res.status).toBe(200);
    const [seen] = received(before);
    expect(received(before)).toHaveLength(1);
    expect(seen).toMatchObject({ method: 'GET', url: '/ng/chat/completions?stream=true&q=a%20b' });
    expect(seen!.headers).toMatchObject({
      'x-portico-consumer': consumerId, 'x-portico-developer': dev.id, 'x-portico-product': 'ng-chat',
      'x-ratelimit-limit': '100000', 'x-api-key': apiKey,
    });
    // A client's own identity headers never reach the API; no application behind an API key.
    expect(seen!.headers['x-portico-application']).toBeUndefined();
    expect(seen!.headers['x-gateway-secret']).toBeUndefined();
    // Portico's quota headers reach the client, the API's of the same name do not.
    expect(res.headers.get('x-ratelimit-limit')).toBe('100000');
    expect(res.headers.get('x-ratelimit-remaining')).toBe(seen!.headers['x-ratelimit-remaining']);
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeLessThan(100000);
    // The check location is nginx's own, not the client's.
    expect((await call('/_portico/check', { headers: { 'X-API-Key': apiKey } })).status).toBe(404);
  });

  it('names the application of a bearer token, and checks an AK/SK signature on the client\'s method, URI and host', async () => {
    const app = (await server!.api.post('/api/v1/applications', { name: 'nginx app' }, { token: dev.token })).body;
    const { token } = (await server!.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body;
    const before = upstream!.requests.length;
    const res = await call('/ng/chat/x', { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(received(before)[0]!.headers).toMatchObject({ 'x-portico-application': app.id, 'x-portico-consumer': consumerId, authorization: `Bearer ${token}` });

    // Signed for http://127.0.0.1:<nginx port>: X-Forwarded-Host must keep the port.
    const pair = (await server!.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'ak-sk' }, { token: dev.token })).body;
    const payload = '{"prompt":"hi"}';
    const uri = '/ng/chat/completions?b=2&a=1';
    const { host: _host, ...signed } = signRequest({
      method: 'POST', url: nginx!.url + uri, headers: { 'Content-Type': 'application/json' },
      accessKey: pair.accessKey, secretKey: pair.secretKey, payload,
    });
    const post = await call(uri, { method: 'POST', headers: signed, body: payload });
    expect({ status: post.status, text: post.text.slice(0, 200) }).toMatchObject({ status: 200 });
    // The body is kept from the check only: the API gets it.
    expect(post.json).toMatchObject({ method: 'POST', url: uri, body: payload, headers: { 'x-portico-consumer': consumerId } });
    // The same signature over another method is refused.
    expect(await call(uri, { method: 'PUT', headers: signed, body: payload })).toMatchObject({ status: 401, json: { code: 1101 } });
  });

  it('answers 401 with the check\'s body and WWW-Authenticate, without or with a bad credential', async () => {
    const before = upstream!.requests.length;
    const none = await call('/ng/chat/x');
    expect(none.status).toBe(401);
    expect(none.json).toEqual((await directCheck('GET', '/ng/chat/x', {})).json);
    expect(none.json.code).toBe(1102);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="portico"');
    expect(none.headers.get('content-type')).toMatch(/^application\/json/);

    const bad = await call('/ng/chat/x', { method: 'POST', headers: { 'X-API-Key': 'pk_not-a-key' }, body: '{}' });
    expect(bad.status).toBe(401);
    expect(bad.json).toEqual({ code: 1101, msg: 'unknown API key' });
    expect(bad.headers.get('www-authenticate')).toBe('Bearer realm="portico", error="invalid_token"');
    expect(received(before)).toHaveLength(0);
  });

  it('answers 403 with the check\'s body for a product without a subscription', async () => {
    const before = upstream!.requests.length;
    const res = await call('/ng/other/x', { headers: { 'X-API-Key': apiKey } });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ code: 1300, msg: 'no approved subscription to ng-other' });
    expect(received(before)).toHaveLength(0);
  });

  it('answers 429 with the check\'s body, Retry-After and the quota once the consumer\'s quota is used up', async () => {
    const other = await server!.developer('nginx-quota');
    const otherConsumer = await consumerOf(other.token);
    await subscribe(chatProduct, otherConsumer, other.token);
    const key = await newApiKey(otherConsumer, other.token);
    expect((await server!.api.put(`/api/v1/admin/consumers/${otherConsumer}/quota`, { dailyQuota: 2 }, { token: admin })).status).toBe(200);

    const before = upstream!.requests.length;
    const allowed = [await call('/ng/chat/x', { headers: { 'X-API-Key': key } }), await call('/ng/chat/x', { headers: { 'X-API-Key': key } })];
    expect(allowed.map((r) => [r.status, r.headers.get('x-ratelimit-limit'), r.headers.get('x-ratelimit-remaining')]))
      .toEqual([[200, '2', '1'], [200, '2', '0']]);

    const refused = await call('/ng/chat/x', { headers: { 'X-API-Key': key } });
    expect(refused.status).toBe(429);
    const check = await directCheck('GET', '/ng/chat/x', { 'X-API-Key': key });
    expect(check.status).toBe(429);
    expect(refused.json).toEqual(check.json);
    expect(refused.json.code).toBe(1400);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Math.abs(Number(refused.headers.get('retry-after')) - Number(check.headers.get('retry-after')))).toBeLessThanOrEqual(2);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(received(before)).toHaveLength(2);
  });

  it('fails closed with 503 {code: 1500} when Portico cannot be reached', async () => {
    await server!.stop();
    server = undefined;
    const before = upstream!.requests.length;
    const res = await call('/ng/chat/x', { headers: { 'X-API-Key': apiKey } });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ code: 1500, msg: 'the check could not be made; try again' });
    expect(received(before)).toHaveLength(0);
  });
});
