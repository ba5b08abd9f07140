import { sql, type Kysely } from 'kysely';

// oidc-provider's artifacts (one table keyed by model and id) and the signing keys.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('oidc_payloads')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('uid', 'text')
    .addColumn('user_code', 'text')
    .addColumn('expires_at', sql`timestamptz(3)`)
    .addColumn('consumed_at', sql`timestamptz(3)`)
    .addPrimaryKeyConstraint('oidc_payloads_pkey', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_payloads_grant_idx').on('oidc_payloads').columns(['grant_id']).where(sql.ref('grant_id'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_uid_idx').on('oidc_payloads').columns(['model', 'uid']).where(sql.ref('uid'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_user_code_idx').on('oidc_payloads').columns(['model', 'user_code']).where(sql.ref('user_code'), 'is not', null).execute();
  await db.schema.createIndex('oidc_payloads_expires_idx').on('oidc_payloads').columns(['expires_at']).execute();

  await db.schema.createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('sealed_private_jwk', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('next', 'active', 'retired')`))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('activates_at', sql`timestamptz(3)`, (c) => c.notNull())
    .addColumn('retired_at', sql`timestamptz(3)`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('signing_keys').execute();
  await db.schema.dropTable('oidc_payloads').execute();
}
