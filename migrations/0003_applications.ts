import { sql, type Kysely } from 'kysely';

// Applications (developer-owned OAuth clients with a stage and a quota) and the OAuth clients
// the provider serves, kept apart: one application has one client now, tenant installs and
// dynamically registered clients add more later.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('applications')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('consumer_id', 'uuid', (c) => c.notNull().references('consumers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull().defaultTo('development').check(sql`stage in ('development', 'review', 'online')`))
    .addColumn('daily_quota', 'integer', (c) => c.notNull().defaultTo(5000))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('applications_account_idx').on('applications').columns(['account_id', 'created_at', 'id']).execute();

  await db.schema.createTable('oauth_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'uuid', (c) => c.references('applications.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('consumer_id', 'uuid', (c) => c.references('consumers.id').onDelete('cascade'))
    .addColumn('metadata', 'jsonb', (c) => c.notNull())
    .addColumn('sealed_secret', 'text')
    // A first-party client skips the consent page (an admin's decision).
    .addColumn('first_party', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('oauth_clients_application_idx').on('oauth_clients').column('application_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oauth_clients').execute();
  await db.schema.dropTable('applications').execute();
}
