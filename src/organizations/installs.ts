import type { ApplicationDirectory } from '../applications/directory.js';
import type { ClientStore } from '../oidc/clients.js';
import type { AppInstallRow, GrantKind, InstallGrantRow } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { Caller } from './access.js';
import { createInstallQueries, SUBJECT_COLUMN } from './install-queries.js';
import { createOrganizationQueries, createStructureQueries } from './queries.js';
import type { InstallChanges } from './schemas.js';
import { change, type OrganizationDeps } from './shared.js';

type Page = { cursor?: Cursor; limit: number };

function renderInstall(row: AppInstallRow, applicationName: string | null) {
  return {
    id: row.id, applicationId: row.application_id, applicationName, enabled: row.enabled, grantAll: row.grant_all,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

function renderGrant(row: InstallGrantRow) {
  return { id: row.id, installId: row.install_id, kind: row.kind, subjectId: row[SUBJECT_COLUMN[row.kind]], createdAt: row.created_at.toISOString() };
}

const installTarget = (id: string) => ({ type: 'install', id });
const SUBJECT_NAME: Record<GrantKind, string> = { member: 'member of this organization', department: 'department', group: 'group' };

/**
 * Applications installed into an organization (the purchase) and who may use them. The platform
 * admin installs and uninstalls; org admins enable or disable an install, open it to every member
 * (`grantAll`), or grant it to members, departments (with everything below them) and groups.
 */
export function createInstallService(deps: OrganizationDeps, applications: ApplicationDirectory, clients: ClientStore) {
  const { authorize, ctx } = deps;
  const queries = createInstallQueries(ctx.db);

  async function find(organizationId: string, id: string): Promise<AppInstallRow> {
    const row = await queries.find(organizationId, id);
    if (!row) throw new NotFound('install');
    return row;
  }
  async function rendered(rows: AppInstallRow[]) {
    const names = await applications.namesByIds(rows.map((r) => r.application_id));
    return (row: AppInstallRow) => renderInstall(row, names.get(row.application_id) ?? null);
  }

  /** Whether the subject of a grant exists in the organization, for a clear 404 before the insert. */
  async function subjectExists(organizationId: string, kind: GrantKind, id: string): Promise<boolean> {
    if (kind === 'member') return (await createOrganizationQueries(ctx.db).membership(organizationId, id)) !== undefined;
    const structure = createStructureQueries(ctx.db);
    return (await (kind === 'department' ? structure.findDepartment(organizationId, id) : structure.findGroup(organizationId, id))) !== undefined;
  }

  return {
    async list(caller: Caller, organizationId: string, page: Page) {
      await authorize(caller, organizationId);
      const rows = await queries.list(organizationId, page);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), await rendered(rows));
    },

    async get(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId);
      const row = await find(organizationId, id);
      return (await rendered([row]))(row);
    },

    /** Platform admin only. The install starts enabled and granted to nobody, with a tenant client of its own. */
    async install(caller: Caller, organizationId: string, applicationId: string) {
      await authorize(caller, organizationId, 'install applications');
      const application = await applications.find(applicationId);
      if (!application) throw new NotFound('application');
      // A registered client is one developer's agent, its users paying with their own consumers: not a tenant application.
      if (application.registered) throw new Conflict('This application registered itself (an MCP client or agent); it cannot be installed in an organization.');
      const row = await change(deps, async (trx, audit) => {
        const created = await createInstallQueries(trx).insert(organizationId, applicationId);
        await clients.createForInstall(trx, { id: created.id, applicationId });
        await audit(caller, 'install.created', installTarget(created.id), { organizationId, applicationId, applicationName: application.name });
        return created;
      }, {
        app_installs_application_organization_key: () => new Conflict('This application is already installed in this organization.'),
        app_installs_application_id_fkey: () => new NotFound('application'),
        app_installs_organization_id_fkey: () => new NotFound('organization'),
      });
      return renderInstall(row, application.name);
    },

    /** Enables or disables the install, and opens it to every member or back to its grants. */
    async update(caller: Caller, organizationId: string, id: string, changes: InstallChanges) {
      await authorize(caller, organizationId);
      const row = await change(deps, async (trx, audit) => {
        const inTrx = createInstallQueries(trx);
        const current = await inTrx.lock(organizationId, id);
        if (!current) throw new NotFound('install');
        const set: { enabled?: boolean; grant_all?: boolean } = {};
        if (changes.enabled !== undefined && changes.enabled !== current.enabled) set.enabled = changes.enabled;
        if (changes.grantAll !== undefined && changes.grantAll !== current.grant_all) set.grant_all = changes.grantAll;
        if (Object.keys(set).length === 0) return current;
        const updated = await inTrx.update(id, set, ctx.clock.now());
        if (set.enabled !== undefined) await clients.installsChanged(trx, [id]); // its tenant client stops or starts getting tokens
        const details = { organizationId, applicationId: current.application_id };
        if (set.enabled !== undefined) await audit(caller, set.enabled ? 'install.enabled' : 'install.disabled', installTarget(id), details);
        if (set.grant_all !== undefined) await audit(caller, 'install.grant_all_changed', installTarget(id), { ...details, from: current.grant_all, to: set.grant_all });
        return updated;
      });
      return (await rendered([row]))(row);
    },

    /** Platform admin only; the grants go with the install. */
    async uninstall(caller: Caller, organizationId: string, id: string) {
      await authorize(caller, organizationId, 'uninstall applications');
      await change(deps, async (trx, audit) => {
        await clients.installsChanged(trx, [id]); // its tenant client goes with it
        const deleted = await createInstallQueries(trx).delete(organizationId, id);
        if (!deleted) throw new NotFound('install');
        await audit(caller, 'install.deleted', installTarget(id), { organizationId, applicationId: deleted.application_id });
      });
    },

    grants: {
      async list(caller: Caller, organizationId: string, installId: string, page: Page) {
        await authorize(caller, organizationId);
        await find(organizationId, installId);
        const rows = await queries.listGrants(installId, page);
        return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), renderGrant);
      },

      /** Grants the install to a member, a department (and every department below it) or a group. */
      async create(caller: Caller, organizationId: string, installId: string, subject: { kind: GrantKind; id: string }) {
        await authorize(caller, organizationId);
        await find(organizationId, installId);
        const missing = () => new NotFound(SUBJECT_NAME[subject.kind]);
        if (!(await subjectExists(organizationId, subject.kind, subject.id))) throw missing();
        const row = await change(deps, async (trx, audit) => {
          const created = await createInstallQueries(trx).insertGrant({ installId, organizationId, kind: subject.kind, subjectId: subject.id });
          await audit(caller, 'grant.created', { type: 'grant', id: created.id }, { organizationId, installId, kind: subject.kind, subjectId: subject.id });
          return created;
        }, {
          install_grants_subject_key: () => new Conflict(`The install is already granted to this ${subject.kind}.`),
          install_grants_install_fkey: () => new NotFound('install'),
          install_grants_member_fkey: missing,
          install_grants_department_fkey: missing,
          install_grants_group_fkey: missing,
        });
        return renderGrant(row);
      },

      async revoke(caller: Caller, organizationId: string, installId: string, grantId: string) {
        await authorize(caller, organizationId);
        await find(organizationId, installId);
        await change(deps, async (trx, audit) => {
          const deleted = await createInstallQueries(trx).deleteGrant(installId, grantId);
          if (!deleted) throw new NotFound('grant');
          await audit(caller, 'grant.revoked', { type: 'grant', id: grantId }, { organizationId, installId, kind: deleted.kind, subjectId: deleted[SUBJECT_COLUMN[deleted.kind]] });
        });
      },
    },
  };
}
