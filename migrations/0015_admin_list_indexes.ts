import type { Kysely } from 'kysely';

// The administrator's unfiltered lists, newest first: every developer, every application, every
// subscription. Without these, a page sorted the whole table (about 200 ms at 100,000 rows).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('accounts_role_created_idx').on('accounts').columns(['role', 'created_at', 'id']).execute();
  await db.schema.createIndex('applications_created_idx').on('applications').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('subscriptions_created_idx').on('subscriptions').columns(['created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of ['accounts_role_created_idx', 'applications_created_idx', 'subscriptions_created_idx']) await db.schema.dropIndex(name).execute();
}
