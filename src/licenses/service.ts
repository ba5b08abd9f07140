import type { Kysely } from 'kysely';
import type { ApplicationDirectory } from '../applications/directory.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { isForeignKeyViolation } from '../db/errors.js';
import type { Database, LicenseRow } from '../db/types.js';
import { Conflict, NotFound, ValidationFailed } from '../http/errors.js';
import { toPage } from '../http/pagination.js';
import type { OrganizationService } from '../organizations/service.js';
import { activationCodeHash, newActivationCode } from './codes.js';
import {
  ApplicationNotInstalled, LicenseAlreadyActivated, LicenseExpired, LicenseNotFound, LicenseRevoked, LicenseWrongApplication,
} from './errors.js';
import { createLicenseQueries, type LicenseListFilter } from './queries.js';
import type { IssueLicense, LicenseStatus } from './schemas.js';

/** Revoked wins over everything; an activated license that has run out is expired. */
function statusOf(row: LicenseRow, now: Date): LicenseStatus {
  if (row.revoked_at) return 'revoked';
  if (row.expires_at.getTime() <= now.getTime()) return 'expired';
  return row.activated_at ? 'activated' : 'issued';
}

/** What administrators see of a license: never the code, which only the answer to the issue carries. */
export function renderLicense(row: LicenseRow, now: Date) {
  return {
    id: row.id, applicationId: row.application_id, tenantId: row.organization_id, seats: row.seats,
    expiresAt: row.expires_at.toISOString(), status: statusOf(row, now),
    instanceId: row.activated_instance, activatedAt: row.activated_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null, createdAt: row.created_at.toISOString(),
  };
}

/**
 * What the activating application is told. `productId` is api.md's name for what the license is
 * for; a Portico license is for an application, so it is the application's id (also given as
 * `applicationId`).
 */
function renderActivation(row: LicenseRow) {
  return {
    status: 'activated' as const, licenseId: row.id, productId: row.application_id, applicationId: row.application_id,
    tenantId: row.organization_id, seats: row.seats, expiresAt: row.expires_at.toISOString(),
    instanceId: row.activated_instance, activatedAt: row.activated_at?.toISOString() ?? null,
  };
}

/** The caller of an activation: an application's own client, authenticated by its client_credentials token. */
export interface ActivatingClient { clientId: string; applicationId: string }

// tenantAccess asked for no account answers only with the organization and install facts.
const NO_ACCOUNT = '';
const licenseTarget = (id: string) => ({ targetType: 'license', targetId: id });

/**
 * License activation codes: administrators issue them for an application installed in an
 * organization and may revoke them; the application activates each once, for one instance of
 * its software. Only a keyed hash of a code is stored. Every change is audited in its transaction.
 */
export function createLicenseService(ctx: AppContext, deps: {
  audit: AuditService; organizations: Pick<OrganizationService, 'tenantAccess'>; applications: ApplicationDirectory;
}) {
  const queries = createLicenseQueries(ctx.db);
  const transaction = <T>(work: (trx: Kysely<Database>) => Promise<T>) => ctx.db.transaction().execute(work);

  async function find(id: string): Promise<LicenseRow> {
    const row = await queries.find(id);
    if (!row) throw new NotFound('license');
    return row;
  }

  return {
    /** Issues a code for an application installed in the organization; the answer is the only place the code appears. */
    async issue(actor: Actor, input: IssueLicense) {
      if (input.expiresAt.getTime() <= ctx.clock.now().getTime()) {
        throw new ValidationFailed([{ path: 'body.expiresAt', message: 'must be in the future' }]);
      }
      const application = await deps.applications.find(input.applicationId);
      if (!application) throw new NotFound('application');
      const access = await deps.organizations.tenantAccess(input.applicationId, input.tenantId, NO_ACCOUNT);
      if (!access.allowed && access.code === 'unknown_organization') throw new NotFound('organization');
      if (!access.allowed && access.code === 'not_installed') throw new ApplicationNotInstalled();
      const code = newActivationCode();
      try {
        const row = await transaction(async (trx) => {
          const created = await createLicenseQueries(trx).insert({
            codeHash: activationCodeHash(ctx.keys.lookup, code), applicationId: input.applicationId, organizationId: input.tenantId,
            seats: input.seats, expiresAt: input.expiresAt,
          });
          await deps.audit.record(trx, actor, {
            action: 'license.issued', ...licenseTarget(created.id),
            details: { applicationId: created.application_id, tenantId: created.organization_id, seats: created.seats, expiresAt: created.expires_at.toISOString() },
          });
          return created;
        });
        const { id, ...rest } = renderLicense(row, ctx.clock.now());
        return { id, code, ...rest };
      } catch (err) {
        // The application or the organization was deleted since it was checked.
        if (isForeignKeyViolation(err, 'licenses_application_id_fkey')) throw new NotFound('application');
        if (isForeignKeyViolation(err, 'licenses_organization_id_fkey')) throw new NotFound('organization');
        throw err;
      }
    },

    async list(filter: LicenseListFilter) {
      const now = ctx.clock.now();
      const rows = await queries.list(filter, now);
      return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), (r) => renderLicense(r, now));
    },

    async get(id: string) {
      return renderLicense(await find(id), ctx.clock.now());
    },

    /** Revokes a license, activated or not; the instance that holds it learns at its next activation call. */
    async revoke(actor: Actor, id: string, reason?: string) {
      const now = ctx.clock.now();
      const row = await transaction(async (trx) => {
        const inTrx = createLicenseQueries(trx);
        const current = await inTrx.lock(id);
        if (!current) throw new NotFound('license');
        if (current.revoked_at) throw new Conflict('The license is already revoked.', { status: 'revoked' });
        const revoked = (await inTrx.revoke(id, now))!; // under the lock, nothing else can have revoked it
        await deps.audit.record(trx, actor, {
          action: 'license.revoked', ...licenseTarget(id),
          details: {
            applicationId: current.application_id, tenantId: current.organization_id, wasActivated: current.activated_at !== null,
            instanceId: current.activated_instance, ...(reason ? { reason } : {}),
          },
        });
        return revoked;
      });
      return renderLicense(row, now);
    },

    /**
     * Activates a license for one instance of the calling application. The row is locked, so two
     * instances racing take turns and the second finds it taken; asking again for the instance
     * that holds it answers the same (and records nothing new). Refusals, in this order: unknown
     * code, another application's code, revoked, expired, held by another instance.
     */
    async activate(client: ActivatingClient, actor: Actor, input: { code: string; instanceId: string }) {
      return transaction(async (trx) => {
        const inTrx = createLicenseQueries(trx);
        const now = ctx.clock.now();
        const current = await inTrx.lockByCodeHash(activationCodeHash(ctx.keys.lookup, input.code));
        if (!current) throw new LicenseNotFound();
        if (current.application_id !== client.applicationId) throw new LicenseWrongApplication();
        if (current.revoked_at) throw new LicenseRevoked();
        if (current.expires_at.getTime() <= now.getTime()) throw new LicenseExpired(current.expires_at);
        if (current.activated_instance !== null) {
          if (current.activated_instance === input.instanceId) return renderActivation(current);
          throw new LicenseAlreadyActivated();
        }
        const activated = await inTrx.activate(current.id, input.instanceId, now);
        if (!activated) throw new LicenseAlreadyActivated();
        await deps.audit.record(trx, actor, {
          action: 'license.activated', ...licenseTarget(activated.id),
          details: { clientId: client.clientId, applicationId: activated.application_id, tenantId: activated.organization_id, instanceId: input.instanceId },
        });
        return renderActivation(activated);
      });
    },
  };
}
export type LicenseService = ReturnType<typeof createLicenseService>;
