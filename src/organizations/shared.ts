import type { Kysely } from 'kysely';
import type { AuditService } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import type { Database } from '../db/types.js';
import type { Caller, Authorize } from './access.js';
import type { AccountLookup } from './accounts.js';

/** What each part of the organizations service works with. */
export interface OrganizationDeps {
  ctx: AppContext;
  audit: AuditService;
  authorize: Authorize;
  accounts: AccountLookup;
}

/**
 * Runs a change and its audit events in one transaction. A constraint named in `refusals` that
 * refuses the change (unique or foreign key: a duplicate, or a row deleted meanwhile) becomes the
 * error given for it; the database decides, so two requests racing cannot both pass a check.
 */
export async function change<T>(deps: OrganizationDeps, work: (trx: Kysely<Database>, audit: Auditor) => Promise<T>,
  refusals: Record<string, () => Error> = {}): Promise<T> {
  try {
    return await deps.ctx.db.transaction().execute((trx) => work(trx, (caller, action, target, details) =>
      deps.audit.record(trx, caller, { action, targetType: target.type, targetId: target.id, details })));
  } catch (err) {
    const constraint = (err as { constraint?: string } | null)?.constraint;
    const refusal = constraint ? refusals[constraint] : undefined;
    if (refusal && (isUniqueViolation(err) || isForeignKeyViolation(err))) throw refusal();
    throw err;
  }
}

export type Auditor = (caller: Caller, action: string, target: { type: string; id: string }, details: Record<string, unknown>) => Promise<unknown>;

/** Usernames beside account ids, for the lists of members. */
export async function withUsernames<Row extends { account_id: string }>(deps: OrganizationDeps, rows: Row[]) {
  const names = await deps.accounts.usernamesByIds(rows.map((r) => r.account_id));
  return (row: Row) => names.get(row.account_id) ?? null;
}
