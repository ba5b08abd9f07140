import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

export function createClientQueries(db: Kysely<Database>) {
  return {
    /**
     * The client with its application's stage, quota and suspension (null for a client without
     * one); for a tenant client, also its organization, whether the install is enabled, and its
     * application's own client (`main_*`), whose settings it shares.
     */
    find(clientId: string) {
      return db.selectFrom('oauth_clients')
        .leftJoin('applications', 'applications.id', 'oauth_clients.application_id')
        .leftJoin('app_installs', 'app_installs.id', 'oauth_clients.install_id')
        .leftJoin('oauth_clients as main', (join) => join.onRef('main.application_id', '=', 'oauth_clients.application_id').on('main.install_id', 'is', null))
        .selectAll('oauth_clients')
        .select(['applications.stage', 'applications.daily_quota', 'applications.suspended_at',
          'app_installs.organization_id as tenant_id', 'app_installs.enabled as install_enabled',
          'main.metadata as main_metadata', 'main.account_id as main_account_id', 'main.consumer_id as main_consumer_id', 'main.first_party as main_first_party'])
        .where('oauth_clients.client_id', '=', clientId).executeTakeFirst();
    },
    /** The tenant client of an application in an organization. */
    tenantClientId(applicationId: string, organizationId: string) {
      return db.selectFrom('oauth_clients').innerJoin('app_installs', 'app_installs.id', 'oauth_clients.install_id')
        .select('oauth_clients.client_id')
        .where('app_installs.application_id', '=', applicationId).where('app_installs.organization_id', '=', organizationId)
        .executeTakeFirst();
    },
    /** The clients of an application (its own and its tenant clients), or of one install. */
    clientIdsOf(where: { applicationId: string } | { installIds: string[] }) {
      const query = db.selectFrom('oauth_clients').select(['client_id', 'application_id']);
      if ('applicationId' in where) return query.where('application_id', '=', where.applicationId).execute();
      return where.installIds.length ? query.where('install_id', 'in', where.installIds).execute() : Promise.resolve([]);
    },
    insert(values: { clientId: string; applicationId: string | null; accountId: string | null; consumerId: string | null; metadata: Record<string, unknown>; sealedSecret: string | null; installId?: string; registeredAt?: Date }) {
      return db.insertInto('oauth_clients').values({
        client_id: values.clientId, application_id: values.applicationId, account_id: values.accountId,
        consumer_id: values.consumerId, metadata: JSON.stringify(values.metadata), sealed_secret: values.sealedSecret,
        install_id: values.installId ?? null, registered_at: values.registeredAt ?? null,
      }).execute();
    },
    /** Locks a client's row until the transaction ends: whether it registered itself, and its application. */
    findForUpdate(clientId: string) {
      return db.selectFrom('oauth_clients').select(['registered_at', 'application_id', 'metadata'])
        .where('client_id', '=', clientId).forUpdate().executeTakeFirst();
    },
    /** A registered client's first authorizing developer becomes its owner. */
    setOwner(clientId: string, owner: { applicationId: string; accountId: string; consumerId: string }, now: Date) {
      return db.updateTable('oauth_clients').set({ application_id: owner.applicationId, account_id: owner.accountId, consumer_id: owner.consumerId, updated_at: now })
        .where('client_id', '=', clientId).execute();
    },
    /** Deletes registered clients nobody claimed, registered before `cutoff`; their ids. */
    deleteUnclaimed(cutoff: Date) {
      return db.deleteFrom('oauth_clients').where('application_id', 'is', null).where('registered_at', '<', cutoff).returning('client_id').execute();
    },
    update(clientId: string, changes: { metadata?: Record<string, unknown>; sealedSecret?: string; consumerId?: string; firstParty?: boolean }, now: Date) {
      return db.updateTable('oauth_clients').set({
        ...(changes.metadata ? { metadata: JSON.stringify(changes.metadata) } : {}),
        ...(changes.sealedSecret ? { sealed_secret: changes.sealedSecret } : {}),
        ...(changes.consumerId ? { consumer_id: changes.consumerId } : {}),
        ...(changes.firstParty !== undefined ? { first_party: changes.firstParty } : {}),
        updated_at: now,
      }).where('client_id', '=', clientId).executeTakeFirst();
    },
    delete(clientId: string) {
      return db.deleteFrom('oauth_clients').where('client_id', '=', clientId).execute();
    },
  };
}
