import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

export function createClientQueries(db: Kysely<Database>) {
  return {
    /** The client with its application's stage, quota and suspension (null for a client without one). */
    find(clientId: string) {
      return db.selectFrom('oauth_clients')
        .leftJoin('applications', 'applications.id', 'oauth_clients.application_id')
        .selectAll('oauth_clients')
        .select(['applications.stage', 'applications.daily_quota', 'applications.suspended_at'])
        .where('client_id', '=', clientId).executeTakeFirst();
    },
    insert(values: { clientId: string; applicationId: string | null; accountId: string | null; consumerId: string | null; metadata: Record<string, unknown>; sealedSecret: string | null }) {
      return db.insertInto('oauth_clients').values({
        client_id: values.clientId, application_id: values.applicationId, account_id: values.accountId,
        consumer_id: values.consumerId, metadata: JSON.stringify(values.metadata), sealed_secret: values.sealedSecret,
      }).execute();
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
