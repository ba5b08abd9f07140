import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';

export function createApplicationQueries(db: Kysely<Database>) {
  const withClient = () => db.selectFrom('applications')
    .innerJoin('oauth_clients', 'oauth_clients.application_id', 'applications.id')
    .selectAll('applications')
    .select(['oauth_clients.client_id', 'oauth_clients.metadata', 'oauth_clients.first_party']);
  return {
    insert(values: { accountId: string; consumerId: string; name: string }) {
      return db.insertInto('applications').values({ account_id: values.accountId, consumer_id: values.consumerId, name: values.name })
        .returningAll().executeTakeFirstOrThrow();
    },
    /** The application of an owner, with its client (another owner's is not found). */
    findOwned(accountId: string, id: string) {
      return withClient().where('applications.id', '=', id).where('applications.account_id', '=', accountId).executeTakeFirst();
    },
    listOwned(accountId: string, filter: { cursor?: Cursor; limit: number }) {
      const query = withClient().where('applications.account_id', '=', accountId);
      return keysetPage(query, filter, { at: 'applications.created_at', id: 'applications.id' }).execute();
    },
    findById(id: string) {
      return withClient().where('applications.id', '=', id).executeTakeFirst();
    },
    rename(id: string, name: string, now: Date) {
      return db.updateTable('applications').set({ name, updated_at: now }).where('id', '=', id).execute();
    },
    delete(id: string) {
      return db.deleteFrom('applications').where('id', '=', id).execute();
    },
  };
}
export type ApplicationWithClient = NonNullable<Awaited<ReturnType<ReturnType<typeof createApplicationQueries>['findOwned']>>>;
