import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('consumers', () => {
  it('every new account has a default consumer', async () => {
    const dev = await server.developer('cons-default');
    const list = await server.api.get('/api/v1/consumers', { token: dev.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ items: [expect.objectContaining({ name: 'default', isDefault: true, description: null })], nextCursor: null });
  });

  it('creates, lists in order, renames and describes consumers', async () => {
    const dev = await server.developer('cons-crud');
    const created = await server.api.post('/api/v1/consumers', { name: 'mobile app', description: 'iOS and Android' }, { token: dev.token });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), name: 'mobile app', description: 'iOS and Android', isDefault: false, createdAt: expect.any(String) });

    const renamed = await server.api.patch(`/api/v1/consumers/${created.body.id}`, { name: 'mobile', description: null }, { token: dev.token });
    expect(renamed.body).toMatchObject({ id: created.body.id, name: 'mobile', description: null });
    expect((await server.api.get(`/api/v1/consumers/${created.body.id}`, { token: dev.token })).body.name).toBe('mobile');

    const page = await server.api.get('/api/v1/consumers?limit=1', { token: dev.token });
    expect(page.body.items.map((c: { name: string }) => c.name)).toEqual(['default']);
    const next = await server.api.get(`/api/v1/consumers?limit=1&cursor=${page.body.nextCursor}`, { token: dev.token });
    expect(next.body.items.map((c: { name: string }) => c.name)).toEqual(['mobile']);
  });

  it('refuses bad names, duplicates (any case) and unknown fields, changing nothing', async () => {
    const dev = await server.developer('cons-rules');
    for (const body of [{ name: '' }, { name: 'x'.repeat(65) }, { name: ' padded' }, { name: 'ok', description: 'd'.repeat(501) }, { name: 'ok', owner: 'me' }, {}]) {
      const res = await server.api.post('/api/v1/consumers', body, { token: dev.token });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await server.api.post('/api/v1/consumers', { name: 'x'.repeat(64) }, { token: dev.token })).status).toBe(201);
    expect((await server.api.post('/api/v1/consumers', { name: 'Web' }, { token: dev.token })).status).toBe(201);
    const duplicate = await server.api.post('/api/v1/consumers', { name: 'web' }, { token: dev.token });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('conflict');
    const clash = await server.api.patch(`/api/v1/consumers/${(await server.api.get('/api/v1/consumers', { token: dev.token })).body.items[0].id}`, { name: 'WEB' }, { token: dev.token });
    expect(clash.status).toBe(409);
    expect((await server.api.get('/api/v1/consumers', { token: dev.token })).body.items).toHaveLength(3);
    // Another developer may use the same name.
    const other = await server.developer('cons-rules-2');
    expect((await server.api.post('/api/v1/consumers', { name: 'web' }, { token: other.token })).status).toBe(201);
  });

  it("answers 404 for another owner's consumer, whatever the method", async () => {
    const owner = await server.developer('cons-owner');
    const stranger = await server.developer('cons-stranger');
    const { body: consumer } = await server.api.post('/api/v1/consumers', { name: 'private' }, { token: owner.token });
    for (const [method, path, body] of [
      ['GET', `/api/v1/consumers/${consumer.id}`], ['PATCH', `/api/v1/consumers/${consumer.id}`, { name: 'mine' }],
      ['DELETE', `/api/v1/consumers/${consumer.id}`], ['GET', `/api/v1/consumers/${consumer.id}/credentials`],
      ['POST', `/api/v1/consumers/${consumer.id}/credentials`, { type: 'api-key' }], ['GET', `/api/v1/consumers/${MISSING}`],
    ] as const) {
      const res = await server.api.request(method, path, body, { token: stranger.token });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await server.api.get(`/api/v1/consumers/${consumer.id}`, { token: owner.token })).body.name).toBe('private');
    expect((await server.api.get('/api/v1/consumers')).status).toBe(401);
  });

  it('keeps the only consumer, and hands the default on when the default is deleted', async () => {
    const dev = await server.developer('cons-delete');
    const [only] = (await server.api.get('/api/v1/consumers', { token: dev.token })).body.items;
    const refused = await server.api.delete(`/api/v1/consumers/${only.id}`, { token: dev.token });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/only consumer/);

    const second = (await server.api.post('/api/v1/consumers', { name: 'second' }, { token: dev.token })).body;
    expect((await server.api.delete(`/api/v1/consumers/${only.id}`, { token: dev.token })).status).toBe(204);
    const after = await server.api.get('/api/v1/consumers', { token: dev.token });
    expect(after.body.items).toEqual([expect.objectContaining({ id: second.id, isDefault: true })]);
    expect((await server.api.delete(`/api/v1/consumers/${only.id}`, { token: dev.token })).status).toBe(404);
  });

  it('keeps a consumer that applications use', async () => {
    const dev = await server.developer('cons-apps');
    const extra = (await server.api.post('/api/v1/consumers', { name: 'for-app' }, { token: dev.token })).body;
    const app = (await server.api.post('/api/v1/applications', { name: 'app', consumerId: extra.id, grantTypes: ['client_credentials'] }, { token: dev.token })).body;
    const refused = await server.api.delete(`/api/v1/consumers/${extra.id}`, { token: dev.token });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/Applications use this consumer/);
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token: dev.token })).status).toBe(200);
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: dev.token })).status).toBe(204);
    expect((await server.api.delete(`/api/v1/consumers/${extra.id}`, { token: dev.token })).status).toBe(204);
  });

  it('deleting a consumer revokes its credentials and cancels its subscriptions in one step, audited', async () => {
    const admin = await server.adminToken();
    const dev = await server.developer('cons-cascade');
    const consumer = (await server.api.post('/api/v1/consumers', { name: 'doomed' }, { token: dev.token })).body;
    const key = (await server.api.post(`/api/v1/consumers/${consumer.id}/credentials`, { type: 'api-key' }, { token: dev.token })).body;
    const product = (await server.api.post('/api/v1/admin/products', { slug: 'cascade-product', name: 'Cascade', type: 'model', category: 'Test', routePrefix: '/cascade' }, { token: admin })).body;
    const subscription = (await server.api.post('/api/v1/subscriptions', { productId: product.id, consumerId: consumer.id }, { token: dev.token })).body;
    expect(subscription.status).toBe('approved');
    expect(await server.portico.services.credentials.findApiKeyOwner(key.apiKey)).toMatchObject({ consumerId: consumer.id });

    expect((await server.api.delete(`/api/v1/consumers/${consumer.id}`, { token: dev.token })).status).toBe(204);
    expect(await server.portico.services.credentials.findApiKeyOwner(key.apiKey)).toBeUndefined();
    const subscriptions = await server.api.get('/api/v1/subscriptions', { token: dev.token });
    // Cancelled, and kept as history without its consumer.
    expect(subscriptions.body.items).toEqual([expect.objectContaining({ id: subscription.id, status: 'cancelled', consumerId: null, consumerName: null })]);
    const audit = await server.api.get(`/api/v1/admin/audit?action=consumer.deleted&targetId=${consumer.id}`, { token: admin });
    expect(audit.body.items).toEqual([expect.objectContaining({ actorId: dev.id, details: expect.objectContaining({ revokedCredentials: [key.id] }) })]);
    for (const [targetId, action] of [[key.id, 'credential.deleted'], [subscription.id, 'subscription.cancelled']]) {
      const events = (await server.api.get(`/api/v1/admin/audit?action=${action}&targetId=${targetId}`, { token: admin })).body.items;
      expect(events).toEqual([expect.objectContaining({ actorId: dev.id, details: expect.objectContaining({ because: 'consumer deleted' }) })]);
    }
  });
});
