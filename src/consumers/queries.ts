import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

export function createConsumerQueries(db: Kysely<Database>) {
  return {
    insert(values: { accountId: string; name: string; description?: string | null; isDefault: boolean }) {
      return db.insertInto('consumers')
        .values({ account_id: values.accountId, name: values.name, description: values.description ?? null, is_default: values.isDefault })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    findOwned(accountId: string, id: string) {
      return db.selectFrom('consumers').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    },
    defaultOf(accountId: string) {
      return db.selectFrom('consumers').selectAll().where('account_id', '=', accountId).where('is_default', '=', true).executeTakeFirst();
    },
    listOfAccount(accountId: string) {
      return db.selectFrom('consumers').selectAll().where('account_id', '=', accountId)
        .orderBy('created_at').orderBy('id').execute();
    },
  };
}
