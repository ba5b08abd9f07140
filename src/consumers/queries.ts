import type { Kysely } from 'kysely';
import type { CredentialType, Database } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';

export function createConsumerQueries(db: Kysely<Database>) {
  return {
    insert(values: { accountId: string; name: string; description?: string | null; isDefault: boolean }) {
      return db.insertInto('consumers')
        .values({ account_id: values.accountId, name: values.name, description: values.description ?? null, is_default: values.isDefault })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    findById(id: string) {
      return db.selectFrom('consumers').selectAll().where('id', '=', id).executeTakeFirst();
    },
    setDailyQuota(id: string, dailyQuota: number | null) {
      return db.updateTable('consumers').set({ daily_quota: dailyQuota }).where('id', '=', id).execute();
    },
    findOwned(accountId: string, id: string) {
      return db.selectFrom('consumers').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
    },
    defaultOf(accountId: string) {
      return db.selectFrom('consumers').selectAll().where('account_id', '=', accountId).where('is_default', '=', true).executeTakeFirst();
    },
    listOfAccount(accountId: string, page?: { cursor?: Cursor; limit: number }) {
      const query = db.selectFrom('consumers').selectAll().where('account_id', '=', accountId);
      // Oldest first: the default consumer, made with the account, leads.
      return page ? keysetPage(query, page, { at: 'created_at', id: 'id' }, 'asc').execute() : query.orderBy('created_at').orderBy('id').execute();
    },
    namesByIds(ids: string[]) {
      return ids.length ? db.selectFrom('consumers').select(['id', 'name']).where('id', 'in', ids).execute() : Promise.resolve([]);
    },
    /** Locks one consumer of an owner, so it cannot go while a credential is added to it. */
    lockOwned(accountId: string, id: string) {
      return db.selectFrom('consumers').select('id').where('account_id', '=', accountId).where('id', '=', id).forUpdate().executeTakeFirst();
    },
    /** Locks the account's consumers, so two deletions cannot both leave it with none. */
    lockAllOfAccount(accountId: string) {
      return db.selectFrom('consumers').select(['id', 'is_default']).where('account_id', '=', accountId)
        .orderBy('created_at').orderBy('id').forUpdate().execute();
    },
    update(id: string, changes: { name?: string; description?: string | null }) {
      return db.updateTable('consumers').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
    makeDefault(id: string) {
      return db.updateTable('consumers').set({ is_default: true }).where('id', '=', id).execute();
    },
    delete(id: string) {
      return db.deleteFrom('consumers').where('id', '=', id).execute();
    },
  };
}

export function createCredentialQueries(db: Kysely<Database>) {
  return {
    insert(values: { id: string; consumerId: string; type: CredentialType; keyHash: string | null; accessKey: string | null; sealedSecret: string }) {
      return db.insertInto('credentials')
        .values({ id: values.id, consumer_id: values.consumerId, type: values.type, key_hash: values.keyHash, access_key: values.accessKey, sealed_secret: values.sealedSecret })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    listOfConsumer(consumerId: string) {
      return db.selectFrom('credentials').selectAll().where('consumer_id', '=', consumerId).orderBy('created_at').orderBy('id').execute();
    },
    listOfAccount(accountId: string) {
      return db.selectFrom('credentials').innerJoin('consumers', 'consumers.id', 'credentials.consumer_id')
        .selectAll('credentials').where('consumers.account_id', '=', accountId)
        .orderBy('credentials.created_at').orderBy('credentials.id').execute();
    },
    countOfConsumer(consumerId: string) {
      return db.selectFrom('credentials').select((eb) => eb.fn.countAll<string>().as('count')).where('consumer_id', '=', consumerId)
        .executeTakeFirstOrThrow().then((r) => Number(r.count));
    },
    deleteOfConsumer(consumerId: string, id: string) {
      return db.deleteFrom('credentials').where('consumer_id', '=', consumerId).where('id', '=', id).returningAll().executeTakeFirst();
    },
    deleteAllOfConsumer(consumerId: string) {
      return db.deleteFrom('credentials').where('consumer_id', '=', consumerId).returning(['id', 'type', 'key_hash', 'access_key']).execute();
    },
    /** The owner of a credential, found by the keyed hash of an API key or by an access key. */
    findOwner(by: { keyHash: string } | { accessKey: string }) {
      let query = db.selectFrom('credentials')
        .innerJoin('consumers', 'consumers.id', 'credentials.consumer_id')
        .select(['credentials.id as credentialId', 'credentials.type', 'credentials.sealed_secret', 'consumers.id as consumerId', 'consumers.account_id as accountId']);
      query = 'keyHash' in by ? query.where('credentials.key_hash', '=', by.keyHash) : query.where('credentials.access_key', '=', by.accessKey);
      return query.executeTakeFirst();
    },
  };
}
