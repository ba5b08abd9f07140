import { sql, type Kysely } from 'kysely';
import { keysetPage } from '../db/keyset.js';
import type { Database, OrganizationRole } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';

type Page = { cursor?: Cursor; limit: number };

/** Organizations and their members. Statements over `db`: the pool, or a transaction. */
export function createOrganizationQueries(db: Kysely<Database>) {
  return {
    insert(values: { slug: string; name: string }) {
      return db.insertInto('organizations').values(values).returningAll().executeTakeFirstOrThrow();
    },
    findById(id: string) {
      return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    },
    findBySlug(slug: string) {
      return db.selectFrom('organizations').selectAll().where('slug', '=', slug).executeTakeFirst();
    },
    /**
     * Locks the organization against another lock like it: tree moves take it, so two moves cannot
     * make a cycle together. (`no key update` leaves inserts alone, whose foreign keys take `key share`.)
     */
    lock(id: string) {
      return db.selectFrom('organizations').select('id').where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
    },
    /** Every organization (platform admin), or those `adminOf` administers, oldest first. */
    list(page: Page, adminOf?: string) {
      let query = db.selectFrom('organizations').selectAll('organizations');
      if (adminOf) {
        query = query.innerJoin('organization_members as m', 'm.organization_id', 'organizations.id')
          .where('m.account_id', '=', adminOf).where('m.role', '=', 'admin');
      }
      return keysetPage(query, page, { at: 'organizations.created_at', id: 'organizations.id' }, 'asc').execute();
    },
    rename(id: string, name: string, now: Date) {
      return db.updateTable('organizations').set({ name, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
    },
    delete(id: string) {
      return db.deleteFrom('organizations').where('id', '=', id).returningAll().executeTakeFirst();
    },

    membership(organizationId: string, accountId: string) {
      return db.selectFrom('organization_members').selectAll()
        .where('organization_id', '=', organizationId).where('account_id', '=', accountId).executeTakeFirst();
    },
    /** The organizations an account belongs to, with its role in each. */
    membershipsOf(accountId: string) {
      return db.selectFrom('organization_members as m').innerJoin('organizations as o', 'o.id', 'm.organization_id')
        .select(['o.id', 'o.slug', 'o.name', 'm.role']).where('m.account_id', '=', accountId)
        .orderBy('o.name').orderBy('o.id').execute();
    },
    listMembers(organizationId: string, page: Page) {
      const query = db.selectFrom('organization_members').selectAll().where('organization_id', '=', organizationId);
      return keysetPage(query, page, { at: 'created_at', id: 'account_id' }, 'asc').execute();
    },
    addMember(organizationId: string, accountId: string, role: OrganizationRole) {
      return db.insertInto('organization_members').values({ organization_id: organizationId, account_id: accountId, role })
        .returningAll().executeTakeFirstOrThrow();
    },
    setRole(organizationId: string, accountId: string, role: OrganizationRole) {
      return db.updateTable('organization_members').set({ role })
        .where('organization_id', '=', organizationId).where('account_id', '=', accountId).returningAll().executeTakeFirst();
    },
    /** What the removal of a member takes with it (the cascades), counted before it goes. */
    async holdingsOf(organizationId: string, accountId: string) {
      const count = (table: 'department_members' | 'group_members' | 'install_grants') => db.selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('organization_id', '=', organizationId).where('account_id', '=', accountId).executeTakeFirstOrThrow();
      const [departments, groups, grants] = await Promise.all([count('department_members'), count('group_members'), count('install_grants')]);
      return { departments: Number(departments.n), groups: Number(groups.n), grants: Number(grants.n) };
    },
    removeMember(organizationId: string, accountId: string) {
      return db.deleteFrom('organization_members')
        .where('organization_id', '=', organizationId).where('account_id', '=', accountId).returningAll().executeTakeFirst();
    },
  };
}

/** Departments (a tree) and groups of an organization, with their members. */
export function createStructureQueries(db: Kysely<Database>) {
  return {
    insertDepartment(values: { organizationId: string; parentId: string | null; name: string }) {
      return db.insertInto('departments').values({ organization_id: values.organizationId, parent_id: values.parentId, name: values.name })
        .returningAll().executeTakeFirstOrThrow();
    },
    findDepartment(organizationId: string, id: string) {
      return db.selectFrom('departments').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
    },
    /** Locks a department, so it cannot be deleted while a member or a sub-department is added (and back). */
    lockDepartment(organizationId: string, id: string) {
      return db.selectFrom('departments').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).forUpdate().executeTakeFirst();
    },
    listDepartments(organizationId: string, page: Page & { parentId?: string | null }) {
      let query = db.selectFrom('departments').selectAll().where('organization_id', '=', organizationId);
      if (page.parentId !== undefined) query = query.where('parent_id', page.parentId === null ? 'is' : '=', page.parentId);
      return keysetPage(query, page, { at: 'created_at', id: 'id' }, 'asc').execute();
    },
    /** True when `candidateId` is `id` or lies anywhere below it: moving `id` under it would make a cycle. */
    async isSelfOrDescendant(id: string, candidateId: string): Promise<boolean> {
      const row = await db.withRecursive('subtree(id)', (qb) => qb.selectNoFrom(sql<string>`${id}::uuid`.as('id'))
        .union(qb.selectFrom('departments as d').innerJoin('subtree as s', 's.id', 'd.parent_id').select('d.id')))
        .selectFrom('subtree').select('id').where('id', '=', candidateId).executeTakeFirst();
      return row !== undefined;
    },
    updateDepartment(id: string, changes: { name?: string; parent_id?: string | null }, now: Date) {
      return db.updateTable('departments').set({ ...changes, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
    async departmentContents(id: string) {
      const [children, members] = await Promise.all([
        db.selectFrom('departments').select((eb) => eb.fn.countAll<number>().as('n')).where('parent_id', '=', id).executeTakeFirstOrThrow(),
        db.selectFrom('department_members').select((eb) => eb.fn.countAll<number>().as('n')).where('department_id', '=', id).executeTakeFirstOrThrow(),
      ]);
      return { subDepartments: Number(children.n), members: Number(members.n) };
    },
    deleteDepartment(id: string) {
      return db.deleteFrom('departments').where('id', '=', id).execute();
    },
    listDepartmentMembers(departmentId: string, page: Page) {
      const query = db.selectFrom('department_members').selectAll().where('department_id', '=', departmentId);
      return keysetPage(query, page, { at: 'created_at', id: 'account_id' }, 'asc').execute();
    },
    addDepartmentMember(values: { organizationId: string; departmentId: string; accountId: string }) {
      return db.insertInto('department_members')
        .values({ organization_id: values.organizationId, department_id: values.departmentId, account_id: values.accountId })
        .returningAll().executeTakeFirstOrThrow();
    },
    removeDepartmentMember(departmentId: string, accountId: string) {
      return db.deleteFrom('department_members').where('department_id', '=', departmentId).where('account_id', '=', accountId)
        .returningAll().executeTakeFirst();
    },

    insertGroup(organizationId: string, name: string) {
      return db.insertInto('organization_groups').values({ organization_id: organizationId, name }).returningAll().executeTakeFirstOrThrow();
    },
    findGroup(organizationId: string, id: string) {
      return db.selectFrom('organization_groups').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
    },
    listGroups(organizationId: string, page: Page) {
      const query = db.selectFrom('organization_groups').selectAll().where('organization_id', '=', organizationId);
      return keysetPage(query, page, { at: 'created_at', id: 'id' }, 'asc').execute();
    },
    renameGroup(id: string, name: string, now: Date) {
      return db.updateTable('organization_groups').set({ name, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
    },
    deleteGroup(organizationId: string, id: string) {
      return db.deleteFrom('organization_groups').where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
    },
    listGroupMembers(groupId: string, page: Page) {
      const query = db.selectFrom('group_members').selectAll().where('group_id', '=', groupId);
      return keysetPage(query, page, { at: 'created_at', id: 'account_id' }, 'asc').execute();
    },
    addGroupMember(values: { organizationId: string; groupId: string; accountId: string }) {
      return db.insertInto('group_members').values({ organization_id: values.organizationId, group_id: values.groupId, account_id: values.accountId })
        .returningAll().executeTakeFirstOrThrow();
    },
    removeGroupMember(groupId: string, accountId: string) {
      return db.deleteFrom('group_members').where('group_id', '=', groupId).where('account_id', '=', accountId).returningAll().executeTakeFirst();
    },
  };
}
