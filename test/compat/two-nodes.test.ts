import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADMIN } from '../support/constants.js';
import { callsSplitBetweenNodes, onPostgres, startTwoNodes, type TwoNodes } from '../support/cluster.js';
import { apiClient } from '../support/http.js';

let cluster: TwoNodes | undefined;
let urls: string[] = [];
beforeAll(async () => {
  if (!process.env.DATABASE_URL) return;
  cluster = await startTwoNodes('http://localhost:39872');
  urls = cluster.urls;
});
afterAll(async () => { await cluster?.stop(); });

/** A developer with an application and its /openapi/v1 token, made on the first node. */
async function merchant(username: string) {
  const api = apiClient(urls[0]!);
  await api.post('/api/v1/developers', { username, password: `${username}-password` });
  const session = (await api.post('/api/v1/auth/login', { username, password: `${username}-password` })).body.token as string;
  const app = (await api.post('/api/v1/applications', { name: `${username} back end` }, { token: session })).body;
  const token = (await api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.token as string;
  return { session, app, token };
}

onPostgres('two nodes on one database', () => {
  it('refuses a suspended application and a banned owner on the other node within a second', async () => {
    const { app, token } = await merchant('two-nodes-suspended');
    const [first, second] = urls.map(apiClient);
    expect((await second!.get('/openapi/v1/me', { token })).body.code).toBe(1000); // cached on the second node
    const admin = (await first!.post('/api/v1/auth/login', ADMIN)).body.token as string;
    expect((await first!.post(`/api/v1/admin/applications/${app.id}/suspend`, {}, { token: admin })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await second!.get('/openapi/v1/me', { token })).body.code).toBe(1200);
    expect((await second!.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.code).toBe(1200);
  });

  it('allows exactly 5,000 calls of a development application, split between the nodes, and refuses the 5,001st', async () => {
    const { session, app, token } = await merchant('two-nodes-busy');

    const call = (url: string) => fetch(`${url}/openapi/v1/me`, { headers: { authorization: `Bearer ${token}` } })
      .then(async (res) => { await res.arrayBuffer(); return res.status; });
    const statuses = await callsSplitBetweenNodes(urls, { to: 5_000 }, 16, call);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5_000);

    const over = await callsSplitBetweenNodes(urls, { to: 20 }, 4, call);
    expect(over).toEqual(Array(20).fill(429));

    // Both nodes reported every call: the usage endpoint of either shows 5,000 for today.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const usage = await apiClient(urls[1]!).get(`/api/v1/applications/${app.id}/usage?days=1`, { token: session });
    expect(usage.body).toMatchObject({ dailyQuota: 5000, today: 5000 });
  }, 120_000);
});
