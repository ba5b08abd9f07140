import type { Kysely } from 'kysely';
import type { Actor } from '../context.js';
import type { Database, OrganizationRow } from '../db/types.js';
import { Forbidden, NotFound } from '../http/errors.js';
import { createOrganizationQueries } from './queries.js';

/** Who calls the organizations API: an account, and whether it is a platform administrator. */
export interface Caller extends Actor { accountId: string; platformAdmin: boolean }

/**
 * Who may act on an organization. The platform admin may do anything. An org admin (an 'admin'
 * member) may manage the organization, except the actions named `adminOnly`, which answer 403:
 * the org admin knows the organization exists. Anyone else, plain members included, gets 404,
 * so organizations cannot be probed.
 */
export function createAccess(db: Kysely<Database>) {
  const queries = createOrganizationQueries(db);
  return async function authorize(caller: Caller, organizationId: string, adminOnly?: string): Promise<OrganizationRow> {
    if (!caller.platformAdmin) {
      const membership = await queries.membership(organizationId, caller.accountId);
      if (membership?.role !== 'admin') throw new NotFound('organization');
      if (adminOnly) throw new Forbidden(`Only a platform administrator can ${adminOnly}.`);
    }
    const organization = await queries.findById(organizationId);
    if (!organization) throw new NotFound('organization');
    return organization;
  };
}
export type Authorize = ReturnType<typeof createAccess>;

/** For admin-only actions that name no organization (creating one). */
export function requirePlatformAdmin(caller: Caller, action: string): void {
  if (!caller.platformAdmin) throw new Forbidden(`Only a platform administrator can ${action}.`);
}
