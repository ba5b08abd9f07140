import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';

export function createSettingsQueries(db: Kysely<Database>) {
  return {
    all() {
      return db.selectFrom('settings').select(['key', 'value']).execute();
    },
    upsert(key: string, value: unknown, now: Date) {
      return db.insertInto('settings')
        .values({ key, value: JSON.stringify(value), updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: now }))
        .execute();
    },
  };
}
