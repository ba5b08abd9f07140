import { sql, type Kysely } from 'kysely';
import { ConfigError } from '../config/index.js';
import { keyedHash, safeEqual } from '../crypto/tokens.js';
import type { Database } from './types.js';

/**
 * The database remembers a check value of the PORTICO_SECRET it was first sealed with; starting
 * with another secret would make every sealed value unreadable, so it is refused. Checked before
 * migrating (nothing is changed under a wrong secret) and recorded after (on a new database).
 */
/** What the database keeps to recognise its PORTICO_SECRET (exported for the bench's scale seed). */
export function checkValue(checkKey: Buffer): string {
  return keyedHash(checkKey, 'portico-secret-check');
}

export async function assertSameSecret(db: Kysely<Database>, checkKey: Buffer): Promise<void> {
  const table = await sql<{ name: string | null }>`select to_regclass('instance')::text as name`.execute(db);
  if (!table.rows[0]?.name) return; // a new database: nothing sealed yet
  const row = await db.selectFrom('instance').select('secret_check').executeTakeFirst();
  if (row && !safeEqual(row.secret_check, checkValue(checkKey))) {
    throw new ConfigError(
      'PORTICO_SECRET: does not match the secret this database was first sealed with. ' +
      'Start with the original PORTICO_SECRET (every node of one database must share it).',
    );
  }
}

export async function recordSecret(db: Kysely<Database>, checkKey: Buffer): Promise<void> {
  await db.insertInto('instance').values({ secret_check: checkValue(checkKey) }).onConflict((oc) => oc.column('id').doNothing()).execute();
  await assertSameSecret(db, checkKey); // another node may have sealed it first
}
