import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { NotFound } from '../../src/http/errors.js';
import { addressBlock } from '../../src/rate-limits/service.js';
import { browser, formWithButton } from '../support/browser.js';
import { onPostgres, startTwoNodes, type TwoNodes } from '../support/cluster.js';
import { ADMIN } from '../support/constants.js';
import { apiClient } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

// The suite's store: Redis when REDIS_URL is set (a key prefix of its own per server, so runs do
// not collide), else PostgreSQL with DATABASE_URL, else this process's memory (PGlite).
const expectedStore = process.env.REDIS_URL ? 'redis' : process.env.DATABASE_URL ? 'postgres' : 'memory';
const storeEnv = (): Record<string, string> => (process.env.REDIS_URL
  ? { REDIS_URL: process.env.REDIS_URL, RATE_LIMIT_PREFIX: `rl-test-${randomBytes(6).toString('hex')}` }
  : {});

/** A server whose addresses come from X-Forwarded-For, so each test counts against addresses of its own. */
const startServer = (env: Record<string, string> = {}) => startTestServer({ env: { TRUST_PROXY: 'true', ...storeEnv(), ...env } });

let addresses = 0;
/** A fresh client address (TEST-NET-3, never contacted: only a header value). */
const newAddress = () => `203.0.113.${(addresses += 1)}`;

const login = (server: TestServer, username: string, password: string, ip: string) =>
  server.api.post('/api/v1/auth/login', { username, password }, { headers: { 'x-forwarded-for': ip } });

/** Repeats a wrong password and expects each answer to be the ordinary 401. */
async function failLogins(server: TestServer, username: string, times: number, ip: string) {
  for (let i = 0; i < times; i += 1) {
    const res = await login(server, username, `wrong-password-${i}`, ip);
    expect({ attempt: i + 1, status: res.status, code: res.body.code }).toEqual({ attempt: i + 1, status: 401, code: 'invalid_credentials' });
  }
}

function expectRateLimited(res: { status: number; headers: Headers; body: any }, maxSeconds: number) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status: 429, code: 'rate_limited', type: 'urn:portico:problem:rate_limited' });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  return retryAfter;
}

/** The audit events of an action on a target, waiting a little for events written after the answer. */
async function auditEvents(server: TestServer, action: string, targetId: string, atLeast = 1) {
  const admin = await server.adminToken();
  for (let i = 0; ; i += 1) {
    const res = await server.api.get(`/api/v1/admin/audit?action=${action}&targetId=${targetId}`, { token: admin });
    if (res.body.items.length >= atLeast || i >= 20) return res.body.items as Array<Record<string, any>>;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('configuration', () => {
  it('has documented defaults and refuses values out of range by name', () => {
    expect(loadConfig({}).rateLimits).toEqual({
      prefix: 'portico', loginMaxFailures: 10, loginWindowSeconds: 60, loginLockSeconds: 60, loginMaxLockSeconds: 3600,
      loginIpMaxFailures: 100, registrationMaxPerIp: 20, registrationWindowSeconds: 600, clientRegistrationMaxPerIp: 10, clientRegistrationWindowSeconds: 3600, tokenMaxFailures: 30, tokenWindowSeconds: 60,
    });
    let error: unknown;
    try { loadConfig({ LOGIN_MAX_FAILURES: '0', TOKEN_WINDOW_SECONDS: 'soon', RATE_LIMIT_PREFIX: 'a b' }); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/LOGIN_MAX_FAILURES:/);
    expect((error as Error).message).toMatch(/TOKEN_WINDOW_SECONDS:/);
    expect((error as Error).message).toMatch(/RATE_LIMIT_PREFIX:/);
  });
});

describe('password guessing (defaults: 10 failures a minute)', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer(); });
  afterAll(async () => { await server?.stop(); });

  it(`counts in the ${expectedStore} store`, async () => {
    expect(server.portico.services.rateLimits.store).toBe(expectedStore);
    await server.developer('store-check');
    await failLogins(server, 'store-check', 1, newAddress());
    if (expectedStore === 'postgres') {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from rate_limits`.execute(server.portico.context.db);
      expect(rows[0]!.n).toBeGreaterThan(0);
    }
    if (expectedStore === 'redis') {
      const redis = new Redis(process.env.REDIS_URL!);
      try {
        const keys = await redis.keys(`${server.portico.config.rateLimits.prefix}:*`);
        expect(keys.length).toBeGreaterThan(0);
        // Keyed hashes only: no username or address in the store.
        expect(keys.join(' ')).not.toMatch(/store-check|203\.0\.113/);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('answers the 11th wrong password in a minute 429 with Retry-After, even with the right password, while another account logs in', async () => {
    const alice = await server.developer('alice');
    await server.developer('bob');
    const ip = newAddress();
    await failLogins(server, 'alice', 10, ip);
    const locked = await login(server, 'alice', 'alice-password-1', ip);
    const retryAfter = expectRateLimited(locked, 60);
    expect(retryAfter).toBeGreaterThanOrEqual(55); // the first lock: 60 s
    expect(locked.body.detail).toMatch(/Too many failed logins for this account\. Try again in \d+ seconds\./);
    expect(locked.headers.getSetCookie()).toEqual([]);
    expectRateLimited(await login(server, 'alice', 'still-wrong-1', ip), 60);
    // From another address too: the lock is the account's.
    expectRateLimited(await login(server, 'alice', 'alice-password-1', newAddress()), 60);

    expect((await login(server, 'bob', 'bob-password-1', ip)).status).toBe(200);

    const [event] = await auditEvents(server, 'account.locked', alice.id);
    expect(event).toMatchObject({ action: 'account.locked', targetType: 'account', targetId: alice.id, actorId: null, actorIp: ip });
    expect(event!.details).toMatchObject({ failures: 10, windowSeconds: 60, lockSeconds: 60, locksToday: 1 });
    // One event per lock, not one per refused attempt.
    expect(await auditEvents(server, 'account.locked', alice.id)).toHaveLength(1);
  });

  it('limits an unknown username exactly like a known one, so the limiter tells nothing about who exists', async () => {
    await server.developer('known-user');
    const known = newAddress();
    const unknown = newAddress();
    await failLogins(server, 'known-user', 10, known);
    await failLogins(server, 'nobody-by-this-name', 10, unknown);
    const a = await login(server, 'known-user', 'wrong-password-x', known);
    const b = await login(server, 'nobody-by-this-name', 'wrong-password-x', unknown);
    expectRateLimited(a, 60);
    expectRateLimited(b, 60);
    expect(a.body.detail).toBe(b.body.detail);
    expect(Object.keys(a.body).sort()).toEqual(Object.keys(b.body).sort());
  });

  it('treats usernames without regard to case, as login does', async () => {
    await server.developer('Carmen');
    const ip = newAddress();
    for (let i = 0; i < 10; i += 1) await login(server, i % 2 ? 'carmen' : 'CARMEN', 'wrong-password', ip);
    expectRateLimited(await login(server, 'Carmen', 'Carmen-password-1', ip), 60);
  });

  it('forgets the failures of a username at a successful login', async () => {
    await server.developer('dave');
    const ip = newAddress();
    await failLogins(server, 'dave', 9, ip);
    expect((await login(server, 'dave', 'dave-password-1', ip)).status).toBe(200);
    await failLogins(server, 'dave', 9, ip);
    expect((await login(server, 'dave', 'dave-password-1', ip)).status).toBe(200);
  });

  it('counts the API, the portal form and the authorization flow form together, and throttles each', async () => {
    const merchant = await server.developer('rl-merchant');
    const app = await server.api.post('/api/v1/applications', { name: 'Throttled merchant', redirectUris: ['http://localhost:8080/callback'] }, { token: merchant.token });
    expect(app.status).toBe(201);
    await server.developer('erin');
    const ip = newAddress();
    const headers = { 'x-forwarded-for': ip };

    // 4 failures through the API ...
    await failLogins(server, 'erin', 4, ip);
    // ... 3 through the portal's form ...
    const portal = browser();
    const portalForm = formWithButton(await (await portal.open(`${server.portico.url}/login`)).res.text(), 'Log in');
    const postPortal = (password: string) => fetch(new URL(portalForm.action, server.portico.url), {
      method: 'POST', redirect: 'manual',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: [...portal.cookiesOf(server.portico.url)].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ ...portalForm.fields, username: 'erin', password }),
    });
    for (let i = 0; i < 3; i += 1) expect((await postPortal('wrong-password')).status).toBe(401);
    // ... and 3 through the authorization flow's login page.
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${server.portico.issuer}/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      client_id: app.body.clientId, redirect_uri: 'http://localhost:8080/callback', response_type: 'code', scope: 'openid', state: 'rl-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    }).toString();
    const flow = browser();
    const page = await flow.open(authorize.href);
    const loginForm = formWithButton(await page.res.text(), 'Log in');
    const postInteraction = (password: string) => fetch(new URL(loginForm.action, page.url), {
      method: 'POST', redirect: 'manual',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: [...flow.cookiesOf(page.url)].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ ...loginForm.fields, username: 'erin', password }),
    });
    for (let i = 0; i < 3; i += 1) expect((await postInteraction('wrong-password')).status).toBe(401);

    // The 11th attempt, wherever it comes, is refused with the right password too.
    const viaPortal = await postPortal('erin-password-1');
    expect(viaPortal.status).toBe(429);
    expect(Number(viaPortal.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const portalHtml = await viaPortal.text();
    expect(portalHtml).toMatch(/<p class="error" role="alert">Too many failed logins for this account\. Try again in \d+ seconds\.<\/p>/);
    expect(portalHtml).toContain('name="username"'); // the form again, not an error page
    expect(viaPortal.headers.getSetCookie().some((c) => c.startsWith('portico_session='))).toBe(false);

    const viaFlow = await postInteraction('erin-password-1');
    expect(viaFlow.status).toBe(429);
    expect(Number(viaFlow.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await viaFlow.text()).toMatch(/<p class="error" role="alert">Too many failed logins for this account\. Try again in \d+ seconds\.<\/p>/);

    expectRateLimited(await login(server, 'erin', 'erin-password-1', ip), 60);
  });

  it('lets an administrator unlock an account at once; audited', async () => {
    const admin = await server.adminToken();
    const frank = await server.developer('frank');
    const ip = newAddress();
    await failLogins(server, 'frank', 10, ip);
    expectRateLimited(await login(server, 'frank', 'frank-password-1', ip), 60);

    expect((await server.api.post(`/api/v1/admin/developers/${frank.id}/unlock`, undefined, { token: frank.token })).status).toBe(403);
    const unlocked = await server.api.post(`/api/v1/admin/developers/${frank.id}/unlock`, undefined, { token: admin });
    expect(unlocked.status).toBe(200);
    expect(unlocked.body).toEqual({ id: frank.id, username: 'frank', wasLocked: true });
    expect((await login(server, 'frank', 'frank-password-1', ip)).status).toBe(200);

    const [event] = await auditEvents(server, 'account.unlocked', frank.id);
    expect(event).toMatchObject({ targetType: 'account', targetId: frank.id, details: { username: 'frank', wasLocked: true } });
    expect(event!.actorId).toBe((await server.api.get('/api/v1/me', { token: admin })).body.account.id);

    // Not locked: still answered (and audited), saying so.
    expect((await server.api.post(`/api/v1/admin/developers/${frank.id}/unlock`, undefined, { token: admin })).body.wasLocked).toBe(false);
    expect((await server.api.post('/api/v1/admin/developers/00000000-0000-4000-8000-000000000000/unlock', undefined, { token: admin })).status).toBe(404);
    expect((await server.api.post('/api/v1/admin/developers/not-a-uuid/unlock', undefined, { token: admin })).status).toBe(400);
  });

  it('unlocks by username through the service the CLI calls', async () => {
    const grace = await server.developer('grace');
    const ip = newAddress();
    await failLogins(server, 'grace', 10, ip);
    expectRateLimited(await login(server, 'grace', 'grace-password-1', ip), 60);
    const actor = { accountId: null, ip: null, requestId: 'cli' };
    await expect(server.portico.services.rateLimits.unlock(actor, 'GRACE')).resolves.toEqual({ id: grace.id, username: 'grace', wasLocked: true });
    expect((await login(server, 'grace', 'grace-password-1', ip)).status).toBe(200);
    await expect(server.portico.services.rateLimits.unlock(actor, 'no-such-user')).rejects.toBeInstanceOf(NotFound);
    expect(await auditEvents(server, 'account.unlocked', grace.id)).toHaveLength(1);
  });
});

describe('locks end by themselves, and grow with each lock', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCK_SECONDS: '1', LOGIN_MAX_LOCK_SECONDS: '2' }); });
  afterAll(async () => { await server?.stop(); });

  it('unlocks after the lock, twice as long the second time, capped by LOGIN_MAX_LOCK_SECONDS', async () => {
    const heidi = await server.developer('heidi');
    const ip = newAddress();
    await failLogins(server, 'heidi', 3, ip);
    expect(expectRateLimited(await login(server, 'heidi', 'heidi-password-1', ip), 1)).toBe(1);
    await sleep(1_200);
    await failLogins(server, 'heidi', 3, ip); // the first lock is over: the count started again
    expect(expectRateLimited(await login(server, 'heidi', 'heidi-password-1', ip), 2)).toBe(2);
    await sleep(1_200);
    expectRateLimited(await login(server, 'heidi', 'heidi-password-1', ip), 1); // still locked
    await sleep(1_000);
    expect((await login(server, 'heidi', 'heidi-password-1', ip)).status).toBe(200);
    // The third lock would be 4 s: capped at 2.
    await failLogins(server, 'heidi', 3, ip);
    expect(expectRateLimited(await login(server, 'heidi', 'heidi-password-1', ip), 2)).toBe(2);
    const locks = await auditEvents(server, 'account.locked', heidi.id, 3);
    expect(locks.map((e) => e.details.lockSeconds).sort()).toEqual([1, 2, 2]);
  });
});

describe('per address', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ LOGIN_IP_MAX_FAILURES: '5', REGISTRATION_MAX_PER_IP: '3' }); });
  afterAll(async () => { await server?.stop(); });

  it('limits failed logins from one address across usernames; successes give their attempt back', async () => {
    await server.developer('ivan');
    const ip = newAddress();
    for (const name of ['u1', 'u2', 'u3', 'u4']) await failLogins(server, name, 1, ip);
    for (let i = 0; i < 3; i += 1) expect((await login(server, 'ivan', 'ivan-password-1', ip)).status).toBe(200);
    await failLogins(server, 'u5', 1, ip); // the 5th failure
    const refused = await login(server, 'ivan', 'ivan-password-1', ip);
    expectRateLimited(refused, 60);
    expect(refused.body.detail).toMatch(/Too many failed logins from this address\./);
    // The account itself is not locked: from another address it logs in.
    expect((await login(server, 'ivan', 'ivan-password-1', newAddress())).status).toBe(200);
  });

  it('limits registrations from one address, through the API and the sign-up page', async () => {
    const ip = newAddress();
    const register = (username: string, from = ip) => server.api.post('/api/v1/developers', { username, password: `${username}-password-1` }, { headers: { 'x-forwarded-for': from } });
    expect((await register('reg-one')).status).toBe(201);
    expect((await register('reg-one')).status).toBe(409); // a taken name counts too (it is a probe)
    expect((await register('reg-two')).status).toBe(201);
    const refused = await register('reg-three');
    expectRateLimited(refused, 600);
    expect(refused.body.detail).toMatch(/Too many registrations from this address\./);
    // Nothing was created.
    expect(await server.portico.services.accounts.findByUsername('reg-three')).toBeUndefined();

    const b = browser();
    const form = formWithButton(await (await b.open(`${server.portico.url}/signup`)).res.text(), 'Sign up');
    const page = await fetch(new URL(form.action, server.portico.url), {
      method: 'POST', redirect: 'manual',
      headers: { 'x-forwarded-for': ip, 'content-type': 'application/x-www-form-urlencoded', cookie: [...b.cookiesOf(server.portico.url)].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ ...form.fields, username: 'reg-four', password: 'reg-four-password-1' }),
    });
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await page.text()).toMatch(/<p class="error" role="alert">Too many registrations from this address\. Try again in \d+ seconds\.<\/p>/);

    expect((await register('reg-five', newAddress())).status).toBe(201);
  });
});

describe('token endpoint failures per client', () => {
  let server: TestServer;
  let owner: { id: string; token: string };
  beforeAll(async () => {
    server = await startServer({ TOKEN_MAX_FAILURES: '5' });
    owner = await server.developer('token-merchant');
  });
  afterAll(async () => { await server?.stop(); });

  async function application(name: string) {
    const res = await server.api.post('/api/v1/applications', { name, redirectUris: ['http://localhost:8080/callback'] }, { token: owner.token });
    expect(res.status).toBe(201);
    return res.body as { clientId: string; clientSecret: string };
  }
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  const grant = (path: string, form: Record<string, string>, authorization?: string) => fetch(`${server.portico.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(form),
  }).then(async (res) => ({ status: res.status, headers: res.headers, body: await res.json() as Record<string, any> }));

  it('answers 429 slow_down with Retry-After once a client has used up its failures, whatever the secret; other clients go on', async () => {
    const victim = await application('Guessed client');
    const other = await application('Other client');
    for (let i = 0; i < 5; i += 1) {
      const res = await grant('/oauth2/token', { grant_type: 'client_credentials' }, basic(victim.clientId, `wrong-secret-${i}`));
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
    const limited = await grant('/oauth2/token', { grant_type: 'client_credentials' }, basic(victim.clientId, victim.clientSecret));
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'slow_down', error_description: expect.stringMatching(/retry after \d+ seconds/) });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('cache-control')).toContain('no-store');
    // The secret in the form, and the management API's alias: the same client, the same answer.
    expect((await grant('/oauth2/token', { grant_type: 'client_credentials', client_id: victim.clientId, client_secret: victim.clientSecret })).status).toBe(429);
    expect((await grant('/api/v1/oauth2/token', { grant_type: 'client_credentials' }, basic(victim.clientId, victim.clientSecret))).status).toBe(429);
    // ... and its /openapi/v1 token call, in the business shape.
    const compat = await server.api.post('/openapi/v1/token', { clientId: victim.clientId, clientSecret: victim.clientSecret });
    expect(compat.status).toBe(429);
    expect(compat.body).toEqual({ code: 1400, msg: expect.stringMatching(/retry after \d+ seconds/) });
    expect(Number(compat.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const ok = await grant('/oauth2/token', { grant_type: 'client_credentials' }, basic(other.clientId, other.clientSecret));
    expect(ok.status).toBe(200);
    expect(ok.body.access_token).toEqual(expect.any(String));
  });

  it('counts invalid_grant answers too (a made-up authorization code), through the alias', async () => {
    const app = await application('Code guesser');
    for (let i = 0; i < 5; i += 1) {
      const res = await grant('/api/v1/oauth2/token', { grant_type: 'authorization_code', code: `made-up-code-${i}`, redirect_uri: 'http://localhost:8080/callback' }, basic(app.clientId, app.clientSecret));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    }
    expect((await grant('/oauth2/token', { grant_type: 'client_credentials' }, basic(app.clientId, app.clientSecret))).status).toBe(429);
  });

  it('does not count successes', async () => {
    const app = await application('Busy client');
    for (let i = 0; i < 8; i += 1) {
      expect((await grant('/oauth2/token', { grant_type: 'client_credentials' }, basic(app.clientId, app.clientSecret))).status).toBe(200);
    }
  });

  it('limits /openapi/v1/token failures with HTTP 429 and business code 1400', async () => {
    const app = await application('Compat guesser');
    for (let i = 0; i < 5; i += 1) {
      const res = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: `wrong-secret-${i}` });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe(1101);
    }
    const limited = await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ code: 1400, msg: expect.stringMatching(/too many failed token requests for this client; retry after \d+ seconds/) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('cache-control')).toContain('no-store');
    const other = await application('Compat other');
    expect((await server.api.post('/openapi/v1/token', { clientId: other.clientId, clientSecret: other.clientSecret })).body.code).toBe(1000);
  });
});

describe('a shared store that is down', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startServer({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_PREFIX: 'unreachable' }); });
  afterAll(async () => {
    await server?.stop();
    await sleep(2_100); // ioredis destroys the socket of its last failed attempt 2 s after disconnect()
  });

  it('still limits, in this node\'s memory, and never answers 500', async () => {
    expect(server.portico.services.rateLimits.store).toBe('redis');
    await server.developer('judy');
    const ip = newAddress();
    await failLogins(server, 'judy', 10, ip);
    expectRateLimited(await login(server, 'judy', 'judy-password-1', ip), 60);
    expect((await server.portico.services.rateLimits.unlock({ accountId: null, ip: null, requestId: 'test' }, 'judy')).id).toEqual(expect.any(String));
    expect((await login(server, 'judy', 'judy-password-1', ip)).status).toBe(200);
    expect(server.logs.join('')).toContain('Redis unreachable');
  });
});

onPostgres('two nodes', () => {
  let cluster: TwoNodes | undefined;
  beforeAll(async () => { cluster = await startTwoNodes('http://localhost:39873', { TRUST_PROXY: 'true', TOKEN_MAX_FAILURES: '5', ...storeEnv() }); });
  afterAll(async () => { await cluster?.stop(); });

  it('hold one limit: failures split between the nodes lock the account on both', async () => {
    const [first, second] = cluster!.urls.map(apiClient);
    expect((await first!.post('/api/v1/developers', { username: 'kim', password: 'kim-password-1' })).status).toBe(201);
    const ip = newAddress();
    const headers = { 'x-forwarded-for': ip };
    for (let i = 0; i < 10; i += 1) {
      const node = i % 2 ? second! : first!;
      expect((await node.post('/api/v1/auth/login', { username: 'kim', password: 'wrong-password' }, { headers })).status).toBe(401);
    }
    for (const node of [first!, second!]) expectRateLimited(await node.post('/api/v1/auth/login', { username: 'kim', password: 'kim-password-1' }, { headers }), 60);
    // Unlocked on one node, unlocked on both.
    const admin = (await first!.post('/api/v1/auth/login', ADMIN)).body.token as string;
    const id = (await first!.get('/api/v1/admin/developers?status=active', { token: admin })).body.items.find((d: { username: string }) => d.username === 'kim').id as string;
    expect((await first!.post(`/api/v1/admin/developers/${id}/unlock`, undefined, { token: admin })).body.wasLocked).toBe(true);
    expect((await second!.post('/api/v1/auth/login', { username: 'kim', password: 'kim-password-1' }, { headers })).status).toBe(200);
  });

  it('hold one token endpoint limit: a client limited on one node is refused on the other', async () => {
    const [first, second] = cluster!.urls.map(apiClient);
    expect((await first!.post('/api/v1/developers', { username: 'lee', password: 'lee-password-1' })).status).toBe(201);
    const session = (await first!.post('/api/v1/auth/login', { username: 'lee', password: 'lee-password-1' })).body.token as string;
    const app = (await first!.post('/api/v1/applications', { name: 'Two-node client' }, { token: session })).body;
    // Failures 1, 3 and 5 on the first node, 2 and 4 on the second: the second never counts the 5th itself.
    for (let i = 0; i < 5; i += 1) {
      const node = i % 2 ? second! : first!;
      expect((await node.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: `wrong-secret-${i}` })).body.code).toBe(1101);
    }
    await sleep(300); // the first node's NOTIFY
    for (const node of [first!, second!]) {
      const res = await node.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret });
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 429, code: 1400 });
    }
  });
});

describe('per-address limits', () => {
  it('count an IPv6 host by its /64, an IPv4 address (mapped or not) by itself', () => {
    expect(addressBlock('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBlock('::ffff:203.0.113.7')).toBe('203.0.113.7');
    const block = addressBlock('2001:db8:1:2::1');
    expect(block).toBe('2001:db8:1:2::/64');
    for (const sibling of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2::9%eth0']) expect(addressBlock(sibling)).toBe(block);
    expect(addressBlock('2001:db8:1:3::1')).not.toBe(block);
    expect(addressBlock('::1')).toBe('0:0:0:0::/64');
  });
});
