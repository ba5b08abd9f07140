import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';
import { MISSING, ORGS, organizationHelpers } from './support.js';

let server: TestServer;
let admin: string;
let h: ReturnType<typeof organizationHelpers>;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  h = organizationHelpers(server, () => admin);
});
afterAll(async () => { await server?.stop(); });

const access = (app: string, tenant: string, account: string) => server.portico.services.organizations.tenantAccess(app, tenant, account);
const denied = (code: string) => ({ allowed: false, code, reason: expect.any(String) });

describe('tenant access', () => {
  it('allows exactly the members a grant covers, while the install is enabled', async () => {
    const org = await h.organization('tenant-org');
    const app = await h.application('tenant-merchant');
    const other = await h.application('tenant-other-merchant');
    const boss = await server.developer('tenant-boss');
    const [direct, deep, grouped, ungranted, outsider] = await Promise.all(
      ['tenant-direct', 'tenant-deep', 'tenant-grouped', 'tenant-ungranted', 'tenant-outsider'].map((name) => server.developer(name)));
    await h.member(org.id, { accountId: boss.id, role: 'admin' });
    for (const dev of [direct!, deep!, grouped!, ungranted!]) await h.member(org.id, { accountId: dev.id }, boss.token);

    // The member in a sub-sub-department of the granted department.
    const division = await h.department(org.id, 'Division');
    const unit = await h.department(org.id, 'Unit', division.id);
    const team = await h.department(org.id, 'Team', unit.id);
    const elsewhere = await h.department(org.id, 'Elsewhere');
    await h.created(`${ORGS}/${org.id}/departments/${team.id}/members`, { accountId: deep!.id }, boss.token);
    await h.created(`${ORGS}/${org.id}/departments/${elsewhere.id}/members`, { accountId: ungranted!.id }, boss.token);
    const group = await h.group(org.id, 'Pilots');
    await h.created(`${ORGS}/${org.id}/groups/${group.id}/members`, { accountId: grouped!.id }, boss.token);

    // Installed by the admin: enabled, granted to nobody yet.
    const install = await h.created(`${ORGS}/${org.id}/installs`, { applicationId: app.id });
    expect(install).toMatchObject({ applicationId: app.id, applicationName: 'tenant-merchant app', enabled: true, grantAll: false });
    expect((await server.api.post(`${ORGS}/${org.id}/installs`, { applicationId: app.id }, { token: admin })).status).toBe(409);
    expect((await server.api.post(`${ORGS}/${org.id}/installs`, { applicationId: MISSING }, { token: admin })).status).toBe(404);
    expect(await access(app.id, org.id, direct!.id)).toEqual(denied('not_granted'));

    const grants = `${ORGS}/${org.id}/installs/${install.id}/grants`;
    const byMember = await h.created(grants, { kind: 'member', id: direct!.id }, boss.token);
    expect(byMember).toEqual({ id: expect.any(String), installId: install.id, kind: 'member', subjectId: direct!.id, createdAt: expect.any(String) });
    await h.created(grants, { kind: 'department', id: division.id }, boss.token);
    await h.created(grants, { kind: 'group', id: group.id }, boss.token);
    expect((await server.api.post(grants, { kind: 'group', id: group.id }, { token: boss.token })).status).toBe(409);
    expect((await server.api.post(grants, { kind: 'member', id: outsider!.id }, { token: boss.token })).status).toBe(404);
    expect((await server.api.post(grants, { kind: 'department', id: MISSING }, { token: boss.token })).status).toBe(404);

    const allowed = { allowed: true, tenantId: org.id, installId: install.id };
    expect(await access(app.id, org.id, direct!.id)).toEqual(allowed);
    expect(await access(app.clientId, org.id, direct!.id)).toEqual(allowed); // by client id too
    expect(await access(app.id, org.id, deep!.id)).toEqual(allowed);
    expect(await access(app.id, org.id, grouped!.id)).toEqual(allowed);
    expect(await access(app.id, org.id, ungranted!.id)).toEqual({
      allowed: false, code: 'not_granted', reason: 'The organization has not granted you access to this application.',
    });
    expect(await access(app.id, org.id, outsider!.id)).toEqual({ allowed: false, code: 'not_member', reason: 'You are not a member of this organization.' });
    expect(await access(app.id, MISSING, direct!.id)).toEqual({ allowed: false, code: 'unknown_organization', reason: 'There is no such organization.' });
    expect(await access(app.id, 'not-a-uuid', direct!.id)).toEqual(denied('unknown_organization'));
    expect(await access(other.id, org.id, direct!.id)).toEqual({ allowed: false, code: 'not_installed', reason: 'This application is not installed in the organization.' });
    expect(await access('no-such-client', org.id, direct!.id)).toEqual(denied('not_installed'));
    expect(await access(app.id, org.id, 'not-a-uuid')).toEqual(denied('not_member'));

    // Moving the deep member's team out of the granted division ends its coverage.
    await server.api.patch(`${ORGS}/${org.id}/departments/${team.id}`, { parentId: elsewhere.id }, { token: boss.token });
    expect(await access(app.id, org.id, deep!.id)).toEqual(denied('not_granted'));
    await server.api.patch(`${ORGS}/${org.id}/departments/${team.id}`, { parentId: unit.id }, { token: boss.token });
    expect(await access(app.id, org.id, deep!.id)).toEqual(allowed);

    // A revoked grant covers nobody.
    expect((await server.api.delete(`${grants}/${byMember.id}`, { token: boss.token })).status).toBe(204);
    expect((await server.api.delete(`${grants}/${byMember.id}`, { token: boss.token })).status).toBe(404);
    expect(await access(app.id, org.id, direct!.id)).toEqual(denied('not_granted'));
    expect((await server.api.get(grants, { token: boss.token })).body.items.map((g: { kind: string }) => g.kind)).toEqual(['department', 'group']);

    // grantAll opens the install to every member, not to outsiders.
    const installPath = `${ORGS}/${org.id}/installs/${install.id}`;
    expect((await server.api.patch(installPath, { grantAll: true }, { token: boss.token })).body.grantAll).toBe(true);
    expect(await access(app.id, org.id, ungranted!.id)).toEqual(allowed);
    expect(await access(app.id, org.id, direct!.id)).toEqual(allowed);
    expect(await access(app.id, org.id, outsider!.id)).toEqual(denied('not_member'));

    // A disabled install lets nobody in.
    expect((await server.api.patch(installPath, { enabled: false }, { token: boss.token })).body.enabled).toBe(false);
    for (const dev of [direct!, deep!, grouped!, ungranted!]) {
      expect(await access(app.id, org.id, dev.id)).toEqual({ allowed: false, code: 'install_disabled', reason: 'The organization has disabled this application.' });
    }
    await server.api.patch(installPath, { enabled: true, grantAll: false }, { token: boss.token });
    expect(await access(app.id, org.id, grouped!.id)).toEqual(allowed);
    expect(await access(app.id, org.id, ungranted!.id)).toEqual(denied('not_granted'));

    const installActions = (await h.auditActions(install.id)).map((e) => e.action);
    expect(installActions.slice(0, 3)).toEqual(['install.created', 'install.grant_all_changed', 'install.disabled']);
    // One request, one transaction, two events (within the same millisecond: in either order).
    expect(installActions.slice(3).sort()).toEqual(['install.enabled', 'install.grant_all_changed']);
    expect((await h.auditActions(byMember.id)).map((e) => e.action)).toEqual(['grant.created', 'grant.revoked']);
  });

  it('removing a member removes the grants made to them; uninstalling is for the admin only', async () => {
    const org = await h.organization('tenant-removal');
    const app = await h.application('removal-merchant');
    const boss = await server.developer('removal-boss');
    const dev = await server.developer('removal-dev');
    await h.member(org.id, { accountId: boss.id, role: 'admin' });
    await h.member(org.id, { accountId: dev.id }, boss.token);
    const install = await h.created(`${ORGS}/${org.id}/installs`, { applicationId: app.id });
    const grants = `${ORGS}/${org.id}/installs/${install.id}/grants`;
    await h.created(grants, { kind: 'member', id: dev.id }, boss.token);
    expect((await access(app.id, org.id, dev.id)).allowed).toBe(true);

    expect((await server.api.delete(`${ORGS}/${org.id}/members/${dev.id}`, { token: boss.token })).status).toBe(204);
    expect((await server.api.get(grants, { token: boss.token })).body.items).toEqual([]);
    expect(await access(app.id, org.id, dev.id)).toEqual(denied('not_member'));
    // Back as a member, the old grant does not come back with them.
    await h.member(org.id, { accountId: dev.id }, boss.token);
    expect(await access(app.id, org.id, dev.id)).toEqual(denied('not_granted'));

    const installPath = `${ORGS}/${org.id}/installs/${install.id}`;
    expect((await server.api.delete(installPath, { token: boss.token })).status).toBe(403);
    expect((await server.api.get(`${ORGS}/${org.id}/installs`, { token: boss.token })).body.items).toHaveLength(1);
    expect((await server.api.delete(installPath, { token: admin })).status).toBe(204);
    expect(await access(app.id, org.id, dev.id)).toEqual(denied('not_installed'));

    // Deleting the application removes its installs.
    const again = await h.created(`${ORGS}/${org.id}/installs`, { applicationId: app.id });
    expect((await server.api.delete(`/api/v1/applications/${app.id}`, { token: app.ownerToken })).status).toBe(204);
    expect((await server.api.get(`${ORGS}/${org.id}/installs/${again.id}`, { token: admin })).status).toBe(404);
  });
});
