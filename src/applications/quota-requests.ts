import type { Kysely } from 'kysely';
import type { AccountService } from '../accounts/service.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Database } from '../db/types.js';
import { Conflict, NotFound, QuotaRaiseNotAllowed, ValidationFailed } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { UsageCounter } from '../usage/counter.js';
import { usageReport } from '../usage/report.js';
import { createQuotaRequestQueries, type ApplicationWithClient, type QuotaRequestFilter, type QuotaRequestRow } from './queries.js';

/** A raise can be asked for once today's use reaches this share of the daily quota (api.md section 4). */
export const RAISE_FROM_PERCENT = 80;

const figure = (n: number) => n.toLocaleString('en-US');

/**
 * Today's share of the quota in percent, rounded down to a tenth (79.99 % is not 80 %), and the
 * calls from which a raise can be asked for.
 */
export function raiseFigures(dailyQuota: number, usedToday: number): { share: number; threshold: number } {
  return { share: Math.floor((usedToday * 1000) / dailyQuota) / 10, threshold: Math.ceil((dailyQuota * RAISE_FROM_PERCENT) / 100) };
}

function renderQuotaRequest(row: QuotaRequestRow) {
  return {
    id: row.id, applicationId: row.application_id, dailyQuota: row.requested_quota, previousQuota: row.previous_quota,
    usedToday: row.used_today, reason: row.reason, status: row.status, grantedQuota: row.granted_quota,
    decisionReason: row.decision_reason, createdAt: row.created_at.toISOString(), decidedAt: row.decided_at?.toISOString() ?? null,
  };
}
export type QuotaRequest = ReturnType<typeof renderQuotaRequest>;

/** Why this application may not ask for more now, or undefined when it may. */
function whyNotRaise(app: ApplicationWithClient, usedToday: number): QuotaRaiseNotAllowed | undefined {
  if (app.suspended_at) return new QuotaRaiseNotAllowed('A suspended application\'s quota cannot be raised.');
  if (app.stage !== 'online') {
    const next = app.stage === 'development' ? 'go live first' : 'wait for the go-live review';
    return new QuotaRaiseNotAllowed(`A development-stage quota (${figure(app.daily_quota)} calls a day) cannot be raised; ${next}.`, { stage: app.stage });
  }
  // Integers only: 79.99 % must not round up to 80.
  if (usedToday * 100 >= app.daily_quota * RAISE_FROM_PERCENT) return undefined;
  const { share, threshold } = raiseFigures(app.daily_quota, usedToday);
  return new QuotaRaiseNotAllowed(
    `Today's use is ${figure(usedToday)} of ${figure(app.daily_quota)} calls (${share.toFixed(1)} %); a raise can be requested from ${RAISE_FROM_PERCENT} % (${figure(threshold)} calls).`,
    { dailyQuota: app.daily_quota, usedToday, threshold },
  );
}

/** Daily quota raise requests: the owner asks when an online application nears its quota, an admin decides. */
export function createQuotaRequestService(ctx: AppContext, deps: {
  audit: AuditService; accounts: AccountService; usage: UsageCounter;
  owned: (accountId: string, id: string) => Promise<ApplicationWithClient>;
  setDailyQuota: (trx: Kysely<Database>, applicationId: string, dailyQuota: number) => Promise<void>;
}) {
  const queries = createQuotaRequestQueries(ctx.db);

  async function page(filter: QuotaRequestFilter, withNames: boolean) {
    const rows = await queries.list(filter);
    const usernames = withNames ? await deps.accounts.usernamesByIds(rows.map((r) => r.account_id)) : new Map<string, string>();
    return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), (row) => ({
      ...renderQuotaRequest(row),
      ...(withNames ? { applicationName: row.application_name, accountId: row.account_id, username: usernames.get(row.account_id) ?? null } : {}),
    }));
  }

  /** Admin: decides a pending request in one transaction with its audit event. */
  async function decide(actor: Actor, id: string, apply: (current: QuotaRequestRow, trx: Kysely<Database>) => Promise<{ action: string; row: QuotaRequestRow; details: Record<string, unknown> }>) {
    const row = await ctx.db.transaction().execute(async (trx) => {
      const current = await createQuotaRequestQueries(trx).findForUpdate(id);
      if (!current) throw new NotFound('quota request');
      if (current.status !== 'pending') throw new Conflict(`Only a pending quota request can be decided; this one is ${current.status}.`, { quotaRequestStatus: current.status });
      const { action, row: decided, details } = await apply(current, trx);
      await deps.audit.record(trx, actor, { action, targetType: 'quota_request', targetId: id, details: { applicationId: current.application_id, ...details } });
      return decided;
    });
    return renderQuotaRequest(row);
  }

  return {
    /** The owner asks for more; allowed only online, not suspended, and from 80 % of today's quota. */
    async create(actor: Actor & { accountId: string }, applicationId: string, input: { dailyQuota: number; reason: string }): Promise<QuotaRequest> {
      const app = await deps.owned(actor.accountId, applicationId);
      const { today } = await usageReport(deps.usage, { kind: 'application', id: app.id }, app.daily_quota, 1, ctx.clock.now());
      const refusal = whyNotRaise(app, today);
      if (refusal) throw refusal;
      if (input.dailyQuota <= app.daily_quota) {
        throw new ValidationFailed([{ path: 'body.dailyQuota', message: `must be more than the current daily quota (${figure(app.daily_quota)})` }]);
      }
      try {
        const row = await ctx.db.transaction().execute(async (trx) => {
          const created = await createQuotaRequestQueries(trx).insert({ applicationId: app.id, requestedQuota: input.dailyQuota, previousQuota: app.daily_quota, usedToday: today, reason: input.reason });
          await deps.audit.record(trx, actor, {
            action: 'quota_request.created', targetType: 'quota_request', targetId: created.id,
            details: { applicationId: app.id, dailyQuota: input.dailyQuota, previousQuota: app.daily_quota, usedToday: today },
          });
          return created;
        });
        return renderQuotaRequest(row);
      } catch (err) {
        if (isUniqueViolation(err, 'quota_requests_open_key')) {
          // The partial unique index holds one open request per application, races included.
          const open = await queries.findOpen(app.id);
          throw new Conflict('This application already has an open quota request.', open ? { quotaRequest: renderQuotaRequest(open) } : {});
        }
        throw err;
      }
    },

    /** The owner's requests for one application, newest first. */
    async listOwned(accountId: string, applicationId: string, filter: { cursor?: Cursor; limit: number }) {
      await deps.owned(accountId, applicationId);
      return page({ ...filter, applicationId }, false);
    },

    /** Admin: every request, by status, with the application's name and the owner's username. */
    list(filter: QuotaRequestFilter) {
      return page(filter, true);
    },

    /** Admin: grants the requested figure, or another one, and sets the application's quota with it. */
    approve(actor: Actor, id: string, dailyQuota?: number): Promise<QuotaRequest> {
      return decide(actor, id, async (current, trx) => {
        const granted = dailyQuota ?? current.requested_quota;
        await deps.setDailyQuota(trx, current.application_id, granted);
        const row = await createQuotaRequestQueries(trx).decide(id, { status: 'approved', granted_quota: granted }, ctx.clock.now());
        return { action: 'quota_request.approved', row, details: { requested: current.requested_quota, granted } };
      });
    },

    /** Admin: refuses a request; the reason shows to the owner. */
    reject(actor: Actor, id: string, reason?: string): Promise<QuotaRequest> {
      return decide(actor, id, async (_current, trx) => {
        const row = await createQuotaRequestQueries(trx).decide(id, { status: 'rejected', decision_reason: reason ?? null }, ctx.clock.now());
        return { action: 'quota_request.rejected', row, details: reason ? { reason } : {} };
      });
    },
  };
}
export type QuotaRequestService = ReturnType<typeof createQuotaRequestService>;
