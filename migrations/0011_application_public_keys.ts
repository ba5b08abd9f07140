import type { Kysely } from 'kysely';

// The merchant's RSA public key (a public JWK), to which tenant client secrets are encrypted.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('applications').addColumn('public_key', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('applications').dropColumn('public_key').execute();
}
