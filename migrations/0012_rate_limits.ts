import type { Kysely } from 'kysely';

// Counters of rate-limiter-flexible's PostgreSQL store (its own schema: key, points, expire in
// epoch milliseconds), shared by every node. Created here rather than by the library at start,
// so two nodes starting at once do not race to create it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('rate_limits')
    .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expire', 'bigint')
    .execute();
  // The library deletes expired rows every 5 minutes by `expire`.
  await db.schema.createIndex('rate_limits_expire_idx').on('rate_limits').column('expire').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
