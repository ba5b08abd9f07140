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

async function newProduct(slug: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await server.api.post('/api/v1/admin/products', { slug, name: slug, type: 'agent', category: 'Test', routePrefix: `/s/${slug}`, ...extra }, { token: admin });
  return res.body.id as string;
}

async function defaultConsumer(token: string): Promise<string> {
  return (await server.api.get('/api/v1/consumers', { token })).body.items[0].id;
}

describe('subscriptions', () => {
  it('are approved at once under automatic approval, and unique per (consumer, product) while live', async () => {
    const dev = await server.developer('sub-auto');
    const productId = await newProduct('sub-auto-product');
    const consumerId = await defaultConsumer(dev.token);
    const created = await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.token });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), productId, consumerId, status: 'approved', reason: null });

    const again = await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.token });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', subscription: { id: created.body.id, status: 'approved' } });

    // Both at once: exactly one wins.
    const other = (await server.api.post('/api/v1/consumers', { name: 'race' }, { token: dev.token })).body.id;
    const racing = await Promise.all([1, 2, 3].map(() => server.api.post('/api/v1/subscriptions', { productId, consumerId: other }, { token: dev.token })));
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409]);

    const mine = await server.api.get('/api/v1/subscriptions', { token: dev.token });
    expect(mine.body.items).toHaveLength(2);
    expect(mine.body.items[1]).toMatchObject({ id: created.body.id, product: { slug: 'sub-auto-product', name: 'sub-auto-product', type: 'agent' }, consumerName: 'default' });
  });

  it('cancel ends a subscription; a new one may follow', async () => {
    const dev = await server.developer('sub-cancel');
    const productId = await newProduct('sub-cancel-product');
    const consumerId = await defaultConsumer(dev.token);
    const first = (await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.token })).body;
    expect((await server.api.delete(`/api/v1/subscriptions/${first.id}`, { token: dev.token })).status).toBe(204);
    expect((await server.api.delete(`/api/v1/subscriptions/${first.id}`, { token: dev.token })).status).toBe(409);
    const second = await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.token });
    expect(second.status).toBe(201);
    const statuses = (await server.api.get('/api/v1/subscriptions', { token: dev.token })).body.items.map((s: { status: string }) => s.status);
    expect(statuses).toEqual(['approved', 'cancelled']);
    expect((await server.api.get('/api/v1/subscriptions?status=cancelled', { token: dev.token })).body.items).toHaveLength(1);
  });

  it('are pending under manual approval (global or per product) until an admin decides', async () => {
    const dev = await server.developer('sub-manual');
    const consumerId = await defaultConsumer(dev.token);
    const manualProduct = await newProduct('sub-manual-product', { subscriptionApproval: 'manual' });
    const pending = (await server.api.post('/api/v1/subscriptions', { productId: manualProduct, consumerId }, { token: dev.token })).body;
    expect(pending.status).toBe('pending');

    await server.api.put('/api/v1/admin/settings', { subscriptionApproval: 'manual' }, { token: admin });
    const inherited = (await server.api.post('/api/v1/subscriptions', { productId: await newProduct('sub-inherit-product'), consumerId }, { token: dev.token })).body;
    const forcedAuto = (await server.api.post('/api/v1/subscriptions', { productId: await newProduct('sub-auto-override', { subscriptionApproval: 'auto' }), consumerId }, { token: dev.token })).body;
    await server.api.put('/api/v1/admin/settings', { subscriptionApproval: 'auto' }, { token: admin });
    expect(inherited.status).toBe('pending');
    expect(forcedAuto.status).toBe('approved');

    const queue = await server.api.get('/api/v1/admin/queue', { token: admin });
    expect(queue.body.subscriptions.items.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining([pending.id, inherited.id]));
    expect(queue.body.subscriptions.items.find((s: { id: string }) => s.id === pending.id)).toMatchObject({ username: 'sub-manual', consumerName: 'default', product: { slug: 'sub-manual-product' } });

    const approved = await server.api.post(`/api/v1/admin/subscriptions/${pending.id}/approve`, undefined, { token: admin });
    expect(approved.body).toMatchObject({ id: pending.id, status: 'approved' });
    const rejected = await server.api.post(`/api/v1/admin/subscriptions/${inherited.id}/reject`, { reason: 'Tell us your use case first.' }, { token: admin });
    expect(rejected.body).toMatchObject({ status: 'rejected', reason: 'Tell us your use case first.' });
    expect((await server.api.post(`/api/v1/admin/subscriptions/${pending.id}/reject`, undefined, { token: admin })).status).toBe(409);

    const seen = (await server.api.get('/api/v1/subscriptions', { token: dev.token })).body.items;
    expect(seen.find((s: { id: string }) => s.id === inherited.id)).toMatchObject({ status: 'rejected', reason: 'Tell us your use case first.' });
    expect((await server.api.get('/api/v1/admin/subscriptions?status=pending', { token: admin })).body.items.map((s: { id: string }) => s.id)).not.toContain(pending.id);
    const audit = await server.api.get(`/api/v1/admin/audit?targetId=${inherited.id}`, { token: admin });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['subscription.rejected', 'subscription.created']);
    expect(audit.body.items[0]).toMatchObject({ actorId: expect.any(String), actorIp: expect.any(String) });
  });

  it('refuses unknown products, drafts, and consumers or subscriptions of other developers with 404', async () => {
    const owner = await server.developer('sub-owner');
    const stranger = await server.developer('sub-stranger');
    const productId = await newProduct('sub-private-product');
    const draftId = await newProduct('sub-draft-product', { status: 'draft' });
    const ownerConsumer = await defaultConsumer(owner.token);
    for (const body of [{ productId: MISSING, consumerId: ownerConsumer }, { productId: draftId, consumerId: ownerConsumer }]) {
      const res = await server.api.post('/api/v1/subscriptions', body, { token: owner.token });
      expect(res.status).toBe(404);
    }
    expect((await server.api.post('/api/v1/subscriptions', { productId, consumerId: ownerConsumer }, { token: stranger.token })).status).toBe(404);
    const mine = (await server.api.post('/api/v1/subscriptions', { productId, consumerId: ownerConsumer }, { token: owner.token })).body;
    expect((await server.api.delete(`/api/v1/subscriptions/${mine.id}`, { token: stranger.token })).status).toBe(404);
    expect((await server.api.get('/api/v1/subscriptions', { token: stranger.token })).body.items).toEqual([]);
    expect((await server.api.post('/api/v1/subscriptions', { productId: 'x', consumerId: ownerConsumer }, { token: owner.token })).status).toBe(400);
    expect((await server.api.post(`/api/v1/admin/subscriptions/${mine.id}/approve`, undefined, { token: owner.token })).status).toBe(403);
  });

  it('deleting a product cancels its subscriptions and keeps them as history', async () => {
    const dev = await server.developer('sub-product-gone');
    const productId = await newProduct('sub-doomed-product');
    const subscription = (await server.api.post('/api/v1/subscriptions', { productId, consumerId: await defaultConsumer(dev.token) }, { token: dev.token })).body;
    expect((await server.api.delete(`/api/v1/admin/products/${productId}`, { token: admin })).status).toBe(204);
    const [seen] = (await server.api.get('/api/v1/subscriptions', { token: dev.token })).body.items;
    expect(seen).toMatchObject({ id: subscription.id, status: 'cancelled', productId: null, product: null });
    const events = (await server.api.get(`/api/v1/admin/audit?targetId=${subscription.id}`, { token: admin })).body.items;
    expect(events[0]).toMatchObject({ action: 'subscription.cancelled', details: { because: 'product deleted' } });
  });

  it('the admin queue holds pending developers too', async () => {
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin });
    const res = await server.api.post('/api/v1/developers', { username: 'sub-queue-dev', password: 'sub-queue-dev-password' });
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
    const queue = await server.api.get('/api/v1/admin/queue', { token: admin });
    expect(queue.body.developers.items.map((d: { id: string }) => d.id)).toContain(res.body.id);
  });
});
