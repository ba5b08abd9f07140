import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

async function consumerOf(token: string): Promise<string> {
  return (await server.api.get('/api/v1/consumers', { token })).body.items[0].id;
}

describe('credentials of a consumer', () => {
  it('creates API keys: 256 random bits behind a pk_ prefix, shown again to the owner, stored only sealed and hashed', async () => {
    const dev = await server.developer('cred-keys');
    const consumerId = await consumerOf(dev.token);
    const created = await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), type: 'api-key', apiKey: expect.stringMatching(/^pk_[A-Za-z0-9_-]{43}$/), createdAt: expect.any(String) });
    const second = (await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token })).body;
    expect(second.apiKey).not.toBe(created.body.apiKey);

    const listed = await server.api.get(`/api/v1/consumers/${consumerId}/credentials`, { token: dev.token });
    expect(listed.body.items).toEqual([created.body, second]);

    const row = await server.portico.context.db.selectFrom('credentials').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.body.apiKey.slice(3));
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(server.logs.join('\n')).not.toContain(created.body.apiKey);
  });

  it('creates AK/SK pairs whose secret is sealed and viewable by the owner', async () => {
    const dev = await server.developer('cred-aksk');
    const consumerId = await consumerOf(dev.token);
    const created = await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'ak-sk' }, { token: dev.token });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), type: 'ak-sk', accessKey: expect.stringMatching(/^PAK[A-Z2-7]{20}$/), secretKey: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), createdAt: expect.any(String) });
    const row = await server.portico.context.db.selectFrom('credentials').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(created.body.secretKey);
    const found = await server.portico.services.credentials.findAccessKey(created.body.accessKey);
    expect(found).toEqual({ credentialId: created.body.id, consumerId, accountId: dev.id, secretKey: created.body.secretKey });
    expect((await server.api.get(`/api/v1/consumers/${consumerId}/credentials`, { token: dev.token })).body.items).toEqual([created.body]);
  });

  it('a deleted API key is gone from the lookup as soon as the delete returns; the others keep working', async () => {
    const dev = await server.developer('cred-revoke');
    const consumerId = await consumerOf(dev.token);
    const old = (await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token })).body;
    const fresh = (await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token })).body;
    const lookup = server.portico.services.credentials;
    expect(await lookup.findApiKeyOwner(old.apiKey)).toEqual({ credentialId: old.id, consumerId, accountId: dev.id });

    expect((await server.api.delete(`/api/v1/consumers/${consumerId}/credentials/${old.id}`, { token: dev.token })).status).toBe(204);
    expect(await lookup.findApiKeyOwner(old.apiKey)).toBeUndefined();
    expect(await lookup.findApiKeyOwner(fresh.apiKey)).toMatchObject({ credentialId: fresh.id });
    expect(await lookup.findApiKeyOwner('pk_unknown')).toBeUndefined();
    expect((await server.api.delete(`/api/v1/consumers/${consumerId}/credentials/${old.id}`, { token: dev.token })).status).toBe(404);

    const audit = await server.api.get(`/api/v1/admin/audit?targetType=credential&targetId=${old.id}`, { token: await server.adminToken() });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['credential.deleted', 'credential.created']);
    expect(JSON.stringify(audit.body)).not.toContain(old.apiKey);
  });

  it("answers 404 for another owner's credential and refuses bad types", async () => {
    const owner = await server.developer('cred-owner');
    const stranger = await server.developer('cred-stranger');
    const ownerConsumer = await consumerOf(owner.token);
    const strangerConsumer = await consumerOf(stranger.token);
    const key = (await server.api.post(`/api/v1/consumers/${ownerConsumer}/credentials`, { type: 'api-key' }, { token: owner.token })).body;
    // Neither through the owner's consumer nor through the stranger's own one.
    expect((await server.api.delete(`/api/v1/consumers/${ownerConsumer}/credentials/${key.id}`, { token: stranger.token })).status).toBe(404);
    expect((await server.api.delete(`/api/v1/consumers/${strangerConsumer}/credentials/${key.id}`, { token: stranger.token })).status).toBe(404);
    expect(await server.portico.services.credentials.findApiKeyOwner(key.apiKey)).toBeDefined();

    for (const body of [{ type: 'password' }, {}, { type: 'api-key', value: 'mine' }]) {
      expect((await server.api.post(`/api/v1/consumers/${ownerConsumer}/credentials`, body, { token: owner.token })).status).toBe(400);
    }
  });

  it('holds at most 10 credentials per consumer', async () => {
    const dev = await server.developer('cred-limit');
    const consumerId = await consumerOf(dev.token);
    for (let i = 0; i < 10; i += 1) {
      expect((await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: i % 2 ? 'ak-sk' : 'api-key' }, { token: dev.token })).status).toBe(201);
    }
    const refused = await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token });
    expect(refused.status).toBe(409);
    expect((await server.api.get(`/api/v1/consumers/${consumerId}/credentials`, { token: dev.token })).body.items).toHaveLength(10);
  });
});
