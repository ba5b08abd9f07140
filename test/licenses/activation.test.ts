import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { manualClock, startTestServer, type TestServer } from '../support/server.js';
import { licenseHelpers, type TestApplication } from './support.js';

const clock = manualClock();
let server: TestServer;
let h: ReturnType<typeof licenseHelpers>;
let app: TestApplication;
let other: TestApplication;
let tenant: { id: string };
let token: string;

beforeAll(async () => {
  server = await startTestServer({ clock });
  const admin = await server.adminToken();
  h = licenseHelpers(server, () => admin);
  app = await h.application('lic-merchant');
  other = await h.application('lic-other-merchant');
  tenant = await h.organization('lic-tenant');
  await h.install(tenant.id, app.id);
  await h.install(tenant.id, other.id);
  token = await h.clientToken(app);
});
afterAll(async () => { await server?.stop(); });

const issue = (overrides: { seats?: number; expiresAt?: string } = {}) => h.issue({ applicationId: app.id, tenantId: tenant.id, ...overrides });

describe('POST /api/v1/licenses/activate', () => {
  it('activates a license for one instance and answers what it is for', async () => {
    const license = await issue({ seats: 25 });
    const res = await h.activate(token, { code: license.code, instanceId: 'server-eu-1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'activated', licenseId: license.id, productId: app.id, applicationId: app.id, tenantId: tenant.id,
      seats: 25, expiresAt: license.expiresAt, instanceId: 'server-eu-1', activatedAt: expect.any(String),
    });
    expect(await h.licenseRow(license.id)).toMatchObject({ activated_instance: 'server-eu-1', activated_at: expect.any(Date), revoked_at: null });
    const shown = await server.api.get(`/api/v1/admin/licenses/${license.id}`, { token: await server.adminToken() });
    expect(shown.body).toMatchObject({ status: 'activated', instanceId: 'server-eu-1', activatedAt: res.body.activatedAt });
  });

  it('answers the same again for the same instance, and records the activation once', async () => {
    const license = await issue();
    const first = await h.activate(token, { code: license.code, instanceId: 'node-a' });
    expect(first.status).toBe(200);
    for (let i = 0; i < 2; i += 1) {
      const again = await h.activate(token, { code: license.code, instanceId: 'node-a' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
    }
    const events = await h.auditOf(license.id);
    expect(events.map((e) => e.action).sort()).toEqual(['license.activated', 'license.issued']);
    // The client acted, not an account: no actor id, the client id in the details.
    expect(events.find((e) => e.action === 'license.activated')).toMatchObject({ actorId: null, targetType: 'license', details: { clientId: app.clientId, applicationId: app.id, tenantId: tenant.id, instanceId: 'node-a' } });
    expect(JSON.stringify(events)).not.toContain(license.code);
  });

  it('refuses another instance once activated (409 license_already_activated)', async () => {
    const license = await issue();
    expect((await h.activate(token, { code: license.code, instanceId: 'node-a' })).status).toBe(200);
    const res = await h.activate(token, { code: license.code, instanceId: 'node-b' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'license_already_activated', status: 409 });
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await h.licenseRow(license.id)).activated_instance).toBe('node-a');
  });

  it('takes the code however it is typed: any case, with or without dashes or spaces, O for 0, I and L for 1', async () => {
    const license = await issue();
    const typed = license.code.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    const res = await h.activate(token, { code: ` ${typed} `, instanceId: 'typed-by-hand' });
    expect(res.status).toBe(200);
    expect(res.body.licenseId).toBe(license.id);
    expect((await h.activate(token, { code: license.code.replace(/-/g, ''), instanceId: 'typed-by-hand' })).status).toBe(200);
  });

  it('refuses an unknown code (404 license_not_found) and a malformed one (400)', async () => {
    const unknown = await h.activate(token, { code: 'ABCD-EFGH-JKMN-PQRS-TVWX', instanceId: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('license_not_found');
    for (const code of ['', 'ABCD-EFGH', 'ABCD-EFGH-JKMN-PQRS-TVWU', 'ABCD-EFGH-JKMN-PQRS-TVWX-Y', '!!!!-EFGH-JKMN-PQRS-TVWX']) {
      const res = await h.activate(token, { code, instanceId: 'x' });
      expect({ code, status: res.status, problem: res.body.code }).toEqual({ code, status: 400, problem: 'validation_failed' });
      expect(new Set(res.body.errors.map((e: { path: string }) => e.path))).toEqual(new Set(['body.code']));
    }
  });

  it('refuses a revoked license (409 license_revoked), also to the instance that held it', async () => {
    const admin = { token: await server.adminToken() };
    const unused = await issue();
    expect((await server.api.post(`/api/v1/admin/licenses/${unused.id}/revoke`, undefined, admin)).status).toBe(200);
    const refused = await h.activate(token, { code: unused.code, instanceId: 'node-a' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('license_revoked');

    const held = await issue();
    expect((await h.activate(token, { code: held.code, instanceId: 'node-a' })).status).toBe(200);
    expect((await server.api.post(`/api/v1/admin/licenses/${held.id}/revoke`, {}, admin)).body.status).toBe('revoked');
    const again = await h.activate(token, { code: held.code, instanceId: 'node-a' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('license_revoked');
  });

  it("refuses another application's code (403 license_wrong_application) and leaves the license free", async () => {
    const license = await issue();
    const res = await h.activate(await h.clientToken(other), { code: license.code, instanceId: 'thief' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('license_wrong_application');
    expect((await h.licenseRow(license.id)).activated_instance).toBeNull();
    expect((await h.activate(token, { code: license.code, instanceId: 'rightful' })).status).toBe(200);
  });

  it('refuses without the application\'s own client_credentials token: 401 unauthenticated with a Bearer challenge', async () => {
    const license = await issue();
    const body = { code: license.code, instanceId: 'node-a' };
    await server.developer('lic-end-user');
    const userToken = await h.userToken(app, 'lic-end-user');
    const session = await server.adminToken();
    for (const [label, res] of [
      ['no token', await h.activate(undefined, body)],
      ['an empty bearer', await server.api.post('/api/v1/licenses/activate', body, { headers: { authorization: 'Bearer ' } })],
      ['a garbage token', await h.activate('not-a-jwt', body)],
      ['a tampered token', await h.activate(`${token.slice(0, -4)}AAAA`, body)],
      ["a user's token of the application", await h.activate(userToken, body)],
      ['an admin session token', await h.activate(session, body)],
    ] as const) {
      expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status: 401, code: 'unauthenticated' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="portico"/);
    }
    expect((await h.licenseRow(license.id)).activated_instance).toBeNull();
  });

  it('refuses a suspended application (403 forbidden)', async () => {
    const suspendedApp = await h.application('lic-suspended');
    await h.install(tenant.id, suspendedApp.id);
    const license = await h.issue({ applicationId: suspendedApp.id, tenantId: tenant.id });
    const suspendedToken = await h.clientToken(suspendedApp);
    const admin = { token: await server.adminToken() };
    expect((await server.api.post(`/api/v1/admin/applications/${suspendedApp.id}/suspend`, {}, admin)).status).toBe(200);
    const res = await h.activate(suspendedToken, { code: license.code, instanceId: 'node-a' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('suspended') });
    expect((await h.licenseRow(license.id)).activated_instance).toBeNull();
  });

  it('refuses invalid bodies with 400 validation_failed and changes nothing', async () => {
    const license = await issue();
    const before = await h.counts();
    for (const [body, path] of [
      [{ code: license.code }, 'body.instanceId'],
      [{ code: license.code, instanceId: '' }, 'body.instanceId'],
      [{ code: license.code, instanceId: ' padded' }, 'body.instanceId'],
      [{ code: license.code, instanceId: 'x'.repeat(201) }, 'body.instanceId'],
      [{ code: license.code, instanceId: 'nul\u0000' }, undefined], // the body parser refuses NUL bytes before validation
      [{ code: license.code, instanceId: 42 }, 'body.instanceId'],
      [{ instanceId: 'node-a' }, 'body.code'],
      [{ code: [license.code], instanceId: 'node-a' }, 'body.code'],
      [{ code: license.code, instanceId: 'node-a', seats: 1000 }, 'body'],
    ] as const) {
      const res = await h.activate(token, body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const raw = await server.api.request('POST', '/api/v1/licenses/activate', undefined, { raw: '{"code":', token, headers: { 'content-type': 'application/json' } });
    expect(raw.status).toBe(400);
    expect(await h.counts()).toEqual(before);
  });

  it('gives a license to exactly one of several instances activating at once', async () => {
    // Several licenses raced at once, so that the requests overlap in the database, not only in HTTP.
    const licenses = await Promise.all(Array.from({ length: 5 }, () => issue()));
    const races = await Promise.all(licenses.map((license) =>
      Promise.all(Array.from({ length: 8 }, (_, i) => h.activate(token, { code: license.code, instanceId: `racer-${i}` })))));
    for (const [n, results] of races.entries()) {
      const winners = results.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(Array(7).fill('license_already_activated'));
      expect((await h.licenseRow(licenses[n]!.id)).activated_instance).toBe(winners[0]!.body.instanceId);
      expect((await h.auditOf(licenses[n]!.id)).filter((e) => e.action === 'license.activated')).toHaveLength(1);
    }

    // The same instance asking several times at once: every answer is the activation.
    const same = await issue();
    const repeats = await Promise.all(Array.from({ length: 4 }, () => h.activate(token, { code: same.code, instanceId: 'one-instance' })));
    expect(repeats.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  // Last: moves the clock.
  it('refuses an expired license (410 license_expired), also to the instance that held it', async () => {
    const expiresAt = new Date(clock.now().getTime() + 10 * 60_000).toISOString();
    const unused = await issue({ expiresAt });
    const held = await issue({ expiresAt });
    expect((await h.activate(token, { code: held.code, instanceId: 'node-a' })).status).toBe(200);
    clock.advance(11 * 60_000); // tokens keep 2 hours of validity against this clock
    for (const license of [unused, held]) {
      const res = await h.activate(token, { code: license.code, instanceId: 'node-a' });
      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({ code: 'license_expired', expiresAt });
    }
    const admin = { token: await server.adminToken() };
    expect((await server.api.get(`/api/v1/admin/licenses/${held.id}`, admin)).body.status).toBe('expired');
  });
});
