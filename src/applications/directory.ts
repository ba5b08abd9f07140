import type { Kysely } from 'kysely';
import type { Database } from '../db/types.js';
import { createApplicationQueries } from './queries.js';

/**
 * What other domains may read of applications (organizations install them), whoever owns them.
 * Separate from the application service, which needs the provider and is built after the others.
 */
export function createApplicationDirectory(db: Kysely<Database>) {
  const queries = createApplicationQueries(db);
  return {
    async find(id: string): Promise<{ id: string; name: string; clientId: string; registered: boolean } | undefined> {
      const row = await queries.findById(id);
      return row ? { id: row.id, name: row.name, clientId: row.client_id, registered: row.registered_at !== null } : undefined;
    },
    async namesByIds(ids: string[]): Promise<Map<string, string>> {
      return new Map((await queries.namesByIds([...new Set(ids)])).map((r) => [r.id, r.name]));
    },
  };
}
export type ApplicationDirectory = ReturnType<typeof createApplicationDirectory>;
