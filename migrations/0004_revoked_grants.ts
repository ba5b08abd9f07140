import { sql, type Kysely } from 'kysely';

// Grants revoked while JWT access tokens of theirs may still be alive (JWTs are not stored).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('revoked_grants')
    .addColumn('grant_id', 'text', (c) => c.primaryKey())
    .addColumn('revoked_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', sql`timestamptz(3)`, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('revoked_grants_expires_idx').on('revoked_grants').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('revoked_grants').execute();
}
