import type { Kysely } from 'kysely';

// Tenant clients: an application installed into an organization gets an OAuth client of its own
// there, which carries the tenant through codes, grants and refresh tokens. The client belongs to
// the install: uninstalling, or deleting the organization or the application, deletes it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('oauth_clients')
    .addColumn('install_id', 'uuid', (c) => c.references('app_installs.id').onDelete('cascade').unique())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('oauth_clients').dropColumn('install_id').execute();
}
