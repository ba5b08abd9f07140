import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN } from '../support/constants.js';
import { callsSplitBetweenNodes, onPostgres, startTwoNodes, type TwoNodes } from '../support/cluster.js';
import { apiClient, type ApiClient } from '../support/http.js';

let cluster: TwoNodes | undefined;
let urls: string[] = [];
let first: ApiClient;
let admin: string;
let productId: string;

beforeAll(async () => {
  if (!process.env.DATABASE_URL) return;
  cluster = await startTwoNodes('http://localhost:39873');
  urls = cluster.urls;
  first = apiClient(urls[0]!);
  admin = (await first.post('/api/v1/auth/login', ADMIN)).body.token;
  productId = (await first.post('/api/v1/admin/products', {
    slug: 'cluster-model', name: 'Cluster model', type: 'model', category: 'text', description: '', overview: '', guide: '', sampleRequests: [], routePrefix: '/cluster/model',
  }, { token: admin })).body.id;
});
afterAll(async () => { await cluster?.stop(); });

/** A developer subscribed to the product, with an API key and an application's token, made on the first node. */
async function caller(username: string) {
  await first.post('/api/v1/developers', { username, password: `${username}-password` });
  const session = (await first.post('/api/v1/auth/login', { username, password: `${username}-password` })).body.token as string;
  const consumerId = (await first.get('/api/v1/consumers', { token: session })).body.items[0].id as string;
  const subscription = (await first.post('/api/v1/subscriptions', { productId, consumerId }, { token: session })).body.id as string;
  const key = (await first.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: session })).body;
  const app = (await first.post('/api/v1/applications', { name: `${username} app` }, { token: session })).body;
  const token = (await first.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.token as string;
  return { session, consumerId, subscription, key, app, token };
}

/** The second node's answer for a call to the product. */
async function onSecondNode(headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${urls[1]}/gateway/check`, { headers: { 'X-Forwarded-Uri': '/cluster/model/v1', 'X-Forwarded-Method': 'POST', ...headers } });
  return ((await res.json()) as { code: number }).code;
}

/** Polls the second node until it answers `code`, for at most one second (the contract's bound). */
async function secondNodeAnswersWithinOneSecond(headers: Record<string, string>, code: number): Promise<boolean> {
  const deadline = Date.now() + 1_000;
  for (;;) {
    if ((await onSecondNode(headers)) === code) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

onPostgres('/gateway/check on two nodes of one database', () => {
  it('denies on the other node within a second: a deleted key, a cancelled subscription, a banned developer, a suspended application', async () => {
    const deleted = await caller('cluster-deleted');
    const keyHeaders = { 'X-API-Key': deleted.key.apiKey as string };
    expect(await onSecondNode(keyHeaders)).toBe(1000); // cached on the second node
    await first.delete(`/api/v1/consumers/${deleted.consumerId}/credentials/${deleted.key.id}`, { token: deleted.session });
    expect(await secondNodeAnswersWithinOneSecond(keyHeaders, 1101)).toBe(true);

    const cancelled = await caller('cluster-cancelled');
    const cancelledHeaders = { 'X-API-Key': cancelled.key.apiKey as string };
    expect(await onSecondNode(cancelledHeaders)).toBe(1000);
    await first.delete(`/api/v1/subscriptions/${cancelled.subscription}`, { token: cancelled.session });
    expect(await secondNodeAnswersWithinOneSecond(cancelledHeaders, 1300)).toBe(true);

    const banned = await caller('cluster-banned');
    const bannedHeaders = { 'X-API-Key': banned.key.apiKey as string };
    const bannedToken = { Authorization: `Bearer ${banned.token}` };
    expect(await onSecondNode(bannedHeaders)).toBe(1000);
    expect(await onSecondNode(bannedToken)).toBe(1000);
    const bannedId = (await first.get('/api/v1/me', { token: banned.session })).body.account.id;
    await first.post(`/api/v1/admin/developers/${bannedId}/ban`, {}, { token: admin });
    expect(await secondNodeAnswersWithinOneSecond(bannedHeaders, 1200)).toBe(true);
    expect(await secondNodeAnswersWithinOneSecond(bannedToken, 1200)).toBe(true);

    const suspended = await caller('cluster-suspended');
    const suspendedToken = { Authorization: `Bearer ${suspended.token}` };
    expect(await onSecondNode(suspendedToken)).toBe(1000);
    await first.post(`/api/v1/admin/applications/${suspended.app.id}/suspend`, {}, { token: admin });
    expect(await secondNodeAnswersWithinOneSecond(suspendedToken, 1200)).toBe(true);
  });

  it('allows exactly the 5,000 calls of a development application split between the nodes', async () => {
    const { token } = await caller('cluster-quota');
    const call = (url: string) => fetch(`${url}/gateway/check`, { headers: { Authorization: `Bearer ${token}`, 'X-Forwarded-Uri': '/cluster/model/v1' } })
      .then(async (res) => { await res.arrayBuffer(); return res.status; });
    const statuses = await callsSplitBetweenNodes(urls, { to: 5_000 }, 16, call);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5_000);
    expect(await callsSplitBetweenNodes(urls, { from: 5_000, to: 5_020 }, 4, call)).toEqual(Array(20).fill(429));
  }, 120_000);
});
