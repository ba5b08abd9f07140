import type { Kysely } from 'kysely';
import type { Actor } from '../context.js';
import type { AuditEventRow, Database } from '../db/types.js';
import { toPage, type Page } from '../http/pagination.js';
import { createAuditQueries, type AuditFilter } from './queries.js';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: string | null;
  details?: Record<string, unknown>;
}

export function renderAuditEvent(row: AuditEventRow) {
  return {
    id: row.id,
    occurredAt: row.occurred_at.toISOString(),
    action: row.action,
    actorId: row.actor_id,
    actorIp: row.actor_ip,
    targetType: row.target_type,
    targetId: row.target_id,
    details: row.details,
    requestId: row.request_id,
  };
}
export type AuditEvent = ReturnType<typeof renderAuditEvent>;

export function createAuditService(db: Kysely<Database>) {
  const queries = createAuditQueries(db);
  return {
    /** Writes through the caller's transaction, so the event exists exactly when the change does. */
    record(trx: Kysely<Database>, actor: Actor, entry: AuditEntry): Promise<unknown> {
      return createAuditQueries(trx).insert({
        actor_id: actor.accountId,
        actor_ip: actor.ip,
        request_id: actor.requestId,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        details: JSON.stringify(entry.details ?? {}),
      });
    },
    async list(filter: AuditFilter): Promise<Page<AuditEvent>> {
      const rows = await queries.list(filter);
      return toPage(rows, filter.limit, (r) => ({ at: r.occurred_at, id: r.id }), renderAuditEvent);
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
