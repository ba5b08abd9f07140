import type { DepartmentRow } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { Caller } from './access.js';
import { createOrganizationQueries, createStructureQueries } from './queries.js';
import type { DepartmentChanges } from './schemas.js';
import { change, withUsernames, type OrganizationDeps } from './shared.js';

type Page = { cursor?: Cursor; limit: number };

export function renderDepartment(row: DepartmentRow) {
  return { id: row.id, name: row.name, parentId: row.parent_id, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

const target = (id: string) => ({ type: 'department', id });
const siblingNameTaken = () => new Conflict('A department with this name already exists under the same parent.');
const notAMember = () => new NotFound('member of this organization');

/**
 * The department tree of an organization: create (under a parent or at the root), rename, move
 * (never under itself or its own sub-departments), delete when empty; and department members,
 * each of whom may be in several departments.
 */
export function createDepartmentService(deps: OrganizationDeps) {
  const { authorize, ctx } = deps;
  const queries = createStructureQueries(ctx.db);

  async function find(organizationId: string, id: string): Promise<DepartmentRow> {
    const row = await queries.findDepartment(organizationId, id);
    if (!row) throw new NotFound('department');
    return row;
  }

  return {
    /** Oldest first; `parentId` (null: the roots) lists one level of the tree. */
    async list(caller: Caller, organizationId: string, page: Page & { parentId?: string | null }) {
      await authorize(caller, organizationId);
      const rows = await queries.listDepartments(organizationId, page);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), renderDepartment);
    },

    async get(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId);
      return renderDepartment(await find(organizationId, id));
    },

    async create(caller: Caller, organizationId: string, input: { name: string; parentId?: string | null }) {
      await authorize(caller, organizationId);
      const parentId = input.parentId ?? null;
      if (parentId && !(await queries.findDepartment(organizationId, parentId))) throw new NotFound('parent department');
      const row = await change(deps, async (trx, audit) => {
        const created = await createStructureQueries(trx).insertDepartment({ organizationId, parentId, name: input.name });
        await audit(caller, 'department.created', target(created.id), { organizationId, name: created.name, parentId });
        return created;
      }, {
        departments_sibling_name_key: siblingNameTaken,
        departments_parent_fkey: () => new NotFound('parent department'), // deleted meanwhile
      });
      return renderDepartment(row);
    },

    /** Renames and/or moves (`parentId`; null: to the root) a department; each change is its own audit event. */
    async update(caller: Caller, organizationId: string, id: string, changes: DepartmentChanges) {
      await authorize(caller, organizationId);
      const row = await change(deps, async (trx, audit) => {
        const structure = createStructureQueries(trx);
        const moving = changes.parentId !== undefined;
        // Moves in one organization run one at a time: two moves checked apart could close a cycle together.
        if (moving) await createOrganizationQueries(trx).lock(organizationId);
        const current = await structure.lockDepartment(organizationId, id);
        if (!current) throw new NotFound('department');
        const set: { name?: string; parent_id?: string | null } = {};
        if (changes.name !== undefined && changes.name !== current.name) set.name = changes.name;
        if (moving && changes.parentId !== current.parent_id) {
          const parentId = changes.parentId ?? null;
          if (parentId !== null) {
            if (!(await structure.findDepartment(organizationId, parentId))) throw new NotFound('parent department');
            if (await structure.isSelfOrDescendant(id, parentId)) {
              throw new Conflict('A department cannot be moved under itself or one of its own sub-departments.');
            }
          }
          set.parent_id = parentId;
        }
        if (Object.keys(set).length === 0) return current;
        const updated = await structure.updateDepartment(id, set, ctx.clock.now());
        if (set.name !== undefined) await audit(caller, 'department.renamed', target(id), { organizationId, from: current.name, to: set.name });
        if (set.parent_id !== undefined) await audit(caller, 'department.moved', target(id), { organizationId, from: current.parent_id, to: set.parent_id });
        return updated;
      }, { departments_sibling_name_key: siblingNameTaken });
      return renderDepartment(row);
    },

    /** Only an empty department goes: no sub-departments, no members. Its grants go with it. */
    async remove(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId);
      await change(deps, async (trx, audit) => {
        const structure = createStructureQueries(trx);
        // The lock keeps members and sub-departments from being added until the delete commits.
        const current = await structure.lockDepartment(organizationId, id);
        if (!current) throw new NotFound('department');
        const contents = await structure.departmentContents(id);
        if (contents.subDepartments > 0 || contents.members > 0) {
          throw new Conflict(`This department still has ${contents.subDepartments} sub-department(s) and ${contents.members} member(s); move or remove them first.`, contents);
        }
        await structure.deleteDepartment(id);
        await audit(caller, 'department.deleted', target(id), { organizationId, name: current.name, parentId: current.parent_id });
      }, { departments_parent_fkey: () => new Conflict('This department has sub-departments; move or delete them first.') });
    },

    members: {
      async list(caller: Caller, organizationId: string, departmentId: string, page: Page) {
        await authorize(caller, organizationId);
        await find(organizationId, departmentId);
        const rows = await queries.listDepartmentMembers(departmentId, page);
        const usernameOf = await withUsernames(deps, rows);
        return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.account_id }),
          (r) => ({ id: r.account_id, accountId: r.account_id, username: usernameOf(r), createdAt: r.created_at.toISOString() }));
      },

      /** The account must be a member of the organization already. */
      async add(caller: Caller, organizationId: string, departmentId: string, accountId: string) {
        await authorize(caller, organizationId);
        await find(organizationId, departmentId);
        const row = await change(deps, async (trx, audit) => {
          const added = await createStructureQueries(trx).addDepartmentMember({ organizationId, departmentId, accountId });
          await audit(caller, 'department.member_added', target(departmentId), { organizationId, accountId });
          return added;
        }, {
          department_members_pkey: () => new Conflict('This member is already in the department.'),
          department_members_member_fkey: notAMember,
          department_members_department_fkey: () => new NotFound('department'),
        });
        const usernameOf = await withUsernames(deps, [row]);
        return { id: accountId, accountId, username: usernameOf(row), createdAt: row.created_at.toISOString() };
      },

      async remove(caller: Caller, organizationId: string, departmentId: string, accountId: string) {
        await authorize(caller, organizationId);
        await find(organizationId, departmentId);
        await change(deps, async (trx, audit) => {
          if (!(await createStructureQueries(trx).removeDepartmentMember(departmentId, accountId))) throw new NotFound('department member');
          await audit(caller, 'department.member_removed', target(departmentId), { organizationId, accountId });
        });
      },
    },
  };
}
