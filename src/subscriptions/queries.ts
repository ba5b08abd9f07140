import type { Kysely } from 'kysely';
import type { Database, SubscriptionStatus } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';

export interface SubscriptionFilter { accountId?: string; consumerId?: string; status?: SubscriptionStatus; cursor?: Cursor; limit: number }

export function createSubscriptionQueries(db: Kysely<Database>) {
  return {
    insert(values: { accountId: string; consumerId: string; productId: string; status: SubscriptionStatus }) {
      return db.insertInto('subscriptions')
        .values({ account_id: values.accountId, consumer_id: values.consumerId, product_id: values.productId, status: values.status })
        .returningAll().executeTakeFirstOrThrow();
    },
    findLive(consumerId: string, productId: string) {
      return db.selectFrom('subscriptions').selectAll().where('consumer_id', '=', consumerId).where('product_id', '=', productId)
        .where('status', 'in', ['pending', 'approved']).executeTakeFirst();
    },
    findForUpdate(id: string) {
      return db.selectFrom('subscriptions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    list(filter: SubscriptionFilter) {
      let query = db.selectFrom('subscriptions').selectAll();
      if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
      if (filter.consumerId) query = query.where('consumer_id', '=', filter.consumerId);
      if (filter.status) query = query.where('status', '=', filter.status);
      return keysetPage(query, filter, { at: 'created_at', id: 'id' }).execute();
    },
    /** Cancels the live subscriptions of a consumer or of a product; returns them as they were. */
    cancelLive(of: { consumerId: string } | { productId: string }, now: Date) {
      let query = db.updateTable('subscriptions').set({ status: 'cancelled', updated_at: now }).where('status', 'in', ['pending', 'approved']);
      query = 'consumerId' in of ? query.where('consumer_id', '=', of.consumerId) : query.where('product_id', '=', of.productId);
      return query.returning(['id', 'consumer_id', 'product_id']).execute();
    },
    setStatus(id: string, status: SubscriptionStatus, reason: string | null, now: Date) {
      return db.updateTable('subscriptions').set({ status, reason, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
  };
}
