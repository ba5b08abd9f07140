import { sql, type Kysely } from 'kysely';

// Dynamic client registration (RFC 7591): clients that registered themselves, the consumer each
// user chose for one at consent, and the initial access tokens administrators hand out.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Set for a client that registered itself; it has no application until a developer claims it.
  await db.schema.alterTable('oauth_clients').addColumn('registered_at', sql`timestamptz(3)`).execute();
  // The unclaimed ones are swept after a day.
  await sql`create index oauth_clients_unclaimed_idx on oauth_clients (registered_at) where application_id is null and registered_at is not null`.execute(db);

  // Whose consumer pays for a user's calls through a registered client (chosen on the consent page).
  await db.schema.createTable('client_consumers')
    .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.client_id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('consumer_id', 'uuid', (c) => c.notNull().references('consumers.id').onDelete('cascade'))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('client_consumers_pkey', ['client_id', 'account_id'])
    .execute();

  await db.schema.createTable('registration_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    // A keyed hash of the token: the token itself is shown once, when issued.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', sql`timestamptz(3)`, (c) => c.notNull())
    .addColumn('registrations', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('registration_tokens').execute();
  await db.schema.dropTable('client_consumers').execute();
  await db.schema.alterTable('oauth_clients').dropColumn('registered_at').execute();
}
