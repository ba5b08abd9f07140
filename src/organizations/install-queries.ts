import { sql, type Kysely } from 'kysely';
import { keysetPage } from '../db/keyset.js';
import type { Database, GrantKind } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';

type Page = { cursor?: Cursor; limit: number };

/** The grant column that holds a subject of each kind. */
export const SUBJECT_COLUMN = { member: 'account_id', department: 'department_id', group: 'group_id' } as const;

/** Applications installed into organizations, their grants, and the tenant login decision. */
export function createInstallQueries(db: Kysely<Database>) {
  return {
    insert(organizationId: string, applicationId: string) {
      return db.insertInto('app_installs').values({ organization_id: organizationId, application_id: applicationId })
        .returningAll().executeTakeFirstOrThrow();
    },
    find(organizationId: string, id: string) {
      return db.selectFrom('app_installs').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).executeTakeFirst();
    },
    /** Locks the install for a change, so the audit event's `from` is what was changed. */
    lock(organizationId: string, id: string) {
      return db.selectFrom('app_installs').selectAll().where('organization_id', '=', organizationId).where('id', '=', id).forUpdate().executeTakeFirst();
    },
    async idsOf(organizationId: string): Promise<string[]> {
      return (await db.selectFrom('app_installs').select('id').where('organization_id', '=', organizationId).execute()).map((r) => r.id);
    },
    list(organizationId: string, page: Page) {
      const query = db.selectFrom('app_installs').selectAll().where('organization_id', '=', organizationId);
      return keysetPage(query, page, { at: 'created_at', id: 'id' }, 'asc').execute();
    },
    update(id: string, changes: { enabled?: boolean; grant_all?: boolean }, now: Date) {
      return db.updateTable('app_installs').set({ ...changes, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
    delete(organizationId: string, id: string) {
      return db.deleteFrom('app_installs').where('organization_id', '=', organizationId).where('id', '=', id).returningAll().executeTakeFirst();
    },

    insertGrant(values: { installId: string; organizationId: string; kind: GrantKind; subjectId: string }) {
      return db.insertInto('install_grants').values({
        install_id: values.installId, organization_id: values.organizationId, kind: values.kind, [SUBJECT_COLUMN[values.kind]]: values.subjectId,
      }).returningAll().executeTakeFirstOrThrow();
    },
    listGrants(installId: string, page: Page) {
      const query = db.selectFrom('install_grants').selectAll().where('install_id', '=', installId);
      return keysetPage(query, page, { at: 'created_at', id: 'id' }, 'asc').execute();
    },
    deleteGrant(installId: string, id: string) {
      return db.deleteFrom('install_grants').where('install_id', '=', installId).where('id', '=', id).returningAll().executeTakeFirst();
    },

    /**
     * First query of a tenant login: the organization, the application's install there, the
     * membership (null ids join nothing: an unknown application, a malformed account id).
     */
    accessFacts(organizationId: string, applicationId: string | null, accountId: string | null) {
      return db.selectFrom('organizations as o')
        .leftJoin('app_installs as i', (join) => join.onRef('i.organization_id', '=', 'o.id').on(sql<boolean>`i.application_id = ${applicationId}::uuid`))
        .leftJoin('organization_members as m', (join) => join.onRef('m.organization_id', '=', 'o.id').on(sql<boolean>`m.account_id = ${accountId}::uuid`))
        .select(['o.id as organizationId', 'i.id as installId', 'i.enabled', 'i.grant_all as grantAll', 'm.account_id as memberId'])
        .where('o.id', '=', organizationId)
        .executeTakeFirst();
    },

    /**
     * Second query: does a grant of the install cover the member? Directly, through one of the
     * member's groups, or through a department the member is in or any department above it
     * (walked up by a recursive CTE; `union` stops even on a cycle).
     */
    async covered(installId: string, organizationId: string, accountId: string): Promise<boolean> {
      const { rows } = await sql<{ covered: boolean }>`
        with recursive covering(id) as (
          select department_id from department_members where organization_id = ${organizationId} and account_id = ${accountId}
          union
          select d.parent_id from departments d join covering c on d.id = c.id where d.parent_id is not null
        )
        select exists (
          select 1 from install_grants g
          where g.install_id = ${installId} and (
            g.account_id = ${accountId}
            or g.department_id in (select id from covering)
            or g.group_id in (select group_id from group_members where organization_id = ${organizationId} and account_id = ${accountId})
          )
        ) as covered`.execute(db);
      return rows[0]?.covered === true;
    },
  };
}
