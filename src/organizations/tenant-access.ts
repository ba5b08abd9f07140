import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';
import { uuid } from '../http/validate.js';
import type { ClientStore } from '../oidc/clients.js';
import { createInstallQueries } from './install-queries.js';

/** Why a tenant login is refused; the reason is shown to the user and sent to the client. */
export const TENANT_DENIALS = {
  unknown_organization: 'There is no such organization.',
  not_installed: 'This application is not installed in the organization.',
  install_disabled: 'The organization has disabled this application.',
  not_member: 'You are not a member of this organization.',
  not_granted: 'The organization has not granted you access to this application.',
} as const;
export type TenantDenial = keyof typeof TENANT_DENIALS;

export type TenantAccess =
  | { allowed: true; tenantId: string; installId: string }
  | { allowed: false; code: TenantDenial; reason: string };

const deny = (code: TenantDenial): TenantAccess => ({ allowed: false, code, reason: TENANT_DENIALS[code] });
const isUuid = (value: string) => uuid.safeParse(value).success;

/**
 * The tenant login decision: may `accountId` use the application (named by its id or by a
 * client id) as a user of organization `tenantId`? Two queries at most: the organization, the
 * install and the membership in one, then the grants (direct, by group, or by a department the
 * member is in or below, through a recursive CTE). Runs once per tenant login, so nothing is cached.
 */
export function createTenantAccess(db: Kysely<Database>, clients: ClientStore) {
  const queries = createInstallQueries(db);
  return async function tenantAccess(clientIdOrApplicationId: string, tenantId: string, accountId: string): Promise<TenantAccess> {
    if (!isUuid(tenantId)) return deny('unknown_organization');
    // Client ids are not UUIDs; the client store resolves them from memory.
    const applicationId = isUuid(clientIdOrApplicationId)
      ? clientIdOrApplicationId
      : (await clients.lookup(clientIdOrApplicationId))?.record.applicationId ?? null;
    const memberId = isUuid(accountId) ? accountId : null;
    const facts = await queries.accessFacts(tenantId, applicationId, memberId);
    if (!facts) return deny('unknown_organization');
    if (!applicationId || !facts.installId) return deny('not_installed');
    if (!facts.enabled) return deny('install_disabled');
    if (!facts.memberId || !memberId) return deny('not_member');
    if (facts.grantAll || (await queries.covered(facts.installId, tenantId, memberId))) {
      return { allowed: true, tenantId, installId: facts.installId };
    }
    return deny('not_granted');
  };
}
