import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
});
afterAll(async () => { await server?.stop(); });

const MISSING = '00000000-0000-4000-8000-000000000000';
type App = { id: string; clientId: string; dailyQuota: number };

async function createApplication(token: string): Promise<App> {
  const res = await server.api.post('/api/v1/applications', { name: 'Busy app' }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body as App;
}

async function onlineApplication(token: string): Promise<App> {
  const app = await createApplication(token);
  await server.api.post(`/api/v1/applications/${app.id}/go-live`, undefined, { token });
  const approved = await server.api.post(`/api/v1/admin/applications/${app.id}/approve`, undefined, { token: admin });
  expect(approved.body.dailyQuota).toBe(100_000);
  return approved.body as App;
}

/**
 * Today's calls through the real counter, as the gateway makes them. 80,000 calls take about half a
 * second in memory (the counter reserves up to 1,000 at a time), so no usage row needs forging.
 */
async function use(app: App, calls: number): Promise<void> {
  for (let i = 0; i < calls; i += 1) {
    if (!(await server.portico.services.usage.consume({ kind: 'application', id: app.id }, app.dailyQuota)).allowed) throw new Error('over quota');
  }
}

const ask = (token: string, id: string, body: unknown) => server.api.post(`/api/v1/applications/${id}/quota-requests`, body, { token });

describe('quota raise requests', () => {
  it('are refused before 80 % of today\'s quota is used (79.99 % included) and accepted from 80 %', async () => {
    const dev = await server.developer('qr-threshold');
    const app = await onlineApplication(dev.token);
    const body = { dailyQuota: 250_000, reason: 'Black Friday traffic.' };

    const none = await ask(dev.token, app.id, body);
    expect(none.status).toBe(409);
    expect(none.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(none.body).toMatchObject({
      code: 'quota_raise_not_allowed', dailyQuota: 100_000, usedToday: 0, threshold: 80_000,
      detail: 'Today\'s use is 0 of 100,000 calls (0.0 %); a raise can be requested from 80 % (80,000 calls).',
    });

    const started = Date.now();
    await use(app, 79_999);
    const almost = await ask(dev.token, app.id, body);
    expect(almost.body).toMatchObject({ code: 'quota_raise_not_allowed', usedToday: 79_999 });
    expect(almost.body.detail).toContain('79,999 of 100,000 calls (79.9 %)');

    await use(app, 1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const created = await ask(dev.token, app.id, body);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String), applicationId: app.id, dailyQuota: 250_000, previousQuota: 100_000, usedToday: 80_000,
      reason: 'Black Friday traffic.', status: 'pending', grantedQuota: null, decisionReason: null,
      createdAt: expect.any(String), decidedAt: null,
    });

    // One open request per application: the second answers 409 with the open one.
    const again = await ask(dev.token, app.id, { dailyQuota: 300_000, reason: 'More.' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', quotaRequest: { id: created.body.id, status: 'pending' } });

    const audit = await server.api.get(`/api/v1/admin/audit?targetType=quota_request&targetId=${created.body.id}`, { token: admin });
    expect(audit.body.items).toEqual([expect.objectContaining({
      action: 'quota_request.created', details: { applicationId: app.id, dailyQuota: 250_000, previousQuota: 100_000, usedToday: 80_000 },
    })]);
  });

  it('are refused in development, in review and while suspended', async () => {
    const dev = await server.developer('qr-stages');
    const app = await createApplication(dev.token);
    await use(app, 4_500);
    const body = { dailyQuota: 10_000, reason: 'Need more.' };
    const inDevelopment = await ask(dev.token, app.id, body);
    expect(inDevelopment.status).toBe(409);
    expect(inDevelopment.body).toMatchObject({
      code: 'quota_raise_not_allowed', stage: 'development',
      detail: 'A development-stage quota (5,000 calls a day) cannot be raised; go live first.',
    });
    await server.api.post(`/api/v1/applications/${app.id}/go-live`, undefined, { token: dev.token });
    expect((await ask(dev.token, app.id, body)).body).toMatchObject({ code: 'quota_raise_not_allowed', stage: 'review' });

    const online = await onlineApplication(dev.token);
    await use(online, 80_000);
    await server.api.post(`/api/v1/admin/applications/${online.id}/suspend`, undefined, { token: admin });
    const suspended = await ask(dev.token, online.id, { dailyQuota: 200_000, reason: 'x' });
    expect(suspended.body).toMatchObject({ status: 409, code: 'quota_raise_not_allowed' });
    expect(suspended.body.detail).toMatch(/suspended/);
  });

  it('validate the figures and the reason; another owner\'s application answers 404', async () => {
    const dev = await server.developer('qr-validation');
    const stranger = await server.developer('qr-stranger');
    const app = await onlineApplication(dev.token);
    await use(app, 80_000);
    for (const body of [
      { dailyQuota: 100_000, reason: 'Same as now.' },
      { dailyQuota: 50_000, reason: 'Less.' },
      { dailyQuota: 1_000_000_001, reason: 'Too much.' },
      { dailyQuota: 150_000.5, reason: 'Half a call.' },
      { dailyQuota: 150_000, reason: '' },
      { dailyQuota: 150_000, reason: 'x'.repeat(1001) },
      { dailyQuota: 150_000 },
      { dailyQuota: 150_000, reason: 'ok', extra: true },
    ]) {
      const res = await ask(dev.token, app.id, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'validation_failed' });
    }
    expect((await ask(stranger.token, app.id, { dailyQuota: 150_000, reason: 'Mine now.' })).status).toBe(404);
    expect((await server.api.get(`/api/v1/applications/${app.id}/quota-requests`, { token: stranger.token })).status).toBe(404);
    expect((await ask(dev.token, MISSING, { dailyQuota: 150_000, reason: 'Nothing.' })).status).toBe(404);
    expect((await ask(dev.token, app.id, { dailyQuota: 1_000_000_000, reason: 'The most.' })).status).toBe(201);
  });

  it('racing requests for one application: exactly one is created', async () => {
    const dev = await server.developer('qr-race');
    const app = await onlineApplication(dev.token);
    await use(app, 85_000);
    const racing = await Promise.all([1, 2, 3].map((i) => ask(dev.token, app.id, { dailyQuota: 200_000 + i, reason: 'Race.' })));
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('an admin approves (the requested or another figure) or rejects; the quota reaches the client at once', async () => {
    const dev = await server.developer('qr-decided');
    const app = await onlineApplication(dev.token);
    await use(app, 90_000);
    const first = (await ask(dev.token, app.id, { dailyQuota: 500_000, reason: 'Launch.' })).body;

    const listed = await server.api.get('/api/v1/admin/quota-requests?status=pending', { token: admin });
    expect(listed.body.items.find((r: { id: string }) => r.id === first.id)).toMatchObject({
      applicationId: app.id, applicationName: 'Busy app', accountId: dev.id, username: 'qr-decided', dailyQuota: 500_000, usedToday: 90_000,
    });
    const queue = await server.api.get('/api/v1/admin/queue', { token: admin });
    expect(queue.body.quotaRequests.items.map((r: { id: string }) => r.id)).toContain(first.id);

    expect((await server.portico.services.clients.find(app.clientId))?.dailyQuota).toBe(100_000); // cached now
    expect((await server.api.post(`/api/v1/admin/quota-requests/${first.id}/approve`, { dailyQuota: 0 }, { token: admin })).status).toBe(400);
    expect((await server.api.post(`/api/v1/admin/quota-requests/${first.id}/approve`, { dailyQuota: 1_000_000_001 }, { token: admin })).status).toBe(400);
    const approved = await server.api.post(`/api/v1/admin/quota-requests/${first.id}/approve`, { dailyQuota: 300_000 }, { token: admin });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ id: first.id, status: 'approved', dailyQuota: 500_000, grantedQuota: 300_000, decidedAt: expect.any(String) });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: dev.token })).body.dailyQuota).toBe(300_000);
    expect((await server.portico.services.clients.find(app.clientId))?.dailyQuota).toBe(300_000);
    expect((await server.api.post(`/api/v1/admin/quota-requests/${first.id}/approve`, undefined, { token: admin })).body).toMatchObject({ status: 409, code: 'conflict' });
    expect((await server.api.post(`/api/v1/admin/quota-requests/${first.id}/reject`, undefined, { token: admin })).status).toBe(409);

    // The new quota is the base of the next request: 240,000 of 300,000 is 80 %.
    const raised = { ...app, dailyQuota: 300_000 };
    expect((await ask(dev.token, app.id, { dailyQuota: 400_000, reason: 'Again.' })).body.code).toBe('quota_raise_not_allowed');
    await use(raised, 150_000);
    const second = (await ask(dev.token, app.id, { dailyQuota: 400_000, reason: 'Again.' })).body;
    expect(second).toMatchObject({ previousQuota: 300_000, usedToday: 240_000 });
    const rejected = await server.api.post(`/api/v1/admin/quota-requests/${second.id}/reject`, { reason: 'Not this month.' }, { token: admin });
    expect(rejected.body).toMatchObject({ status: 'rejected', decisionReason: 'Not this month.', grantedQuota: null });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: dev.token })).body.dailyQuota).toBe(300_000);

    const mine = await server.api.get(`/api/v1/applications/${app.id}/quota-requests`, { token: dev.token });
    expect(mine.body.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[second.id, 'rejected'], [first.id, 'approved']]);
    expect(mine.body.items[0]).not.toHaveProperty('username');
    const page = await server.api.get(`/api/v1/applications/${app.id}/quota-requests?limit=1`, { token: dev.token });
    expect(page.body.items).toHaveLength(1);
    expect((await server.api.get(`/api/v1/applications/${app.id}/quota-requests?limit=1&cursor=${page.body.nextCursor}`, { token: dev.token })).body.items[0].id).toBe(first.id);

    const audit = await server.api.get('/api/v1/admin/audit?targetType=quota_request', { token: admin });
    const decided = audit.body.items.filter((e: { targetId: string }) => [first.id, second.id].includes(e.targetId)).map((e: { action: string; details: unknown }) => [e.action, e.details]);
    expect(decided).toEqual([
      ['quota_request.rejected', { applicationId: app.id, reason: 'Not this month.' }],
      ['quota_request.created', expect.any(Object)],
      ['quota_request.approved', { applicationId: app.id, requested: 500_000, granted: 300_000 }],
      ['quota_request.created', expect.any(Object)],
    ]);
  });

  it('without a figure the admin grants the requested one; unknown requests answer 404, non-admins 403', async () => {
    const dev = await server.developer('qr-default');
    const app = await onlineApplication(dev.token);
    await use(app, 80_000);
    const request = (await ask(dev.token, app.id, { dailyQuota: 120_000, reason: 'A little more.' })).body;
    expect((await server.api.post(`/api/v1/admin/quota-requests/${request.id}/approve`, undefined, { token: dev.token })).status).toBe(403);
    expect((await server.api.get('/api/v1/admin/quota-requests', { token: dev.token })).status).toBe(403);
    expect((await server.api.post(`/api/v1/admin/quota-requests/${MISSING}/approve`, undefined, { token: admin })).status).toBe(404);
    expect((await server.api.get('/api/v1/admin/quota-requests?status=open', { token: admin })).status).toBe(400);
    const approved = await server.api.post(`/api/v1/admin/quota-requests/${request.id}/approve`, undefined, { token: admin });
    expect(approved.body).toMatchObject({ status: 'approved', grantedQuota: 120_000 });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: dev.token })).body.dailyQuota).toBe(120_000);
  });
});
