import type { Kysely } from 'kysely';
import { ConfigError } from '../config/index.js';
import { keyedHash, safeEqual } from '../crypto/tokens.js';
import type { Database } from './types.js';

/**
 * The database remembers a check value of the PORTICO_SECRET it was first sealed with; starting
 * with another secret would make every sealed value unreadable, so it is refused.
 */
export async function assertSameSecret(db: Kysely<Database>, checkKey: Buffer): Promise<void> {
  const expected = keyedHash(checkKey, 'portico-secret-check');
  await db.insertInto('instance').values({ secret_check: expected }).onConflict((oc) => oc.column('id').doNothing()).execute();
  const row = await db.selectFrom('instance').select('secret_check').executeTakeFirstOrThrow();
  if (!safeEqual(row.secret_check, expected)) {
    throw new ConfigError(
      'PORTICO_SECRET: does not match the secret this database was first sealed with. ' +
      'Start with the original PORTICO_SECRET (every node of one database must share it).',
    );
  }
}
