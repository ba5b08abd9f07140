import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
});
afterAll(async () => { await server?.stop(); });

async function registerPending(username: string): Promise<string> {
  await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin });
  const res = await server.api.post('/api/v1/developers', { username, password: `${username}-password-1` });
  await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
  return res.body.id as string;
}

describe('admin moderation', () => {
  it('is refused to developers (403) and to anonymous callers (401)', async () => {
    const dev = await server.developer('plain-dev');
    for (const [method, path] of [['GET', '/api/v1/admin/developers'], ['GET', '/api/v1/admin/settings'], ['GET', '/api/v1/admin/audit'],
      ['POST', `/api/v1/admin/developers/${dev.id}/ban`], ['PUT', '/api/v1/admin/settings']] as const) {
      const asDeveloper = await server.api.request(method, path, method === 'PUT' ? { developerApproval: 'manual' } : undefined, { token: dev.token });
      expect(asDeveloper.status).toBe(403);
      expect(asDeveloper.body.code).toBe('forbidden');
      expect((await server.api.request(method, path)).status).toBe(401);
    }
    expect((await server.api.get('/api/v1/admin/settings', { token: admin })).body.developerApproval).toBe('auto');
  });

  it('lists developers by status, newest first, page by page', async () => {
    const ids = [await registerPending('queue-a'), await registerPending('queue-b'), await registerPending('queue-c')];
    const first = await server.api.get('/api/v1/admin/developers?status=pending&limit=2', { token: admin });
    expect(first.status).toBe(200);
    expect(first.body.items.map((a: { id: string }) => a.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.items[0]).toMatchObject({ username: 'queue-c', status: 'pending', role: 'developer' });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await server.api.get(`/api/v1/admin/developers?status=pending&limit=2&cursor=${first.body.nextCursor}`, { token: admin });
    expect(second.body.items.map((a: { id: string }) => a.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();

    const active = await server.api.get('/api/v1/admin/developers?status=active&limit=100', { token: admin });
    expect(active.body.items.length).toBeGreaterThan(0);
    expect(active.body.items.every((a: { status: string }) => a.status === 'active')).toBe(true);
    expect(active.body.items.some((a: { role: string }) => a.role === 'admin')).toBe(false);
  });

  it('approves, rejects, bans and unbans, refusing transitions that make no sense', async () => {
    const id = await registerPending('moderated');
    const reject = await server.api.post(`/api/v1/admin/developers/${id}/reject`, { reason: 'no company' }, { token: admin });
    expect(reject.body).toMatchObject({ id, status: 'rejected', statusReason: 'no company' });
    const again = await server.api.post(`/api/v1/admin/developers/${id}/reject`, undefined, { token: admin });
    expect(again.body).toMatchObject({ status: 409, code: 'conflict', accountStatus: 'rejected' });
    expect((await server.api.post(`/api/v1/admin/developers/${id}/unban`, undefined, { token: admin })).body.code).toBe('conflict');

    const approve = await server.api.post(`/api/v1/admin/developers/${id}/approve`, undefined, { token: admin });
    expect(approve.body).toMatchObject({ status: 'active', statusReason: null });
    const ban = await server.api.post(`/api/v1/admin/developers/${id}/ban`, { reason: 'spam' }, { token: admin });
    expect(ban.body).toMatchObject({ status: 'banned', statusReason: 'spam' });
    const unban = await server.api.post(`/api/v1/admin/developers/${id}/unban`, undefined, { token: admin });
    expect(unban.body.status).toBe('active');
    expect((await server.api.post('/api/v1/auth/login', { username: 'moderated', password: 'moderated-password-1' })).status).toBe(200);
  });

  it('answers 404 for unknown ids and for admin accounts', async () => {
    const unknown = await server.api.post('/api/v1/admin/developers/00000000-0000-4000-8000-000000000000/ban', undefined, { token: admin });
    expect(unknown.status).toBe(404);
    const me = await server.api.get('/api/v1/me', { token: admin });
    const self = await server.api.post(`/api/v1/admin/developers/${me.body.account.id}/ban`, undefined, { token: admin });
    expect(self.status).toBe(404);
  });
});

describe('settings', () => {
  it('has the documented defaults and accepts any subset', async () => {
    const defaults = await server.api.get('/api/v1/admin/settings', { token: admin });
    expect(defaults.body).toEqual({ developerApproval: 'auto', subscriptionApproval: 'auto', consumerDailyQuota: 100000, allowLoopbackHttpRedirects: false, clientRegistration: 'open', confidentialClientRegistration: false });
    const put = await server.api.put('/api/v1/admin/settings', { subscriptionApproval: 'manual', consumerDailyQuota: 250 }, { token: admin });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ developerApproval: 'auto', subscriptionApproval: 'manual', consumerDailyQuota: 250, allowLoopbackHttpRedirects: false, clientRegistration: 'open', confidentialClientRegistration: false });
    expect((await server.api.get('/api/v1/admin/settings', { token: admin })).body).toEqual(put.body);
    await server.api.put('/api/v1/admin/settings', { subscriptionApproval: 'auto', consumerDailyQuota: 100000 }, { token: admin });
  });

  it.each([
    [{}], [{ developerApproval: 'sometimes' }], [{ consumerDailyQuota: 0 }], [{ consumerDailyQuota: 1.5 }],
    [{ consumerDailyQuota: '100' }], [{ unknownSetting: true }], [[]],
  ])('refuses %j and changes nothing', async (body) => {
    const before = await server.api.get('/api/v1/admin/settings', { token: admin });
    const res = await server.api.put('/api/v1/admin/settings', body, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect((await server.api.get('/api/v1/admin/settings', { token: admin })).body).toEqual(before.body);
  });
});

describe('audit log', () => {
  it('records every change with actor, time, IP and details, filterable', async () => {
    const dev = await server.developer('audited');
    await server.api.post(`/api/v1/admin/developers/${dev.id}/ban`, { reason: 'testing the log' }, { token: admin });
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
    const me = await server.api.get('/api/v1/me', { token: admin });

    const forDev = await server.api.get(`/api/v1/admin/audit?targetId=${dev.id}`, { token: admin });
    expect(forDev.status).toBe(200);
    const actions = forDev.body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['account.banned', 'session.created', 'account.registered']);
    expect(forDev.body.items[0]).toMatchObject({
      actorId: me.body.account.id, actorIp: expect.stringMatching(/127\.0\.0\.1/), targetType: 'account',
      details: { from: 'active', to: 'banned', reason: 'testing the log', endedSessions: 1 },
      occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), requestId: expect.any(String),
    });

    const settingsEvents = await server.api.get('/api/v1/admin/audit?action=settings.updated&limit=1', { token: admin });
    expect(settingsEvents.body.items[0]).toMatchObject({
      action: 'settings.updated', details: { changes: { developerApproval: { from: 'auto', to: 'auto' } } },
    });
  });
});
