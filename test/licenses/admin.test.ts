import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';
import { CODE_SHAPE, LICENSES, MISSING, licenseHelpers, type TestApplication } from './support.js';

let server: TestServer;
let admin: string;
let h: ReturnType<typeof licenseHelpers>;
let app: TestApplication;
let tenant: { id: string };

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  h = licenseHelpers(server, () => admin);
  app = await h.application('lic-admin-merchant');
  tenant = await h.organization('lic-admin-tenant');
  await h.install(tenant.id, app.id);
});
afterAll(async () => { await server?.stop(); });

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const post = (body: unknown, token = admin) => server.api.post(LICENSES, body, { token });

describe('issuing licenses', () => {
  it('answers 201 with the code, shown only there and stored as a keyed hash', async () => {
    const expiresAt = inDays(365);
    const res = await post({ applicationId: app.id, tenantId: tenant.id, seats: 50, expiresAt });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String), code: expect.stringMatching(CODE_SHAPE), applicationId: app.id, tenantId: tenant.id, seats: 50,
      expiresAt, status: 'issued', instanceId: null, activatedAt: null, revokedAt: null, createdAt: expect.any(String),
    });
    const { id, code } = res.body;

    const shown = await server.api.get(`${LICENSES}/${id}`, { token: admin });
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ ...res.body, code: undefined });
    expect(shown.text).not.toContain(code);
    const listed = await server.api.get(LICENSES, { token: admin });
    expect(listed.body.items.map((l: { id: string }) => l.id)).toContain(id);
    expect(listed.text).not.toContain(code);

    const row = await h.licenseRow(id);
    expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
    for (const form of [code, code.replace(/-/g, '')]) {
      expect(JSON.stringify(row)).not.toContain(form);
      expect(server.logs.join('\n')).not.toContain(form);
    }
    const events = await h.auditOf(id);
    expect(events).toEqual([expect.objectContaining({
      action: 'license.issued', targetType: 'license', details: { applicationId: app.id, tenantId: tenant.id, seats: 50, expiresAt },
    })]);
    expect(JSON.stringify(events)).not.toContain(code.replace(/-/g, '').slice(0, 8));
  });

  it('gives every license a code of its own', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 5; i += 1) codes.add((await h.issue({ applicationId: app.id, tenantId: tenant.id })).code);
    expect(codes.size).toBe(5);
  });

  it('refuses invalid requests with 400 validation_failed and writes nothing', async () => {
    const valid = { applicationId: app.id, tenantId: tenant.id, seats: 5, expiresAt: inDays(30) };
    const before = await h.counts();
    for (const [body, path] of [
      [{ ...valid, seats: 0 }, 'body.seats'],
      [{ ...valid, seats: -3 }, 'body.seats'],
      [{ ...valid, seats: 1.5 }, 'body.seats'],
      [{ ...valid, seats: '5' }, 'body.seats'],
      [{ ...valid, seats: 1_000_001 }, 'body.seats'],
      [{ ...valid, expiresAt: inDays(-1) }, 'body.expiresAt'],
      [{ ...valid, expiresAt: 'next year' }, 'body.expiresAt'],
      [{ ...valid, expiresAt: '2030-01-01' }, 'body.expiresAt'],
      [{ ...valid, expiresAt: '+275760-09-13T00:00:00.000Z' }, 'body.expiresAt'],
      [{ ...valid, applicationId: 'not-a-uuid' }, 'body.applicationId'],
      [{ ...valid, tenantId: undefined }, 'body.tenantId'],
      [{ ...valid, code: 'AAAA-AAAA-AAAA-AAAA-AAAA' }, 'body'],
      [{ ...valid, status: 'activated' }, 'body'],
    ] as const) {
      const res = await post(body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect(await h.counts()).toEqual(before);
  });

  it('needs an application and an organization that exist, the application installed there', async () => {
    const valid = { applicationId: app.id, tenantId: tenant.id, seats: 5, expiresAt: inDays(30) };
    const before = await h.counts();
    const noApp = await post({ ...valid, applicationId: MISSING });
    expect(noApp.status).toBe(404);
    expect(noApp.body).toMatchObject({ code: 'not_found', detail: 'No such application.' });
    const noOrg = await post({ ...valid, tenantId: MISSING });
    expect(noOrg.status).toBe(404);
    expect(noOrg.body).toMatchObject({ code: 'not_found', detail: 'No such organization.' });
    const elsewhere = await h.organization('lic-not-installed');
    const notInstalled = await post({ ...valid, tenantId: elsewhere.id });
    expect(notInstalled.status).toBe(409);
    expect(notInstalled.body.code).toBe('application_not_installed');
    expect(await h.counts()).toEqual({ ...before, audit: before.audit + 1 }); // only the organization's creation
  });

  it('issues for a disabled install: the purchase stands while the organization switches the application off', async () => {
    const org = await h.organization('lic-disabled');
    const install = await h.install(org.id, app.id);
    const patched = await server.api.patch(`/api/v1/admin/organizations/${org.id}/installs/${install.id}`, { enabled: false }, { token: admin });
    expect(patched.status).toBe(200);
    expect((await post({ applicationId: app.id, tenantId: org.id, seats: 1, expiresAt: inDays(30) })).status).toBe(201);
  });

  it('is for administrators only', async () => {
    const dev = await server.developer('lic-not-admin');
    const body = { applicationId: app.id, tenantId: tenant.id, seats: 5, expiresAt: inDays(30) };
    expect((await post(body, dev.token)).body).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await server.api.post(LICENSES, body)).body).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect((await server.api.get(LICENSES, { token: dev.token })).status).toBe(403);
    const license = await h.issue({ applicationId: app.id, tenantId: tenant.id });
    expect((await server.api.get(`${LICENSES}/${license.id}`, { token: dev.token })).status).toBe(403);
    expect((await server.api.post(`${LICENSES}/${license.id}/revoke`, {}, { token: dev.token })).status).toBe(403);
    // An application's token is no admin session either.
    expect((await post(body, await h.clientToken(app))).status).toBe(401);
  });
});

describe('listing and revoking', () => {
  it('lists newest first, filtered by application, tenant and status, page by page', async () => {
    const otherApp = await h.application('lic-list-merchant');
    const org = await h.organization('lic-list-tenant');
    await h.install(org.id, app.id);
    await h.install(org.id, otherApp.id);
    const a1 = await h.issue({ applicationId: app.id, tenantId: org.id });
    const a2 = await h.issue({ applicationId: app.id, tenantId: org.id });
    const b1 = await h.issue({ applicationId: otherApp.id, tenantId: org.id });
    const b2 = await h.issue({ applicationId: otherApp.id, tenantId: org.id });
    expect((await h.activate(await h.clientToken(otherApp), { code: b1.code, instanceId: 'x' })).status).toBe(200);
    expect((await server.api.post(`${LICENSES}/${b2.id}/revoke`, undefined, { token: admin })).status).toBe(200);

    const ids = async (query: string) => {
      const res = await server.api.get(`${LICENSES}?${query}`, { token: admin });
      expect(res.status).toBe(200);
      return res.body.items.map((l: { id: string }) => l.id);
    };
    expect(await ids(`tenantId=${org.id}`)).toEqual([b2.id, b1.id, a2.id, a1.id]);
    expect(await ids(`tenantId=${org.id}&applicationId=${app.id}`)).toEqual([a2.id, a1.id]);
    expect(await ids(`tenantId=${org.id}&status=issued`)).toEqual([a2.id, a1.id]);
    expect(await ids(`tenantId=${org.id}&status=activated`)).toEqual([b1.id]);
    expect(await ids(`tenantId=${org.id}&status=revoked`)).toEqual([b2.id]);
    expect(await ids(`tenantId=${org.id}&status=expired`)).toEqual([]);

    const first = await server.api.get(`${LICENSES}?tenantId=${org.id}&limit=3`, { token: admin });
    expect(first.body.items).toHaveLength(3);
    const second = await server.api.get(`${LICENSES}?tenantId=${org.id}&limit=3&cursor=${first.body.nextCursor}`, { token: admin });
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: a1.id })], nextCursor: null });
    for (const code of [a1.code, a2.code, b1.code, b2.code]) expect(JSON.stringify([first.body, second.body])).not.toContain(code);

    for (const query of ['status=everything', 'applicationId=x', 'tenantId=%00', 'limit=0', 'cursor=garbage']) {
      expect((await server.api.get(`${LICENSES}?${query}`, { token: admin })).body).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });

  it('revokes a license once, activated or not, with an audit event', async () => {
    const license = await h.issue({ applicationId: app.id, tenantId: tenant.id });
    expect((await h.activate(await h.clientToken(app), { code: license.code, instanceId: 'node-r' })).status).toBe(200);
    const res = await server.api.post(`${LICENSES}/${license.id}/revoke`, { reason: 'Refunded.' }, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: license.id, status: 'revoked', revokedAt: expect.any(String), instanceId: 'node-r' });
    expect(res.body.code).toBeUndefined();
    const again = await server.api.post(`${LICENSES}/${license.id}/revoke`, undefined, { token: admin });
    expect(again.body).toMatchObject({ status: 409, code: 'conflict' });

    const events = await h.auditOf(license.id);
    expect(events.map((e) => e.action).sort()).toEqual(['license.activated', 'license.issued', 'license.revoked']);
    expect(events.find((e) => e.action === 'license.revoked')!.details).toEqual({ applicationId: app.id, tenantId: tenant.id, wasActivated: true, instanceId: 'node-r', reason: 'Refunded.' });

    expect((await server.api.post(`${LICENSES}/${MISSING}/revoke`, undefined, { token: admin })).status).toBe(404);
    expect((await server.api.get(`${LICENSES}/${MISSING}`, { token: admin })).body).toMatchObject({ status: 404, code: 'not_found' });
    expect((await server.api.post(`${LICENSES}/not-a-uuid/revoke`, undefined, { token: admin })).status).toBe(400);
    expect((await server.api.post(`${LICENSES}/${license.id}/revoke`, { reason: 'x', extra: 1 }, { token: admin })).status).toBe(400);
  });

  it("goes with its organization when the organization is deleted", async () => {
    const org = await h.organization('lic-deleted');
    await h.install(org.id, app.id);
    const license = await h.issue({ applicationId: app.id, tenantId: org.id });
    expect((await server.api.delete(`/api/v1/admin/organizations/${org.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(`${LICENSES}/${license.id}`, { token: admin })).status).toBe(404);
    const res = await h.activate(await h.clientToken(app), { code: license.code, instanceId: 'late' });
    expect(res.body).toMatchObject({ status: 404, code: 'license_not_found' });
  });
});

describe('the OpenAPI document', () => {
  it('describes the license routes, the activation with the client_credentials token', async () => {
    const { body: doc } = await server.api.get('/api/v1/openapi.json');
    const activate = doc.paths['/api/v1/licenses/activate'].post;
    expect(activate.security).toEqual([{ clientCredentials: [] }]);
    expect(activate.requestBody.content['application/json'].schema).toMatchObject({ required: ['code', 'instanceId'], additionalProperties: false });
    expect(doc.components.securitySchemes.clientCredentials.flows.clientCredentials.tokenUrl).toBe(`${server.portico.issuer}/oauth2/token`);
    const issue = doc.paths['/api/v1/admin/licenses'].post;
    expect(issue).toMatchObject({ description: 'Administrators only.', security: [{ session: [] }, { sessionCookie: [] }] });
    expect(issue.responses['201']).toBeDefined();
    expect(doc.paths['/api/v1/admin/licenses'].get.parameters.map((p: { name: string }) => p.name).sort())
      .toEqual(['applicationId', 'cursor', 'limit', 'status', 'tenantId']);
    expect(doc.paths['/api/v1/admin/licenses/{id}/revoke'].post).toBeDefined();
  });
});
