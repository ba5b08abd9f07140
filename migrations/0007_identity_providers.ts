import { sql, type Kysely } from 'kysely';

// Enterprise identity providers (upstream OpenID providers) and the accounts linked to them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('identity_providers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // Part of the redirect URI registered upstream ($ISSUER/sso/<slug>/callback), so it never changes.
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    // AES-GCM sealed, bound to this row; never returned.
    .addColumn('sealed_client_secret', 'text', (c) => c.notNull())
    .addColumn('scopes', 'jsonb', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    // Empty: any address; otherwise the only domains this provider may sign in.
    .addColumn('email_domains', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('identity_providers_created_idx').on('identity_providers').columns(['created_at', 'id']).execute();

  // An account is found by (provider, subject) only, never by email. A provider with linked
  // accounts cannot be deleted (they would lose their only way in): disable it instead.
  await db.schema.createTable('federated_identities')
    .addColumn('provider_id', 'uuid', (c) => c.notNull().references('identity_providers.id').onDelete('restrict'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('federated_identities_pkey', ['provider_id', 'subject'])
    .execute();
  await db.schema.createIndex('federated_identities_account_idx').on('federated_identities').column('account_id').execute();

  // True only when an enterprise provider vouched for the address (the ID token's email_verified).
  await db.schema.alterTable('accounts').addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('accounts').dropColumn('email_verified').execute();
  await db.schema.dropTable('federated_identities').execute();
  await db.schema.dropTable('identity_providers').execute();
}
