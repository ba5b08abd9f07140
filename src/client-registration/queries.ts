import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/** Reads the consumer a user chose for a registered client (their tokens carry it). */
export function createClientConsumerQueries(db: Kysely<Database>) {
  return {
    chosen(clientId: string, accountId: string) {
      return db.selectFrom('client_consumers').select('consumer_id').where('client_id', '=', clientId).where('account_id', '=', accountId).executeTakeFirst();
    },
  };
}

/**
 * Removes oidc-provider's registration access tokens (which never expire) of clients that are
 * gone, however they went. Here, not in oidc/adapter.ts: the CLI's services must not import oidc-provider.
 */
export async function sweepOrphanedRegistrationAccessTokens(db: Kysely<Database>): Promise<void> {
  await db.deleteFrom('oidc_payloads').where('model', '=', 'RegistrationAccessToken')
    .where(({ not, exists, selectFrom, ref }) => not(exists(selectFrom('oauth_clients').select('client_id')
      .where('client_id', '=', sql<string>`${ref('oidc_payloads.payload')}->>'clientId'`))))
    .execute();
}
