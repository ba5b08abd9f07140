import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

describe('POST /api/v1/developers', () => {
  it('registers an active developer with a default consumer under automatic approval', async () => {
    const res = await server.api.post('/api/v1/developers', { username: 'alice', password: 'correct-horse-1', email: 'alice@example.com' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ username: 'alice', status: 'active', email: 'alice@example.com' });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);

    const consumers = await server.portico.services.consumers.listOfAccount(res.body.id);
    expect(consumers).toEqual([expect.objectContaining({ name: 'default', isDefault: true })]);

    const token = await server.login('alice', 'correct-horse-1');
    const me = await server.api.get('/api/v1/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ account: { id: res.body.id, username: 'alice', email: 'alice@example.com', status: 'active', role: 'developer' } });
  });

  it('keeps the password only as an argon2id hash', async () => {
    const res = await server.api.post('/api/v1/developers', { username: 'hashy', password: 'plain-text-pw-1' });
    const row = await server.portico.context.db.selectFrom('accounts').select('password_hash').where('id', '=', res.body.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(row.password_hash).not.toContain('plain-text-pw-1');
  });

  it('answers 409 conflict for a taken username, whatever its case, and creates nothing', async () => {
    await server.api.post('/api/v1/developers', { username: 'bob', password: 'bob-password-1' });
    const before = await server.portico.context.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const res = await server.api.post('/api/v1/developers', { username: 'BOB', password: 'another-password' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('conflict');
    const after = await server.portico.context.db.selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it.each([
    [{ username: 'ab', password: 'long-enough-1' }, 'body.username'],
    [{ username: 'x'.repeat(65), password: 'long-enough-1' }, 'body.username'],
    [{ username: 'bad name', password: 'long-enough-1' }, 'body.username'],
    [{ username: 'carol', password: 'short' }, 'body.password'],
    [{ username: 'carol', password: 'p'.repeat(257) }, 'body.password'],
    [{ username: 'carol', password: 'long-enough-1', email: 'not-an-email' }, 'body.email'],
    [{ username: 'carol', password: 'long-enough-1', role: 'admin' }, 'body'],
    [{ username: 42, password: 'long-enough-1' }, 'body.username'],
    [{ password: 'long-enough-1' }, 'body.username'],
  ])('refuses %j with validation_failed on %s', async (body, path) => {
    const res = await server.api.post('/api/v1/developers', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('creates pending accounts under manual approval, which cannot log in until approved', async () => {
    const admin = await server.adminToken();
    expect((await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin })).status).toBe(200);
    try {
      const res = await server.api.post('/api/v1/developers', { username: 'dave', password: 'dave-password-1' });
      expect(res.status).toBe(201);
      expect(res.body.status).toBe('pending');
      const login = await server.api.post('/api/v1/auth/login', { username: 'dave', password: 'dave-password-1' });
      expect(login.status).toBe(403);
      expect(login.body.code).toBe('account_pending');

      expect((await server.api.post(`/api/v1/admin/developers/${res.body.id}/approve`, undefined, { token: admin })).status).toBe(200);
      expect((await server.api.post('/api/v1/auth/login', { username: 'dave', password: 'dave-password-1' })).status).toBe(200);
    } finally {
      await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
    }
  });
});
