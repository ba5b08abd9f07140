import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startPortico, type RunningPortico } from '../../src/server.js';
import { TEST_SECRET } from '../support/constants.js';
import { createTestDatabase } from '../support/database.js';
import { apiClient } from '../support/http.js';
import { manualClock, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let owner: { id: string; token: string };
beforeAll(async () => {
  server = await startTestServer();
  owner = await server.developer('compat-merchant');
});
afterAll(async () => { await server?.stop(); });

async function createApplication(token = owner.token) {
  const res = await server.api.post('/api/v1/applications', { name: 'KooGallery merchant' }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body as { id: string; clientId: string; clientSecret: string; consumerId: string };
}

const compatToken = (clientId: unknown, clientSecret: unknown) => server.api.post('/openapi/v1/token', { clientId, clientSecret });

async function tokenOf(app: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await compatToken(app.clientId, app.clientSecret);
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
  return res.body.token as string;
}

describe('POST /openapi/v1/token', () => {
  it('answers 1000 with the very token the client_credentials grant issues', async () => {
    const app = await createApplication();
    const res = await compatToken(app.clientId, app.clientSecret);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 1000, msg: 'success', token: expect.any(String), expiresIn: 7200 });
    expect(res.headers.get('cache-control')).toContain('no-store');

    const grant = await fetch(`${server.portico.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    const fromCompat = decodeJwt(res.body.token);
    const fromGrant = decodeJwt(grant.access_token);
    expect(decodeProtectedHeader(res.body.token)).toEqual(decodeProtectedHeader(grant.access_token));
    const shape = (c: Record<string, unknown>) => ({ ...c, jti: 'x', iat: 0, exp: Number(c.exp) - Number(c.iat) });
    expect(shape(fromCompat)).toEqual(shape(fromGrant));
    expect(fromCompat).toMatchObject({ sub: app.clientId, client_id: app.clientId, consumer_id: app.consumerId, aud: 'urn:portico:api' });

    // Usable everywhere the grant's token is: introspection knows it.
    const introspected = await fetch(`${server.portico.url}/oauth2/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ token: res.body.token }).toString(),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(introspected).toMatchObject({ active: true, client_id: app.clientId });
  });

  it.each([
    ['no clientSecret', { clientId: 'abc' }],
    ['an empty clientId', { clientId: '', clientSecret: 'x' }],
    ['a number for a field', { clientId: 12, clientSecret: 'x' }],
    ['an empty object', {}],
  ])('answers 1102 for %s', async (_what, body) => {
    const res = await server.api.post('/openapi/v1/token', body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 1102, msg: expect.any(String) });
  });

  it.each([
    ['no body', undefined, {}],
    ['malformed JSON', '{"clientId":', { 'content-type': 'application/json' }],
    ['a form instead of JSON', 'clientId=a&clientSecret=b', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('answers 1102 for %s', async (_what, raw, headers) => {
    const res = await server.api.request('POST', '/openapi/v1/token', undefined, { raw, headers });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(1102);
  });

  it.each([
    ['a body over 64 KiB', JSON.stringify({ clientId: 'a', clientSecret: 'b'.repeat(70_000) }), 400, 1102],
    ['a NUL byte in a field', JSON.stringify({ clientId: 'a\u0000b', clientSecret: 'x' }), 400, 1102],
    ['an array', '[1,2]', 400, 1102],
    ['an overlong clientId', JSON.stringify({ clientId: 'c'.repeat(5_000), clientSecret: 'x' }), 401, 1101],
    ['SQL in the clientId', JSON.stringify({ clientId: "x' or '1'='1", clientSecret: "' or 1=1 --" }), 401, 1101],
  ])('refuses %s with a business code, never a 5xx', async (_what, raw, status, code) => {
    const res = await server.api.request('POST', '/openapi/v1/token', undefined, { raw, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
  });

  it('answers the same whatever Accept, Origin or DPoP headers come with it', async () => {
    const dev = await server.developer('compat-headers');
    const app = await createApplication(dev.token);
    const admin = await server.adminToken();
    await server.api.post(`/api/v1/admin/applications/${app.id}/suspend`, {}, { token: admin });
    const headers = { accept: 'text/html', origin: 'null', dpop: 'not-a-proof' };
    const suspended = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret }, { headers });
    expect(suspended.body).toEqual({ code: 1200, msg: 'this application is suspended' });
    await server.api.post(`/api/v1/admin/applications/${app.id}/reinstate`, {}, { token: admin });
    // A wrong secret for an active client says nothing more than for an unknown one.
    const wrong = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: 'wrong' }, { headers });
    expect(wrong.body).toEqual({ code: 1101, msg: 'invalid clientId or clientSecret' });
    const issued = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret }, { headers });
    expect(issued.body.code).toBe(1000);
    // A plain bearer token: nothing binds it to a key the gateway would not check.
    expect(decodeJwt(issued.body.token).cnf).toBeUndefined();
  });

  it('answers 1101 for a wrong secret or an unknown client', async () => {
    const app = await createApplication();
    for (const [id, secret] of [[app.clientId, `${app.clientSecret}x`], ['no-such-client', app.clientSecret]]) {
      const res = await compatToken(id, secret);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 1101, msg: 'invalid clientId or clientSecret' });
    }
  });

  it('answers 1200 once the owner is banned, but only to whoever knows the secret', async () => {
    const dev = await server.developer('compat-banned');
    const app = await createApplication(dev.token);
    const admin = await server.adminToken();
    expect((await server.api.post(`/api/v1/admin/developers/${dev.id}/ban`, {}, { token: admin })).status).toBe(200);
    const res = await compatToken(app.clientId, app.clientSecret);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ code: 1200, msg: expect.stringContaining('banned') });
    expect((await compatToken(app.clientId, 'wrong-secret')).body.code).toBe(1101);
  });
});

describe('calls under /openapi/v1', () => {
  it('answers me, products and subscriptions in the envelope, with Bearer or the bare token', async () => {
    const app = await createApplication();
    const token = await tokenOf(app);
    for (const authorization of [`Bearer ${token}`, token]) {
      const res = await server.api.get('/openapi/v1/me', { headers: { authorization } });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        code: 1000, msg: 'success',
        data: {
          clientId: app.clientId, consumerId: app.consumerId, scope: '', user: null,
          application: { id: app.id, name: 'KooGallery merchant', stage: 'development', dailyQuota: 5000 },
          developer: { id: owner.id, username: 'compat-merchant' },
        },
      });
      expect(res.headers.get('x-ratelimit-limit')).toBe('5000');
    }
    const products = await server.api.get('/openapi/v1/products?limit=5', { token });
    expect(products.body).toMatchObject({ code: 1000, msg: 'success', data: { items: expect.any(Array) } });
    const subscriptions = await server.api.get('/openapi/v1/subscriptions', { token });
    expect(subscriptions.body).toEqual({ code: 1000, msg: 'success', data: { items: [], nextCursor: null } });
    for (const query of ['limit=0', `cursor=${Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000Z', app.id])).toString('base64url')}`]) {
      const badQuery = await server.api.get(`/openapi/v1/products?${query}`, { token });
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.code).toBe(1102);
    }
  });

  it('shows only the subscriptions of the token\'s consumer', async () => {
    const dev = await server.developer('compat-subscriber');
    const app = await createApplication(dev.token);
    const admin = await server.adminToken();
    const product = await server.api.post('/api/v1/admin/products', {
      slug: 'compat-model', name: 'Compat model', type: 'model', category: 'text', description: 'd', overview: '', guide: '', sampleRequests: [], routePrefix: '/compat-model',
    }, { token: admin });
    expect(product.status).toBe(201);
    const other = await server.api.post('/api/v1/consumers', { name: 'Another consumer' }, { token: dev.token });
    for (const consumerId of [app.consumerId, other.body.id]) {
      expect((await server.api.post('/api/v1/subscriptions', { productId: product.body.id, consumerId }, { token: dev.token })).status).toBe(201);
    }
    const res = await server.api.get('/openapi/v1/subscriptions', { token: await tokenOf(app) });
    expect(res.body.data.items).toHaveLength(1);
    expect(res.body.data.items[0]).toMatchObject({ productId: product.body.id, consumerId: app.consumerId, status: 'approved' });
  });

  it('answers 1102 without an Authorization header and 1101 for a token that is not one', async () => {
    const none = await server.api.get('/openapi/v1/me');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ code: 1102, msg: expect.any(String) });
    for (const authorization of ['Bearer not-a-token', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer ']) {
      const res = await server.api.get('/openapi/v1/me', { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(authorization === 'Bearer ' ? 1102 : 1101);
    }
  });

  it('refuses a live token with 1200 at once when its owner is banned, and 1101 once the application is gone', async () => {
    const dev = await server.developer('compat-later-banned');
    const app = await createApplication(dev.token);
    const token = await tokenOf(app);
    expect((await server.api.get('/openapi/v1/me', { token })).body.code).toBe(1000);
    const admin = await server.adminToken();
    await server.api.post(`/api/v1/admin/developers/${dev.id}/ban`, {}, { token: admin });
    const banned = await server.api.get('/openapi/v1/me', { token });
    expect(banned.status).toBe(403);
    expect(banned.body.code).toBe(1200);
    await server.api.post(`/api/v1/admin/developers/${dev.id}/unban`, {}, { token: admin });
    const devToken = await server.login('compat-later-banned', 'compat-later-banned-password-1');
    expect((await server.api.get('/openapi/v1/me', { token })).body.code).toBe(1000);
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: devToken })).status).toBe(204);
    expect((await server.api.get('/openapi/v1/me', { token })).body.code).toBe(1101);
  });

  it('answers 1200 for the token call and for calls while the application is suspended, and works again once reinstated', async () => {
    const app = await createApplication();
    const token = await tokenOf(app);
    const admin = await server.adminToken();
    expect((await server.api.post(`/api/v1/admin/applications/${app.id}/suspend`, { reason: 'Abuse reported.' }, { token: admin })).status).toBe(200);
    const call = await server.api.get('/openapi/v1/me', { token });
    expect(call.status).toBe(403);
    expect(call.body).toEqual({ code: 1200, msg: 'this application is suspended' });
    const issued = await compatToken(app.clientId, app.clientSecret);
    expect(issued.status).toBe(403);
    expect(issued.body.code).toBe(1200);
    expect((await compatToken(app.clientId, 'not-the-secret')).body.code).toBe(1101);
    await server.api.post(`/api/v1/admin/applications/${app.id}/reinstate`, {}, { token: admin });
    expect((await server.api.get('/openapi/v1/me', { token })).body.code).toBe(1000);
    expect((await compatToken(app.clientId, app.clientSecret)).body.code).toBe(1000);
  });

  it('counts every call against the daily quota and answers 1400 with Retry-After when it is used up', async () => {
    const app = await createApplication();
    const token = await tokenOf(app);
    // Most of the day's 5,000 calls made in process; the last ones over HTTP.
    for (let i = 0; i < 4_997; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: app.id }, 5000);
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await server.api.get('/openapi/v1/me', { token });
      expect(res.status).toBe(200);
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await server.api.get('/openapi/v1/me', { token });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ code: 1400, msg: expect.stringContaining('5000') });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
  });
});

describe('an expired token', () => {
  it('answers 1101 once ACCESS_TOKEN_TTL has passed', async () => {
    const clock = manualClock();
    const short = await startTestServer({ env: { ACCESS_TOKEN_TTL: '60' }, clock });
    try {
      const dev = await short.developer('compat-expiry');
      const created = await short.api.post('/api/v1/applications', { name: 'Short lived' }, { token: dev.token });
      const issued = await short.api.post('/openapi/v1/token', { clientId: created.body.clientId, clientSecret: created.body.clientSecret });
      expect(issued.body.expiresIn).toBe(60);
      expect((await short.api.get('/openapi/v1/me', { token: issued.body.token })).body.code).toBe(1000);
      clock.advance(120_000); // the manual clock started before the token was issued
      const expired = await short.api.get('/openapi/v1/me', { token: issued.body.token });
      expect(expired.status).toBe(401);
      expect(expired.body.code).toBe(1101);
    } finally {
      await short.stop();
    }
  });
});

describe('usage across a restart', () => {
  it('keeps the calls counted before the server stopped in the middle of the day', async () => {
    const database = await createTestDatabase();
    const env = { PORT: '0', LOG_LEVEL: 'silent', PORTICO_SECRET: TEST_SECRET, ...database.env, ISSUER: 'http://localhost:39871' };
    let portico: RunningPortico | undefined = await startPortico({ env });
    try {
      let api = apiClient(portico.url);
      await api.post('/api/v1/developers', { username: 'restart-dev', password: 'restart-dev-password' });
      const session = (await api.post('/api/v1/auth/login', { username: 'restart-dev', password: 'restart-dev-password' })).body.token;
      const app = (await api.post('/api/v1/applications', { name: 'Restarted' }, { token: session })).body;
      const token = (await api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.token;
      for (let i = 0; i < 25; i += 1) expect((await api.get('/openapi/v1/me', { token })).status).toBe(200);
      await portico.close();

      portico = await startPortico({ env });
      api = apiClient(portico.url);
      const after = await api.get('/openapi/v1/me', { token });
      expect(after.status).toBe(200);
      expect(after.headers.get('x-ratelimit-remaining')).toBe(String(5000 - 26));
    } finally {
      await portico?.close();
      await database.drop();
    }
  });
});

