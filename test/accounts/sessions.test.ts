import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SESSION_TTL_SECONDS } from '../../src/accounts/sessions.js';
import { keyedHash } from '../../src/crypto/tokens.js';
import { manualClock, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
const clock = manualClock();
beforeAll(async () => { server = await startTestServer({ clock }); });
afterAll(async () => { await server?.stop(); });

/** The cookies of a response, as a Cookie request header. */
function cookieHeader(res: { headers: Headers }): string {
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

describe('login', () => {
  it('answers unknown usernames and wrong passwords alike, with no session', async () => {
    await server.developer('erin');
    const unknown = await server.api.post('/api/v1/auth/login', { username: 'nobody-here', password: 'whatever-123' });
    const wrong = await server.api.post('/api/v1/auth/login', { username: 'erin', password: 'wrong-password' });
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('invalid_credentials');
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(unknown.body.detail).toBe(wrong.body.detail);
  });

  it('tells a rejected or banned status (with the reason) only after the password is verified', async () => {
    const admin = await server.adminToken();
    const banned = await server.developer('grace');
    // Only pending accounts can be rejected: register one under manual approval.
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin });
    const pending = await server.api.post('/api/v1/developers', { username: 'heidi', password: 'heidi-password-1' });
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
    expect((await server.api.post(`/api/v1/admin/developers/${pending.body.id}/reject`, { reason: 'incomplete company details' }, { token: admin })).status).toBe(200);
    expect((await server.api.post(`/api/v1/admin/developers/${banned.id}/ban`, { reason: 'abuse of the free tier' }, { token: admin })).status).toBe(200);

    const rejectedLogin = await server.api.post('/api/v1/auth/login', { username: 'heidi', password: 'heidi-password-1' });
    expect(rejectedLogin.status).toBe(403);
    expect(rejectedLogin.body).toMatchObject({ code: 'account_rejected', reason: 'incomplete company details' });

    const bannedLogin = await server.api.post('/api/v1/auth/login', { username: 'grace', password: 'grace-password-1' });
    expect(bannedLogin.status).toBe(403);
    expect(bannedLogin.body).toMatchObject({ code: 'account_banned', reason: 'abuse of the free tier' });

    const bannedWrongPassword = await server.api.post('/api/v1/auth/login', { username: 'grace', password: 'not-her-password' });
    expect(bannedWrongPassword.status).toBe(401);
    expect(bannedWrongPassword.body.code).toBe('invalid_credentials');
  });

  it('stores the session token only as a keyed hash', async () => {
    const { token } = await server.developer('ivan');
    const { db, keys } = server.portico.context;
    const rows = await db.selectFrom('sessions').select('token_hash').execute();
    const hashes = rows.map((r) => r.token_hash);
    expect(hashes).toContain(keyedHash(keys.sessionToken, token));
    expect(hashes.some((h) => h.includes(token))).toBe(false);
  });
});

describe('sessions', () => {
  it('work by bearer token; logout ends them', async () => {
    const { token } = await server.developer('judy');
    expect((await server.api.get('/api/v1/me', { token })).status).toBe(200);
    expect((await server.api.post('/api/v1/auth/logout', undefined, { token })).status).toBe(204);
    const after = await server.api.get('/api/v1/me', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthenticated');
  });

  it('work by cookie, and cookie-authenticated changes need the CSRF token', async () => {
    await server.developer('mallory');
    const login = await server.api.post('/api/v1/auth/login', { username: 'mallory', password: 'mallory-password-1' });
    const setCookies = login.headers.getSetCookie();
    expect(setCookies.find((c) => c.startsWith('portico_session='))).toMatch(/HttpOnly/i);
    expect(setCookies.find((c) => c.startsWith('portico_session='))).toMatch(/SameSite=Lax/i);
    const cookie = cookieHeader(login);

    const me = await server.api.get('/api/v1/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.account.username).toBe('mallory');

    const withoutCsrf = await server.api.post('/api/v1/auth/logout', undefined, { headers: { cookie } });
    expect(withoutCsrf.status).toBe(403);
    expect(withoutCsrf.body.code).toBe('csrf_failed');
    const wrongCsrf = await server.api.post('/api/v1/auth/logout', undefined, { headers: { cookie, 'x-csrf-token': 'a'.repeat(64) } });
    expect(wrongCsrf.status).toBe(403);
    expect((await server.api.get('/api/v1/me', { headers: { cookie } })).status).toBe(200);

    const logout = await server.api.post('/api/v1/auth/logout', undefined, { headers: { cookie, 'x-csrf-token': login.body.csrfToken } });
    expect(logout.status).toBe(204);
    expect((await server.api.get('/api/v1/me', { headers: { cookie } })).status).toBe(401);
  });

  it('refuses a forged (unsigned) session cookie', async () => {
    const { token } = await server.developer('oscar');
    const res = await server.api.get('/api/v1/me', { headers: { cookie: `portico_session=${token}` } });
    expect(res.status).toBe(401);
  });

  it('ends every session of an account at once when it is banned', async () => {
    const peggy = await server.developer('peggy');
    const second = await server.login('peggy', 'peggy-password-1');
    const admin = await server.adminToken();
    expect((await server.api.post(`/api/v1/admin/developers/${peggy.id}/ban`, undefined, { token: admin })).status).toBe(200);
    expect((await server.api.get('/api/v1/me', { token: peggy.token })).status).toBe(401);
    expect((await server.api.get('/api/v1/me', { token: second })).status).toBe(401);
    const left = await server.portico.context.db.selectFrom('sessions').select('id').where('account_id', '=', peggy.id).execute();
    expect(left).toEqual([]);
  });

  it('expire after 12 hours', async () => {
    const { token } = await server.developer('trent');
    const login = await server.api.post('/api/v1/auth/login', { username: 'trent', password: 'trent-password-1' });
    expect(login.body.expiresIn).toBe(SESSION_TTL_SECONDS);
    clock.advance(SESSION_TTL_SECONDS * 1000 - 60_000);
    expect((await server.api.get('/api/v1/me', { token })).status).toBe(200);
    clock.advance(120_000);
    expect((await server.api.get('/api/v1/me', { token })).status).toBe(401);
    expect(await server.portico.services.sessions.sweepExpired()).toBeGreaterThan(0);
  });

  it('accept the Bearer scheme in any case', async () => {
    const { token } = await server.developer('casey');
    expect((await server.api.get('/api/v1/me', { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
  });

  it('answer 401 problem+json without a session or with a malformed header', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
      const res = await server.api.get('/api/v1/me', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});

describe('logs', () => {
  it('never contain a password, a session token or a CSRF token', async () => {
    const password = 'Log-Leak-Canary-Passw0rd';
    await server.api.post('/api/v1/developers', { username: 'canary', password });
    const login = await server.api.post('/api/v1/auth/login', { username: 'canary', password });
    await server.api.get('/api/v1/me', { token: login.body.token });
    await server.api.post('/api/v1/auth/login', { username: 'canary', password: 'Wrong-Canary-Passw0rd' });
    await server.api.post('/api/v1/auth/logout', undefined, { token: login.body.token });
    const all = server.logs.join('\n');
    expect(all).toContain('"route":"/api/v1/auth/login"'); // the requests were logged
    for (const secret of [password, 'Wrong-Canary-Passw0rd', login.body.token, login.body.csrfToken]) {
      expect(all).not.toContain(secret);
    }
  });
});
