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

describe('organizations', () => {
  it('the admin creates an organization and appoints an org admin', async () => {
    const org = await h.organization('acme', 'Acme Corp');
    expect(org).toEqual({ id: expect.any(String), slug: 'acme', name: 'Acme Corp', createdAt: expect.any(String), updatedAt: expect.any(String) });
    const taken = await server.api.post(ORGS, { slug: 'acme', name: 'Other' }, { token: admin });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('conflict');

    const alice = await server.developer('org-alice');
    const added = await h.member(org.id, { username: 'ORG-ALICE' }); // usernames are found without regard to case
    expect(added).toEqual({ id: alice.id, accountId: alice.id, username: 'org-alice', role: 'member', createdAt: expect.any(String) });
    expect((await server.api.get(`${ORGS}/${org.id}`, { token: alice.token })).status).toBe(404); // a plain member manages nothing

    const appointed = await server.api.patch(`${ORGS}/${org.id}/members/${alice.id}`, { role: 'admin' }, { token: admin });
    expect(appointed.status).toBe(200);
    expect(appointed.body).toMatchObject({ accountId: alice.id, role: 'admin' });
    expect((await server.api.get(`${ORGS}/${org.id}`, { token: alice.token })).body.name).toBe('Acme Corp');
    const mine = await server.api.get(ORGS, { token: alice.token });
    expect(mine.body).toEqual({ items: [expect.objectContaining({ id: org.id })], nextCursor: null });
    expect(await server.portico.services.organizations.organizationsOf(alice.id)).toEqual([{ id: org.id, slug: 'acme', name: 'Acme Corp', role: 'admin' }]);

    const renamed = await server.api.patch(`${ORGS}/${org.id}`, { name: 'Acme Inc' }, { token: admin });
    expect(renamed.body.name).toBe('Acme Inc');
    expect((await h.auditActions(org.id)).map((e) => e.action)).toEqual([
      'organization.created', 'organization.member_added', 'organization.admin_appointed', 'organization.renamed',
    ]);
    expect((await h.auditActions(org.id))[2]!.details).toMatchObject({ accountId: alice.id, from: 'member', to: 'admin' });

    const demoted = await server.api.patch(`${ORGS}/${org.id}/members/${alice.id}`, { role: 'member' }, { token: admin });
    expect(demoted.body.role).toBe('member');
    expect((await server.api.get(ORGS, { token: alice.token })).body.items).toEqual([]);
    expect((await server.api.get(`${ORGS}/${org.id}/members`, { token: alice.token })).status).toBe(404);
  });

  it('lists every organization to the admin, page by page', async () => {
    await h.organization('page-one');
    await h.organization('page-two');
    const first = await server.api.get(`${ORGS}?limit=1`, { token: admin });
    expect(first.body.items).toHaveLength(1);
    const all: string[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 20; pages += 1) {
      const res: { body: { items: Array<{ slug: string }>; nextCursor: string | null } } = await server.api.get(`${ORGS}?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      all.push(...res.body.items.map((o) => o.slug));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(all).toEqual(expect.arrayContaining(['page-one', 'page-two']));
    expect(new Set(all).size).toBe(all.length);
  });

  it('an org admin manages their organization, gets 404 elsewhere and 403 on admin-only actions', async () => {
    const own = await h.organization('own-org');
    const other = await h.organization('other-org');
    const boss = await server.developer('org-boss');
    const bob = await server.developer('org-bob');
    const carol = await server.developer('org-carol');
    expect((await h.member(own.id, { accountId: boss.id, role: 'admin' })).role).toBe('admin');
    const t = boss.token;

    // Members, departments, groups of their own organization.
    expect((await h.member(own.id, { accountId: bob.id }, t)).role).toBe('member');
    const dept = await h.department(own.id, 'Sales', undefined, t);
    const group = await h.group(own.id, 'Reviewers', t);
    expect((await server.api.post(`${ORGS}/${own.id}/departments/${dept.id}/members`, { accountId: bob.id }, { token: t })).status).toBe(201);
    expect((await server.api.post(`${ORGS}/${own.id}/groups/${group.id}/members`, { accountId: bob.id }, { token: t })).status).toBe(201);
    expect((await server.api.patch(`${ORGS}/${own.id}/groups/${group.id}`, { name: 'Approvers' }, { token: t })).body.name).toBe('Approvers');
    const members = await server.api.get(`${ORGS}/${own.id}/members`, { token: t });
    expect(members.body.items.map((m: { username: string; role: string }) => [m.username, m.role])).toEqual([['org-boss', 'admin'], ['org-bob', 'member']]);
    // Only members of the organization go into its departments and groups.
    const outsider = await server.api.post(`${ORGS}/${own.id}/groups/${group.id}/members`, { accountId: carol.id }, { token: t });
    expect(outsider.status).toBe(404);
    expect(outsider.body.detail).toBe('No such member of this organization.');

    // Another organization does not exist for them, whatever the method.
    for (const [method, path, body] of [
      ['GET', `${ORGS}/${other.id}`], ['PATCH', `${ORGS}/${other.id}`, { name: 'x' }], ['DELETE', `${ORGS}/${other.id}`],
      ['GET', `${ORGS}/${other.id}/members`], ['POST', `${ORGS}/${other.id}/members`, { accountId: bob.id }],
      ['POST', `${ORGS}/${other.id}/departments`, { name: 'x' }], ['GET', `${ORGS}/${other.id}/groups`],
      ['POST', `${ORGS}/${other.id}/installs`, { applicationId: MISSING }], ['GET', `${ORGS}/${MISSING}`],
    ] as const) {
      const res = await server.api.request(method, path, body, { token: t });
      expect({ method, path, status: res.status, code: res.body.code }).toEqual({ method, path, status: 404, code: 'not_found' });
    }
    expect((await server.api.get(ORGS, { token: t })).body.items.map((o: { id: string }) => o.id)).toEqual([own.id]);
    // A department is found only under its own organization, even by the platform admin.
    expect((await server.api.get(`${ORGS}/${other.id}/departments/${dept.id}`, { token: admin })).status).toBe(404);

    // The platform admin's actions on their own organization: 403.
    for (const [method, path, body] of [
      ['PATCH', `${ORGS}/${own.id}`, { name: 'Mine now' }], ['DELETE', `${ORGS}/${own.id}`],
      ['PATCH', `${ORGS}/${own.id}/members/${bob.id}`, { role: 'admin' }], ['PATCH', `${ORGS}/${own.id}/members/${boss.id}`, { role: 'member' }],
      ['POST', `${ORGS}/${own.id}/members`, { accountId: carol.id, role: 'admin' }], ['DELETE', `${ORGS}/${own.id}/members/${boss.id}`],
      ['POST', `${ORGS}/${own.id}/installs`, { applicationId: MISSING }], ['POST', ORGS, { slug: 'their-own', name: 'Theirs' }],
    ] as const) {
      const res = await server.api.request(method, path, body, { token: t });
      expect({ method, path, status: res.status, code: res.body.code }).toEqual({ method, path, status: 403, code: 'forbidden' });
    }
    expect((await server.api.get(`${ORGS}/${own.id}`, { token: admin })).body.name).toBe(own.name);

    // A plain developer: 404 for the organization, 403 only where no organization is named.
    for (const [method, path, body] of [
      ['GET', `${ORGS}/${own.id}`], ['PATCH', `${ORGS}/${own.id}`, { name: 'x' }], ['DELETE', `${ORGS}/${own.id}`],
      ['POST', `${ORGS}/${own.id}/installs`, { applicationId: MISSING }], ['GET', `${ORGS}/${own.id}/departments`],
      ['PATCH', `${ORGS}/${own.id}/members/${bob.id}`, { role: 'admin' }],
    ] as const) {
      const res = await server.api.request(method, path, body, { token: carol.token });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    expect((await server.api.get(ORGS, { token: carol.token })).body).toEqual({ items: [], nextCursor: null });
    expect((await server.api.post(ORGS, { slug: 'carols', name: 'Carol' }, { token: carol.token })).status).toBe(403);
    expect((await server.api.get(ORGS)).status).toBe(401);

    // The org admin removes a plain member, with their department and group memberships.
    expect((await server.api.delete(`${ORGS}/${own.id}/members/${bob.id}`, { token: t })).status).toBe(204);
    expect((await server.api.get(`${ORGS}/${own.id}/departments/${dept.id}/members`, { token: t })).body.items).toEqual([]);
    expect((await server.api.get(`${ORGS}/${own.id}/groups/${group.id}/members`, { token: t })).body.items).toEqual([]);
    const removal = (await h.auditActions(own.id)).find((e) => e.action === 'organization.member_removed');
    expect(removal?.details).toMatchObject({ accountId: bob.id, removed: { departments: 1, groups: 1, grants: 0 } });
    // The platform admin may remove an org admin.
    expect((await server.api.delete(`${ORGS}/${own.id}/members/${boss.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(`${ORGS}/${own.id}`, { token: t })).status).toBe(404);
  });

  it('refuses bad input with 400 problem+json and changes nothing', async () => {
    const org = await h.organization('strict-org');
    const dept = await h.department(org.id, 'Root');
    const before = await h.counts();
    const cases: Array<[string, string, unknown]> = [
      ['POST', ORGS, { slug: 'Bad Slug', name: 'x' }],
      ['POST', ORGS, { slug: 'ok-slug' }],
      ['POST', ORGS, { slug: 'ok-slug', name: 'x', owner: 'me' }],
      ['POST', ORGS, { slug: 'ok-slug', name: ' padded' }],
      ['POST', ORGS, { slug: 'ok-slug', name: 'n'.repeat(101) }],
      ['PATCH', `${ORGS}/${org.id}`, {}],
      ['PATCH', `${ORGS}/not-a-uuid`, { name: 'x' }],
      ['POST', `${ORGS}/${org.id}/members`, {}],
      ['POST', `${ORGS}/${org.id}/members`, { accountId: MISSING, username: 'both' }],
      ['POST', `${ORGS}/${org.id}/members`, { accountId: 'nope' }],
      ['POST', `${ORGS}/${org.id}/members`, { username: 'someone', role: 'owner' }],
      ['PATCH', `${ORGS}/${org.id}/members/${MISSING}`, { role: 'superuser' }],
      ['POST', `${ORGS}/${org.id}/departments`, { name: '' }],
      ['POST', `${ORGS}/${org.id}/departments`, { name: 'x', parentId: 'root' }],
      ['POST', `${ORGS}/${org.id}/departments`, { name: 'nul\u0000byte' }],
      ['PATCH', `${ORGS}/${org.id}/departments/${dept.id}`, {}],
      ['PATCH', `${ORGS}/${org.id}/departments/${dept.id}`, { parent: null }],
      ['POST', `${ORGS}/${org.id}/departments/${dept.id}/members`, { accountId: 42 }],
      ['POST', `${ORGS}/${org.id}/groups`, { name: ['a'] }],
      ['POST', `${ORGS}/${org.id}/installs`, { applicationId: 'x' }],
      ['PATCH', `${ORGS}/${org.id}/installs/${MISSING}`, { enabled: 'yes' }],
      ['PATCH', `${ORGS}/${org.id}/installs/${MISSING}`, {}],
      ['POST', `${ORGS}/${org.id}/installs/${MISSING}/grants`, { kind: 'everyone', id: MISSING }],
      ['DELETE', `${ORGS}/${org.id}`, { confirm: true }],
      ['GET', `${ORGS}?limit=0`, undefined],
      ['GET', `${ORGS}/${org.id}/departments?parentId=nope`, undefined],
      ['GET', `${ORGS}/${org.id}/members?cursor=garbage`, undefined],
    ];
    for (const [method, path, body] of cases) {
      const res = await server.api.request(method, path, body, { token: admin });
      expect({ method, path, body, status: res.status, code: res.body?.code }).toEqual({ method, path, body, status: 400, code: 'validation_failed' });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const unknown = await server.api.post(ORGS, { slug: 'ok-slug', name: 'x', owner: 'me' }, { token: admin });
    expect(unknown.body.errors).toEqual([{ path: 'body', message: 'unknown field(s): owner' }]);
    expect(await h.counts()).toEqual(before);
    // Unknown accounts and pending ones are not found; nothing is added either.
    expect((await server.api.post(`${ORGS}/${org.id}/members`, { username: 'nobody-here' }, { token: admin })).status).toBe(404);
    expect((await server.api.post(`${ORGS}/${org.id}/members`, { accountId: MISSING }, { token: admin })).status).toBe(404);
    expect(await h.counts()).toEqual(before);
  });

  it('groups: names unique per organization (any case), delete takes memberships and grants along', async () => {
    const org = await h.organization('group-org');
    const dev = await server.developer('group-dev');
    await h.member(org.id, { accountId: dev.id });
    const group = await h.group(org.id, 'Finance');
    expect((await server.api.post(`${ORGS}/${org.id}/groups`, { name: 'FINANCE' }, { token: admin })).status).toBe(409);
    const second = await h.group(org.id, 'Legal');
    expect((await server.api.patch(`${ORGS}/${org.id}/groups/${second.id}`, { name: 'finance' }, { token: admin })).status).toBe(409);
    expect((await h.group((await h.organization('group-org-2')).id, 'Finance')).id).toEqual(expect.any(String));

    const path = `${ORGS}/${org.id}/groups/${group.id}/members`;
    expect((await server.api.post(path, { accountId: dev.id }, { token: admin })).status).toBe(201);
    expect((await server.api.post(path, { accountId: dev.id }, { token: admin })).status).toBe(409);
    expect((await server.api.get(path, { token: admin })).body.items).toEqual([{ id: dev.id, accountId: dev.id, username: 'group-dev', createdAt: expect.any(String) }]);
    expect((await server.api.delete(`${path}/${dev.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.delete(`${path}/${dev.id}`, { token: admin })).status).toBe(404);
    expect((await server.api.post(path, { accountId: dev.id }, { token: admin })).status).toBe(201);
    expect((await server.api.delete(`${ORGS}/${org.id}/groups/${group.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(`${ORGS}/${org.id}/groups/${group.id}`, { token: admin })).status).toBe(404);
    expect((await h.auditActions(group.id)).map((e) => e.action)).toEqual([
      'group.created', 'group.member_added', 'group.member_removed', 'group.member_added', 'group.deleted',
    ]);
  });

  it('is in the OpenAPI document, which says who may call each route', async () => {
    const { body: doc } = await server.api.get('/api/v1/openapi.json');
    const departments = doc.paths['/api/v1/admin/organizations/{orgId}/departments'].post;
    expect(departments.description).toMatch(/organization's own admins/);
    expect(departments.parameters).toEqual([expect.objectContaining({ name: 'orgId', in: 'path' })]);
    expect(doc.paths['/api/v1/admin/organizations/{orgId}/installs'].post.description).toBe('Administrators only.');
    expect(doc.paths['/api/v1/admin/organizations/{orgId}/installs/{installId}/grants'].post.requestBody.content['application/json'].schema.properties.kind.enum)
      .toEqual(['member', 'department', 'group']);
  });

  it('deleting an organization deletes its tree, memberships, installs and grants', async () => {
    const org = await h.organization('doomed');
    const dev = await server.developer('doomed-dev');
    await h.member(org.id, { accountId: dev.id });
    const root = await h.department(org.id, 'Root');
    const child = await h.department(org.id, 'Child', root.id);
    const leaf = await h.department(org.id, 'Leaf', child.id);
    await server.api.post(`${ORGS}/${org.id}/departments/${leaf.id}/members`, { accountId: dev.id }, { token: admin });
    const group = await h.group(org.id, 'All');
    await server.api.post(`${ORGS}/${org.id}/groups/${group.id}/members`, { accountId: dev.id }, { token: admin });
    const app = await h.application('doomed-merchant');
    const install = await h.created(`${ORGS}/${org.id}/installs`, { applicationId: app.id });
    await h.created(`${ORGS}/${org.id}/installs/${install.id}/grants`, { kind: 'department', id: root.id });
    await h.created(`${ORGS}/${org.id}/installs/${install.id}/grants`, { kind: 'member', id: dev.id });
    const before = await h.counts();

    expect((await server.api.delete(`${ORGS}/${org.id}`, { token: admin })).status).toBe(204);
    const after = await h.counts();
    expect(after).toEqual({
      ...before, organizations: before.organizations! - 1, organization_members: before.organization_members! - 1,
      departments: before.departments! - 3, department_members: before.department_members! - 1, organization_groups: before.organization_groups! - 1,
      group_members: before.group_members! - 1, app_installs: before.app_installs! - 1, install_grants: before.install_grants! - 2,
      audit_events: before.audit_events! + 1,
    });
    expect((await server.api.get(`${ORGS}/${org.id}`, { token: admin })).status).toBe(404);
    expect((await h.auditActions(org.id)).at(-1)).toMatchObject({ action: 'organization.deleted', details: { slug: 'doomed' } });
  });
});
