import type { OrganizationGroupRow } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { Caller } from './access.js';
import { createStructureQueries } from './queries.js';
import { change, withUsernames, type OrganizationDeps } from './shared.js';

type Page = { cursor?: Cursor; limit: number };

export function renderGroup(row: OrganizationGroupRow) {
  return { id: row.id, name: row.name, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

const target = (id: string) => ({ type: 'group', id });
const nameTaken = () => new Conflict('A group with this name already exists in the organization.');

/** Groups of an organization (flat, unlike departments) and their members. */
export function createGroupService(deps: OrganizationDeps) {
  const { authorize, ctx } = deps;
  const queries = createStructureQueries(ctx.db);

  async function find(organizationId: string, id: string): Promise<OrganizationGroupRow> {
    const row = await queries.findGroup(organizationId, id);
    if (!row) throw new NotFound('group');
    return row;
  }

  return {
    async list(caller: Caller, organizationId: string, page: Page) {
      await authorize(caller, organizationId);
      const rows = await queries.listGroups(organizationId, page);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), renderGroup);
    },

    async get(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId);
      return renderGroup(await find(organizationId, id));
    },

    async create(caller: Caller, organizationId: string, name: string) {
      await authorize(caller, organizationId);
      const row = await change(deps, async (trx, audit) => {
        const created = await createStructureQueries(trx).insertGroup(organizationId, name);
        await audit(caller, 'group.created', target(created.id), { organizationId, name });
        return created;
      }, { organization_groups_name_key: nameTaken });
      return renderGroup(row);
    },

    async rename(caller: Caller, organizationId: string, id: string, name: string) {
      await authorize(caller, organizationId);
      const current = await find(organizationId, id);
      if (current.name === name) return renderGroup(current);
      const row = await change(deps, async (trx, audit) => {
        const renamed = await createStructureQueries(trx).renameGroup(id, name, ctx.clock.now());
        if (!renamed) throw new NotFound('group'); // deleted meanwhile
        await audit(caller, 'group.renamed', target(id), { organizationId, from: current.name, to: name });
        return renamed;
      }, { organization_groups_name_key: nameTaken });
      return renderGroup(row);
    },

    /** Deletes a group with its memberships and the grants made to it. */
    async remove(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId);
      await change(deps, async (trx, audit) => {
        const deleted = await createStructureQueries(trx).deleteGroup(organizationId, id);
        if (!deleted) throw new NotFound('group');
        await audit(caller, 'group.deleted', target(id), { organizationId, name: deleted.name });
      });
    },

    members: {
      async list(caller: Caller, organizationId: string, groupId: string, page: Page) {
        await authorize(caller, organizationId);
        await find(organizationId, groupId);
        const rows = await queries.listGroupMembers(groupId, page);
        const usernameOf = await withUsernames(deps, rows);
        return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.account_id }),
          (r) => ({ id: r.account_id, accountId: r.account_id, username: usernameOf(r), createdAt: r.created_at.toISOString() }));
      },

      /** The account must be a member of the organization already. */
      async add(caller: Caller, organizationId: string, groupId: string, accountId: string) {
        await authorize(caller, organizationId);
        await find(organizationId, groupId);
        const row = await change(deps, async (trx, audit) => {
          const added = await createStructureQueries(trx).addGroupMember({ organizationId, groupId, accountId });
          await audit(caller, 'group.member_added', target(groupId), { organizationId, accountId });
          return added;
        }, {
          group_members_pkey: () => new Conflict('This member is already in the group.'),
          group_members_member_fkey: () => new NotFound('member of this organization'),
          group_members_group_fkey: () => new NotFound('group'),
        });
        const usernameOf = await withUsernames(deps, [row]);
        return { id: accountId, accountId, username: usernameOf(row), createdAt: row.created_at.toISOString() };
      },

      async remove(caller: Caller, organizationId: string, groupId: string, accountId: string) {
        await authorize(caller, organizationId);
        await find(organizationId, groupId);
        await change(deps, async (trx, audit) => {
          if (!(await createStructureQueries(trx).removeGroupMember(groupId, accountId))) throw new NotFound('group member');
          await audit(caller, 'group.member_removed', target(groupId), { organizationId, accountId });
        });
      },
    },
  };
}
