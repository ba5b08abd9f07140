import type { Kysely } from 'kysely';
import type { Cursor } from '../http/pagination.js';
import type { Database, NewAuditEvent } from '../db/types.js';
import { keysetPage } from '../db/keyset.js';

export interface AuditFilter { action?: string; actorId?: string; targetType?: string; targetId?: string; since?: Date; until?: Date; cursor?: Cursor; limit: number }

export function createAuditQueries(db: Kysely<Database>) {
  return {
    insert(event: NewAuditEvent) {
      return db.insertInto('audit_events').values(event).execute();
    },
    list(filter: AuditFilter) {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
      if (filter.targetType) query = query.where('target_type', '=', filter.targetType);
      if (filter.targetId) query = query.where('target_id', '=', filter.targetId);
      if (filter.since) query = query.where('occurred_at', '>=', filter.since);
      if (filter.until) query = query.where('occurred_at', '<', filter.until);
      return keysetPage(query, filter, { at: 'occurred_at', id: 'id' }).execute();
    },
  };
}
