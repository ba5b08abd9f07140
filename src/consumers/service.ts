import type { Kysely } from 'kysely';
import type { ConsumerRow, Database } from '../db/types.js';
import { NotFound } from '../http/errors.js';
import { createConsumerQueries } from './queries.js';

export const DEFAULT_CONSUMER_NAME = 'default';

export function renderConsumer(row: ConsumerRow) {
  return { id: row.id, name: row.name, description: row.description, isDefault: row.is_default, createdAt: row.created_at.toISOString() };
}

export function createConsumerService(db: Kysely<Database>) {
  return {
    /** Every account gets one, in the transaction that creates the account. */
    createDefault(trx: Kysely<Database>, accountId: string) {
      return createConsumerQueries(trx).insert({ accountId, name: DEFAULT_CONSUMER_NAME, isDefault: true });
    },
    /** The owner's consumer by id, or the owner's default consumer; another owner's is not found. */
    async resolveOwned(accountId: string, id?: string) {
      const queries = createConsumerQueries(db);
      const row = id ? await queries.findOwned(accountId, id) : await queries.defaultOf(accountId);
      if (!row) throw new NotFound('consumer');
      return renderConsumer(row);
    },
    async listOfAccount(accountId: string) {
      return (await createConsumerQueries(db).listOfAccount(accountId)).map(renderConsumer);
    },
  };
}
export type ConsumerService = ReturnType<typeof createConsumerService>;
