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

describe('the department tree', () => {
  it('creates nested departments, renames and moves them, and refuses cycles', async () => {
    const org = await h.organization('tree-org');
    const boss = await server.developer('tree-boss');
    await h.member(org.id, { accountId: boss.id, role: 'admin' });
    const t = boss.token; // an org admin does all of this
    const path = `${ORGS}/${org.id}/departments`;

    const eng = await h.department(org.id, 'Engineering', undefined, t);
    const platform = await h.department(org.id, 'Platform', eng.id, t);
    const identity = await h.department(org.id, 'Identity', platform.id, t);
    expect(identity).toMatchObject({ name: 'Identity', parentId: platform.id });
    expect(eng.parentId).toBeNull();

    // Sibling names are unique without regard to case; the same name elsewhere in the tree is fine.
    expect((await server.api.post(path, { name: 'platform', parentId: eng.id }, { token: t })).status).toBe(409);
    expect((await server.api.post(path, { name: 'ENGINEERING' }, { token: t })).status).toBe(409);
    const otherPlatform = await h.department(org.id, 'Platform', undefined, t);
    expect((await server.api.post(path, { name: 'x', parentId: MISSING }, { token: t })).status).toBe(404);

    const renamed = await server.api.patch(`${path}/${identity.id}`, { name: 'Identity & Access' }, { token: t });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Identity & Access', parentId: platform.id });
    expect((await server.api.patch(`${path}/${otherPlatform.id}`, { name: 'engineering' }, { token: t })).status).toBe(409);

    // Moves: to the root and back, then under another branch.
    expect((await server.api.patch(`${path}/${identity.id}`, { parentId: null }, { token: t })).body.parentId).toBeNull();
    expect((await server.api.get(`${path}?parentId=root`, { token: t })).body.items.map((d: { name: string }) => d.name))
      .toEqual(['Engineering', 'Identity & Access', 'Platform']);
    expect((await server.api.patch(`${path}/${identity.id}`, { parentId: platform.id }, { token: t })).body.parentId).toBe(platform.id);
    expect((await server.api.get(`${path}?parentId=${platform.id}`, { token: t })).body.items.map((d: { id: string }) => d.id)).toEqual([identity.id]);

    // Cycles: under itself, under its child, under its grandchild.
    for (const [id, parentId] of [[eng.id, eng.id], [eng.id, platform.id], [eng.id, identity.id], [platform.id, identity.id]]) {
      const res = await server.api.patch(`${path}/${id}`, { parentId }, { token: t });
      expect(res.status).toBe(409);
      expect(res.body.detail).toBe('A department cannot be moved under itself or one of its own sub-departments.');
    }
    // A move that would clash with a sibling's name.
    expect((await server.api.patch(`${path}/${otherPlatform.id}`, { parentId: eng.id }, { token: t })).status).toBe(409);
    // A parent from another organization does not exist here.
    const foreign = await h.department((await h.organization('tree-other')).id, 'Elsewhere');
    expect((await server.api.patch(`${path}/${identity.id}`, { parentId: foreign.id }, { token: t })).status).toBe(404);
    expect((await server.api.get(`${path}/${platform.id}`, { token: t })).body.parentId).toBe(eng.id);

    const actions = (await h.auditActions(identity.id)).map((e) => e.action);
    expect(actions).toEqual(['department.created', 'department.renamed', 'department.moved', 'department.moved']);
    expect((await h.auditActions(identity.id))[2]!.details).toMatchObject({ organizationId: org.id, from: platform.id, to: null });
  });

  it('deletes a department only when it has no sub-departments and no members', async () => {
    const org = await h.organization('delete-org');
    const dev = await server.developer('delete-dev');
    await h.member(org.id, { accountId: dev.id });
    const path = `${ORGS}/${org.id}/departments`;
    const parent = await h.department(org.id, 'Parent');
    const child = await h.department(org.id, 'Child', parent.id);
    await h.created(`${path}/${child.id}/members`, { accountId: dev.id });
    // A member may be in several departments.
    await h.created(`${path}/${parent.id}/members`, { accountId: dev.id });
    expect((await server.api.post(`${path}/${child.id}/members`, { accountId: dev.id }, { token: admin })).status).toBe(409);

    const withChild = await server.api.delete(`${path}/${parent.id}`, { token: admin });
    expect(withChild.status).toBe(409);
    expect(withChild.body.detail).toBe('This department still has 1 sub-department(s) and 1 member(s); move or remove them first.');
    const withMember = await server.api.delete(`${path}/${child.id}`, { token: admin });
    expect(withMember.status).toBe(409);
    expect(withMember.body).toMatchObject({ code: 'conflict', subDepartments: 0, members: 1 });

    expect((await server.api.delete(`${path}/${child.id}/members/${dev.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.delete(`${path}/${child.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(`${path}/${child.id}`, { token: admin })).status).toBe(404);
    expect((await server.api.delete(`${path}/${child.id}`, { token: admin })).status).toBe(404);
    expect((await server.api.delete(`${path}/${parent.id}/members/${dev.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.delete(`${path}/${parent.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(path, { token: admin })).body.items).toEqual([]);
    expect((await h.auditActions(child.id)).map((e) => e.action)).toEqual([
      'department.created', 'department.member_added', 'department.member_removed', 'department.deleted',
    ]);
  });
});
