import type { AccountService } from '../accounts/service.js';
import type { ApplicationDirectory } from '../applications/directory.js';
import type { AuditService } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { OrganizationRole, OrganizationRow } from '../db/types.js';
import { Conflict, Forbidden, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { ClientStore } from '../oidc/clients.js';
import { createAccess, requirePlatformAdmin, type Caller } from './access.js';
import { createAccountLookup } from './accounts.js';
import { createDepartmentService } from './departments.js';
import { createGroupService } from './groups.js';
import { createInstallService } from './installs.js';
import { createInstallQueries } from './install-queries.js';
import { createOrganizationQueries } from './queries.js';
import type { AddMember } from './schemas.js';
import { change, withUsernames, type OrganizationDeps } from './shared.js';
import { createTenantAccess } from './tenant-access.js';

export type { Caller } from './access.js';
type Page = { cursor?: Cursor; limit: number };

export function renderOrganization(row: OrganizationRow) {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

function renderMember(row: { account_id: string; role: OrganizationRole; created_at: Date }, username: string | null) {
  // A membership is known by its account: `id` is the account id, as in the member's path.
  return { id: row.account_id, accountId: row.account_id, username, role: row.role, createdAt: row.created_at.toISOString() };
}

const orgTarget = (id: string) => ({ type: 'organization', id });

/**
 * Organizations (tenants): the platform admin creates, renames and deletes them and appoints org
 * admins; org admins and the platform admin manage members, departments, groups, installs and
 * grants (see access.ts for who gets 403 and who 404). Every change is audited in its transaction.
 */
export function createOrganizationService(ctx: AppContext, deps: {
  audit: AuditService; accounts: AccountService; clients: ClientStore; applications: ApplicationDirectory;
}) {
  const queries = createOrganizationQueries(ctx.db);
  const shared: OrganizationDeps = { ctx, audit: deps.audit, authorize: createAccess(ctx.db), accounts: createAccountLookup(deps.accounts) };
  const { authorize } = shared;

  const members = {
    async list(caller: Caller, organizationId: string, page: Page) {
      await authorize(caller, organizationId);
      const rows = await queries.listMembers(organizationId, page);
      const usernameOf = await withUsernames(shared, rows);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.account_id }), (r) => renderMember(r, usernameOf(r)));
    },

    /** Adds an existing, active account; only the platform admin adds one as an org admin. */
    async add(caller: Caller, organizationId: string, input: AddMember) {
      const role = input.role ?? 'member';
      await authorize(caller, organizationId, role === 'admin' ? 'appoint organization admins' : undefined);
      const account = await shared.accounts.requireActive(input);
      const row = await change(shared, async (trx, audit) => {
        const added = await createOrganizationQueries(trx).addMember(organizationId, account.id, role);
        await audit(caller, 'organization.member_added', orgTarget(organizationId), { accountId: account.id, username: account.username, role });
        return added;
      }, {
        organization_members_pkey: () => new Conflict('This account is already a member of the organization.'),
        organization_members_account_id_fkey: () => new NotFound('account'),
        organization_members_organization_id_fkey: () => new NotFound('organization'),
      });
      return renderMember(row, account.username);
    },

    /** Platform admin only: appoints (role 'admin') or demotes (role 'member') an org admin. */
    async setRole(caller: Caller, organizationId: string, accountId: string, role: OrganizationRole) {
      await authorize(caller, organizationId, 'appoint or demote organization admins');
      const row = await change(shared, async (trx, audit) => {
        const inTrx = createOrganizationQueries(trx);
        const current = await inTrx.membership(organizationId, accountId);
        if (!current) throw new NotFound('member');
        if (current.role === role) return current;
        const updated = await inTrx.setRole(organizationId, accountId, role);
        await audit(caller, role === 'admin' ? 'organization.admin_appointed' : 'organization.admin_demoted', orgTarget(organizationId), { accountId, from: current.role, to: role });
        return updated ?? current;
      });
      const usernameOf = await withUsernames(shared, [row]);
      return renderMember(row, usernameOf(row));
    },

    /** Removes a member with their department and group memberships and the grants made to them (cascades). */
    async remove(caller: Caller, organizationId: string, accountId: string) {
      await authorize(caller, organizationId);
      await change(shared, async (trx, audit) => {
        const inTrx = createOrganizationQueries(trx);
        const current = await inTrx.membership(organizationId, accountId);
        if (!current) throw new NotFound('member');
        // Removing an org admin demotes them, which only the platform admin may do.
        if (current.role === 'admin' && !caller.platformAdmin) throw new Forbidden('Only a platform administrator can remove an organization admin.');
        const removed = await inTrx.holdingsOf(organizationId, accountId);
        await inTrx.removeMember(organizationId, accountId);
        await audit(caller, 'organization.member_removed', orgTarget(organizationId), { accountId, role: current.role, removed });
      });
    },
  };

  return {
    /** Every organization for the platform admin; those they administer for anyone else. */
    async list(caller: Caller, page: Page) {
      const rows = await queries.list(page, caller.platformAdmin ? undefined : caller.accountId);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), renderOrganization);
    },

    async create(caller: Caller, input: { slug: string; name: string }) {
      requirePlatformAdmin(caller, 'create organizations');
      const row = await change(shared, async (trx, audit) => {
        const created = await createOrganizationQueries(trx).insert(input);
        await audit(caller, 'organization.created', orgTarget(created.id), { slug: created.slug, name: created.name });
        return created;
      }, { organizations_slug_key: () => new Conflict('An organization with this slug already exists.') });
      return renderOrganization(row);
    },

    async get(caller: Caller, organizationId: string) {
      return renderOrganization(await authorize(caller, organizationId));
    },

    async rename(caller: Caller, organizationId: string, name: string) {
      const current = await authorize(caller, organizationId, 'rename organizations');
      const row = await change(shared, async (trx, audit) => {
        const renamed = await createOrganizationQueries(trx).rename(organizationId, name, ctx.clock.now());
        if (!renamed) throw new NotFound('organization');
        await audit(caller, 'organization.renamed', orgTarget(organizationId), { from: current.name, to: name });
        return renamed;
      });
      return renderOrganization(row);
    },

    /** Deletes the organization with everything in it (cascades): members, departments, groups, installs, grants. */
    async remove(caller: Caller, organizationId: string) {
      await authorize(caller, organizationId, 'delete organizations');
      await change(shared, async (trx, audit) => {
        // Its installs' tenant clients go with it: every node forgets them.
        await deps.clients.installsChanged(trx, await createInstallQueries(trx).idsOf(organizationId));
        const deleted = await createOrganizationQueries(trx).delete(organizationId);
        if (!deleted) throw new NotFound('organization');
        await audit(caller, 'organization.deleted', orgTarget(organizationId), { slug: deleted.slug, name: deleted.name });
      });
    },

    members,
    departments: createDepartmentService(shared),
    groups: createGroupService(shared),
    installs: createInstallService(shared, deps.applications, deps.clients),

    /** May this account sign in to this application as a user of this tenant? (the tenant login). */
    tenantAccess: createTenantAccess(ctx.db, deps.clients),

    /** The organizations an account belongs to, with its role in each (for the account's own pages). */
    async organizationsOf(accountId: string) {
      return (await queries.membershipsOf(accountId)).map((r) => ({ id: r.id, slug: r.slug, name: r.name, role: r.role }));
    },
  };
}
export type OrganizationService = ReturnType<typeof createOrganizationService>;
