import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/** Reads the consumer a user chose for a registered client (their tokens carry it). */
export function createClientConsumerQueries(db: Kysely<Database>) {
  return {
    chosen(clientId: string, accountId: string) {
      return db.selectFrom('client_consumers').select('consumer_id').where('client_id', '=', clientId).where('account_id', '=', accountId).executeTakeFirst();
    },
  };
}
