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
type App = { id: string; clientId: string; clientSecret: string } & Record<string, unknown>;

async function createApplication(token: string, body: Record<string, unknown> = {}): Promise<App> {
  const res = await server.api.post('/api/v1/applications', { name: 'Lifecycle app', ...body }, { token });
  if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
  return res.body as App;
}

const goLive = (token: string, id: string) => server.api.post(`/api/v1/applications/${id}/go-live`, undefined, { token });
const moderate = (id: string, action: string, body?: unknown) => server.api.post(`/api/v1/admin/applications/${id}/${action}`, body, { token: admin });
const setLoopbackException = (on: boolean) => server.api.put('/api/v1/admin/settings', { allowLoopbackHttpRedirects: on }, { token: admin });

/** An application taken online by the admin. */
async function onlineApplication(token: string, body: Record<string, unknown> = {}): Promise<App> {
  const app = await createApplication(token, body);
  expect((await goLive(token, app.id)).status).toBe(200);
  expect((await moderate(app.id, 'approve')).status).toBe(200);
  return app;
}

async function events(token: string, id: string): Promise<Array<{ action: string; by: string; details: Record<string, unknown> }>> {
  const res = await server.api.get(`/api/v1/applications/${id}/events`, { token });
  expect(res.status).toBe(200);
  return res.body.items;
}

/** A client_credentials token request on the alias, secret in the Basic header. */
function clientCredentials(app: App) {
  const basic = Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64');
  return fetch(`${server.portico.url}/api/v1/oauth2/token`, {
    method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
}

describe('application stages', () => {
  it('development -> review -> online, with the quota raised and every step audited', async () => {
    const dev = await server.developer('lc-happy');
    const app = await createApplication(dev.token, { redirectUris: ['https://merchant.example.com/cb'] });
    expect(app).toMatchObject({ stage: 'development', dailyQuota: 5000, suspended: false, suspensionReason: null, reviewNote: null });

    const asked = await goLive(dev.token, app.id);
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({ id: app.id, stage: 'review', dailyQuota: 5000 });
    expect((await goLive(dev.token, app.id)).body).toMatchObject({ status: 409, code: 'conflict', stage: 'review' });

    const approved = await moderate(app.id, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ stage: 'online', dailyQuota: 100_000 });
    expect((await goLive(dev.token, app.id)).status).toBe(409);
    expect((await moderate(app.id, 'approve')).body).toMatchObject({ status: 409, code: 'conflict', stage: 'online' });
    expect((await moderate(app.id, 'reject')).status).toBe(409);

    expect(await events(dev.token, app.id)).toEqual([
      expect.objectContaining({ action: 'application.approved', by: 'administrator', details: { from: 'review', to: 'online' } }),
      expect.objectContaining({ action: 'application.go_live_requested', by: 'owner', details: { from: 'development', to: 'review' } }),
      expect.objectContaining({ action: 'application.created', by: 'owner' }),
    ]);
    // The owner's view leaves out who did it from where.
    expect((await events(dev.token, app.id))[0]).not.toHaveProperty('actorIp');
    const audit = await server.api.get(`/api/v1/admin/audit?targetType=application&targetId=${app.id}`, { token: admin });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['application.approved', 'application.go_live_requested', 'application.created']);
  });

  it('a rejected review returns to development with its reason, cleared by the next request', async () => {
    const dev = await server.developer('lc-rejected');
    const app = await createApplication(dev.token);
    await goLive(dev.token, app.id);
    const rejected = await moderate(app.id, 'reject', { reason: 'Add a privacy policy first.' });
    expect(rejected.body).toMatchObject({ stage: 'development', reviewNote: 'Add a privacy policy first.' });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: dev.token })).body.reviewNote).toBe('Add a privacy policy first.');
    expect((await events(dev.token, app.id))[0]).toMatchObject({ action: 'application.rejected', details: { from: 'review', to: 'development', reason: 'Add a privacy policy first.' } });

    expect((await goLive(dev.token, app.id)).body).toMatchObject({ stage: 'review', reviewNote: null });
    expect((await moderate(app.id, 'reject')).body).toMatchObject({ stage: 'development', reviewNote: null });
  });

  it('go-live and approval refuse http redirect URIs and JWKS URIs unless the admin allows loopback http', async () => {
    const dev = await server.developer('lc-http');
    const app = await createApplication(dev.token, { redirectUris: ['https://merchant.example.com/cb', 'http://localhost:8080/cb'] });
    const refused = await goLive(dev.token, app.id);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'conflict', httpUris: ['http://localhost:8080/cb'] });
    expect(refused.body.detail).toContain('http://localhost:8080/cb');
    expect(refused.body.detail).toMatch(/https/);

    const jwt = await createApplication(dev.token, { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'http://127.0.0.1:9000/jwks' });
    expect((await goLive(dev.token, jwt.id)).body).toMatchObject({ status: 409, httpUris: ['http://127.0.0.1:9000/jwks'] });

    // Under the exception the request goes through; turned off before the review, approval refuses.
    await setLoopbackException(true);
    expect((await goLive(dev.token, app.id)).body.stage).toBe('review');
    await setLoopbackException(false);
    const notApproved = await moderate(app.id, 'approve');
    expect(notApproved.status).toBe(409);
    expect(notApproved.body.detail).toContain('http://localhost:8080/cb');

    // Changing the URI to https lets the review through (http is refused outside development).
    const patched = await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: ['http://localhost:8080/cb'] }, { token: dev.token });
    expect(patched.status).toBe(400);
    expect((await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: ['https://merchant.example.com/cb'] }, { token: dev.token })).status).toBe(200);
    expect((await moderate(app.id, 'approve')).body.stage).toBe('online');
  });

  it('an online application keeps refusing http redirect URIs unless the admin allows loopback http', async () => {
    const dev = await server.developer('lc-online-http');
    const app = await onlineApplication(dev.token, { redirectUris: ['https://merchant.example.com/cb'] });
    const loopback = { redirectUris: ['https://merchant.example.com/cb', 'http://127.0.0.1:8080/cb'] };
    const refused = await server.api.patch(`/api/v1/applications/${app.id}`, loopback, { token: dev.token });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'body.redirectUris.1' })]);

    await setLoopbackException(true);
    try {
      expect((await server.api.patch(`/api/v1/applications/${app.id}`, loopback, { token: dev.token })).status).toBe(200);
      // The exception is for loopback hosts only.
      expect((await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: ['http://merchant.example.com/cb'] }, { token: dev.token })).status).toBe(400);
    } finally {
      await setLoopbackException(false);
    }
  });

  it('at the authorization endpoint, an online application\'s loopback http redirect URI works only while the exception is on', async () => {
    const dev = await server.developer('lc-authorize-http');
    await setLoopbackException(true);
    const redirectUri = 'http://127.0.0.1:8080/cb';
    const app = await onlineApplication(dev.token, { redirectUris: ['https://merchant.example.com/cb', redirectUri] });
    const authorize = () => fetch(`${server.portico.url}/oauth2/authorize?${new URLSearchParams({
      client_id: app.clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid', state: 's',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    })}`, { redirect: 'manual' });
    try {
      const accepted = await authorize();
      expect(accepted.status).toBe(303);
      expect(accepted.headers.get('location')).toMatch(/\/interaction\//);
    } finally {
      await setLoopbackException(false);
    }
    // Turned off: the URI no longer counts, and the request is refused on an error page.
    const refused = await authorize();
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('redirect_uri');
  });

  it('a suspended application gets no token at once, cannot go live, and works again after reinstatement', async () => {
    const dev = await server.developer('lc-suspended');
    const app = await createApplication(dev.token);
    expect((await clientCredentials(app)).status).toBe(200); // the client is cached now

    const suspended = await moderate(app.id, 'suspend', { reason: 'Abuse reported.' });
    expect(suspended.body).toMatchObject({ stage: 'development', suspended: true, suspensionReason: 'Abuse reported.' });
    const refused = await clientCredentials(app);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    expect((await moderate(app.id, 'suspend')).status).toBe(409);
    expect((await goLive(dev.token, app.id)).body).toMatchObject({ status: 409, code: 'conflict' });

    const reinstated = await moderate(app.id, 'reinstate');
    expect(reinstated.body).toMatchObject({ stage: 'development', suspended: false, suspensionReason: null });
    expect((await clientCredentials(app)).status).toBe(200);
    expect((await moderate(app.id, 'reinstate')).status).toBe(409);

    expect((await events(dev.token, app.id)).slice(0, 2)).toEqual([
      expect.objectContaining({ action: 'application.reinstated', details: { from: 'suspended', to: 'development' } }),
      expect.objectContaining({ action: 'application.suspended', details: { from: 'development', to: 'suspended', reason: 'Abuse reported.' } }),
    ]);
  });

  it('an online application can be suspended and reinstated to online', async () => {
    const dev = await server.developer('lc-online-suspended');
    const app = await onlineApplication(dev.token);
    expect((await moderate(app.id, 'suspend')).body).toMatchObject({ stage: 'online', suspended: true, suspensionReason: null });
    expect((await clientCredentials(app)).status).toBe(401);
    expect((await moderate(app.id, 'reinstate')).body).toMatchObject({ stage: 'online', suspended: false });
    expect((await clientCredentials(app)).status).toBe(200);
  });

  it('another owner\'s application answers 404; admin routes need an admin; ids and actions are validated', async () => {
    const owner = await server.developer('lc-owner');
    const stranger = await server.developer('lc-stranger');
    const app = await createApplication(owner.token);
    for (const res of [
      await goLive(stranger.token, app.id),
      await server.api.get(`/api/v1/applications/${app.id}/events`, { token: stranger.token }),
      await server.api.get(`/api/v1/applications/${app.id}/usage`, { token: stranger.token }),
      await goLive(owner.token, MISSING),
      await moderate(MISSING, 'approve'),
    ]) expect(res.status).toBe(404);
    expect((await server.api.post(`/api/v1/admin/applications/${app.id}/approve`, undefined, { token: owner.token })).status).toBe(403);
    expect((await server.api.get('/api/v1/admin/applications', { token: owner.token })).status).toBe(403);
    expect((await moderate(app.id, 'promote')).status).toBe(400);
    expect((await moderate('not-a-uuid', 'approve')).status).toBe(400);
    expect((await moderate(app.id, 'suspend', { reason: '' })).status).toBe(400);
    expect((await goLive(owner.token, app.id)).status).toBe(200);
    expect((await server.api.post(`/api/v1/applications/${app.id}/go-live`, { now: true }, { token: owner.token })).status).toBe(400);
  });

  it('admins list applications by stage and suspension with their owners, and the queue holds those in review', async () => {
    const dev = await server.developer('lc-listed');
    const inReview = await createApplication(dev.token, { name: 'In review' });
    await goLive(dev.token, inReview.id);
    const suspended = await createApplication(dev.token, { name: 'Suspended' });
    await moderate(suspended.id, 'suspend');

    const review = await server.api.get('/api/v1/admin/applications?stage=review', { token: admin });
    expect(review.status).toBe(200);
    expect(review.body.items.find((a: { id: string }) => a.id === inReview.id)).toMatchObject({ name: 'In review', stage: 'review', accountId: dev.id, username: 'lc-listed' });
    expect(review.body.items.every((a: { stage: string }) => a.stage === 'review')).toBe(true);

    const onlySuspended = (await server.api.get('/api/v1/admin/applications?suspended=true', { token: admin })).body.items;
    expect(onlySuspended.map((a: { id: string }) => a.id)).toContain(suspended.id);
    expect(onlySuspended.every((a: { suspended: boolean }) => a.suspended)).toBe(true);
    const notSuspended = (await server.api.get('/api/v1/admin/applications?suspended=false&stage=development', { token: admin })).body.items;
    expect(notSuspended.map((a: { id: string }) => a.id)).not.toContain(suspended.id);
    expect((await server.api.get('/api/v1/admin/applications?stage=live', { token: admin })).status).toBe(400);

    const first = await server.api.get('/api/v1/admin/applications?limit=1', { token: admin });
    expect(first.body.items).toHaveLength(1);
    const second = await server.api.get(`/api/v1/admin/applications?limit=1&cursor=${first.body.nextCursor}`, { token: admin });
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);

    const queue = await server.api.get('/api/v1/admin/queue', { token: admin });
    expect(queue.body.applications.items.map((a: { id: string }) => a.id)).toContain(inReview.id);
    expect(queue.body.applications.items.every((a: { stage: string }) => a.stage === 'review')).toBe(true);
    expect(queue.body).toHaveProperty('developers');
    expect(queue.body).toHaveProperty('subscriptions');
  });

  it('the owner pages through the application\'s history, newest first', async () => {
    const dev = await server.developer('lc-history');
    const app = await createApplication(dev.token);
    await server.api.patch(`/api/v1/applications/${app.id}`, { name: 'Renamed' }, { token: dev.token });
    await goLive(dev.token, app.id);
    const first = await server.api.get(`/api/v1/applications/${app.id}/events?limit=2`, { token: dev.token });
    expect(first.body.items.map((e: { action: string }) => e.action)).toEqual(['application.go_live_requested', 'application.updated']);
    const rest = await server.api.get(`/api/v1/applications/${app.id}/events?limit=2&cursor=${first.body.nextCursor}`, { token: dev.token });
    expect(rest.body).toMatchObject({ items: [expect.objectContaining({ action: 'application.created' })], nextCursor: null });
  });
});

describe('usage', () => {
  it('reports calls per UTC day, today last; days between 1 and 90', async () => {
    const dev = await server.developer('lc-usage');
    const app = await createApplication(dev.token);
    for (let i = 0; i < 7; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: app.id }, 5000);
    const res = await server.api.get(`/api/v1/applications/${app.id}/usage`, { token: dev.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dailyQuota: 5000, today: 7 });
    expect(res.body.days).toHaveLength(30);
    expect(res.body.days.at(-1)).toEqual({ date: new Date().toISOString().slice(0, 10), calls: 7 });
    expect(res.body.days[0].calls).toBe(0);
    expect((await server.api.get(`/api/v1/applications/${app.id}/usage?days=1`, { token: dev.token })).body.days).toHaveLength(1);
    expect((await server.api.get(`/api/v1/applications/${app.id}/usage?days=90`, { token: dev.token })).body.days).toHaveLength(90);
    for (const days of ['0', '91', '1.5', 'x']) {
      expect((await server.api.get(`/api/v1/applications/${app.id}/usage?days=${days}`, { token: dev.token })).status).toBe(400);
    }
  });

  it('deleting an application deletes its usage counters', async () => {
    const dev = await server.developer('lc-usage-deleted');
    const app = await createApplication(dev.token);
    for (let i = 0; i < 3; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: app.id }, 5000);
    await server.portico.services.usage.flush();
    const counters = () => server.portico.context.db.selectFrom('usage_counters').select('calls').where('subject_id', '=', app.id).execute();
    expect(await counters()).toEqual([{ calls: 3 }]);
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: dev.token })).status).toBe(204);
    expect(await counters()).toEqual([]);
  });
});
