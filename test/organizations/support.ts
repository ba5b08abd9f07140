import { expect } from '@jest/globals';
import type { TestServer } from '../support/server.js';

export const ORGS = '/api/v1/admin/organizations';
export const MISSING = '00000000-0000-4000-8000-000000000000';

/** Small helpers over the organizations API, each expecting success. */
export function organizationHelpers(server: TestServer, adminToken: () => string) {
  async function created(path: string, body: unknown, token = adminToken()) {
    const res = await server.api.post(path, body, { token });
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
    return res.body;
  }
  return {
    created,
    organization: (slug: string, name = `Org ${slug}`) => created(ORGS, { slug, name }) as Promise<{ id: string; slug: string; name: string }>,
    member: (orgId: string, body: Record<string, unknown>, token?: string) => created(`${ORGS}/${orgId}/members`, body, token),
    department: (orgId: string, name: string, parentId?: string | null, token?: string) =>
      created(`${ORGS}/${orgId}/departments`, parentId === undefined ? { name } : { name, parentId }, token) as Promise<{ id: string; parentId: string | null }>,
    group: (orgId: string, name: string, token?: string) => created(`${ORGS}/${orgId}/groups`, { name }, token) as Promise<{ id: string }>,
    /** An application of a new developer, with its client id. */
    async application(owner: string) {
      const dev = await server.developer(owner);
      const res = await server.api.post('/api/v1/applications', { name: `${owner} app` }, { token: dev.token });
      expect(res.status).toBe(201);
      return { id: res.body.id as string, clientId: res.body.clientId as string, ownerToken: dev.token };
    },
    /** Audit actions about a target, oldest first. */
    async auditActions(targetId: string) {
      const res = await server.api.get(`/api/v1/admin/audit?targetId=${targetId}&limit=100`, { token: adminToken() });
      expect(res.status).toBe(200);
      return (res.body.items as Array<{ action: string; details: Record<string, unknown> }>).reverse();
    },
    /** Row counts of the organization tables, to show that a refused request changed nothing. */
    async counts() {
      const db = server.portico.context.db;
      const tables = ['organizations', 'organization_members', 'departments', 'department_members', 'organization_groups',
        'group_members', 'app_installs', 'install_grants', 'audit_events'] as const;
      const out: Record<string, number> = {};
      for (const table of tables) {
        out[table] = Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      }
      return out;
    },
  };
}
