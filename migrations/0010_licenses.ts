import { sql, type Kysely } from 'kysely';

// License activation codes: an administrator issues one for an application installed in an
// organization; the application activates it once, for one instance of its software. The code
// itself is never stored, only its keyed hash (the lookup). Deleting the application or the
// organization deletes its licenses.
export async function up(db: Kysely<unknown>): Promise<void> {
  const at = sql`timestamptz(3)`;
  await db.schema.createTable('licenses')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('seats', 'integer', (c) => c.notNull().check(sql`seats > 0`))
    .addColumn('expires_at', at, (c) => c.notNull())
    // Set once, by a conditional update: the instance that holds the license.
    .addColumn('activated_instance', 'text')
    .addColumn('activated_at', at)
    .addColumn('revoked_at', at)
    .addColumn('created_at', at, (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('licenses_activation_complete', sql`(activated_instance is null) = (activated_at is null)`)
    .execute();
  await db.schema.createIndex('licenses_created_idx').on('licenses').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('licenses_application_idx').on('licenses').columns(['application_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('licenses_organization_idx').on('licenses').columns(['organization_id', 'created_at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('licenses').execute();
}
