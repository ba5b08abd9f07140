import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { AuditService } from '../audit/service.js';
import type { ConsumerService } from '../consumers/service.js';
import type { Actor, AppContext } from '../context.js';
import { hashPassword } from '../crypto/passwords.js';
import { isUniqueViolation } from '../db/errors.js';
import type { AccountRole, AccountRow, AccountStatus, Database } from '../db/types.js';
import { AccountNotActive, Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import { uuid } from '../http/validate.js';
import type { SettingsService } from '../settings/service.js';
import { createAccountQueries, createSessionQueries } from './queries.js';
import { cacheStats } from '../ops/metrics/stats.js';

export function renderAccount(row: Pick<AccountRow, 'id' | 'username' | 'email' | 'status' | 'role'>) {
  return { id: row.id, username: row.username, email: row.email, status: row.status, role: row.role };
}
export type Account = ReturnType<typeof renderAccount>;

function renderAccountForAdmin(row: AccountRow) {
  return { ...renderAccount(row), statusReason: row.status_reason, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

/** Which statuses each moderation action starts from, and where it leads. */
const TRANSITIONS = {
  approve: { from: ['pending', 'rejected'], to: 'active', action: 'account.approved' },
  reject: { from: ['pending'], to: 'rejected', action: 'account.rejected' },
  ban: { from: ['active', 'pending', 'rejected'], to: 'banned', action: 'account.banned' },
  unban: { from: ['banned'], to: 'active', action: 'account.unbanned' },
} as const satisfies Record<string, { from: AccountStatus[]; to: AccountStatus; action: string }>;
export type ModerationAction = keyof typeof TRANSITIONS;

/** Published when an account's standing changes, so every node drops what it cached of it. */
export const ACCOUNT_TOPIC = 'accounts';

export async function createAccountService(ctx: AppContext, deps: { audit: AuditService; consumers: ConsumerService; settings: SettingsService }) {
  const accounts = createAccountQueries(ctx.db);
  // Each account's status, for checks on token and gateway paths; dropped when any node changes it.
  const standing = new LRUCache<string, AccountStatus | 'missing'>({ max: 50_000 });
  const standingStats = cacheStats(() => standing.size);
  await ctx.bus.subscribe(ACCOUNT_TOPIC, (payload) => { standing.delete(String(payload.id)); });
  ctx.bus.onReset(() => standing.clear());

  /**
   * Creates an account and its default consumer in one transaction; `within` adds work to it (the
   * link of a federated account). Slow work (argon2) is done by the caller, before.
   */
  function create(actor: Actor, input: { username: string; passwordHash: string | null; email: string | null; emailVerified?: boolean; role: AccountRole; status: AccountStatus },
    extra: { details?: Record<string, unknown>; within?: (trx: Kysely<Database>, accountId: string) => Promise<void> } = {}) {
    return ctx.db.transaction().execute(async (trx) => {
      const row = await createAccountQueries(trx).insert(input);
      await deps.consumers.createDefault(trx, row.id);
      await extra.within?.(trx, row.id);
      await deps.audit.record(trx, { ...actor, accountId: actor.accountId ?? row.id }, {
        action: input.role === 'admin' ? 'admin.created' : 'account.registered',
        targetType: 'account', targetId: row.id, details: { username: row.username, status: row.status, ...extra.details },
      });
      return row;
    });
  }

  async function createWithPassword(actor: Actor, input: { username: string; password: string; email?: string; role: AccountRole; status: AccountStatus }) {
    if (await accounts.findByUsername(input.username)) throw new Conflict('This username is taken.');
    const passwordHash = await hashPassword(input.password);
    try {
      return await create(actor, { username: input.username, email: input.email ?? null, passwordHash, role: input.role, status: input.status });
    } catch (err) {
      if (isUniqueViolation(err)) throw new Conflict('This username is taken.');
      throw err;
    }
  }

  /** `base`, else `base-2`, `base-3`, ...: the first username nobody has (without regard to case). */
  async function freeUsername(base: string): Promise<string> {
    for (let n = 1; n <= 50; n += 1) {
      const candidate = n === 1 ? base : `${base}-${n}`;
      if (!(await accounts.findByUsername(candidate))) return candidate;
    }
    return `${base}-${randomBytes(4).toString('hex')}`;
  }

  return {
    /** Lookups of the account-standing cache, read by /metrics. */
    standingStats,
    async register(actor: Actor, input: { username: string; password: string; email?: string }): Promise<Account> {
      const { developerApproval } = await deps.settings.get();
      const status = developerApproval === 'manual' ? 'pending' : 'active';
      return renderAccount(await createWithPassword(actor, { ...input, role: 'developer', status }));
    },

    async createAdmin(actor: Actor, input: { username: string; password: string }): Promise<Account> {
      return renderAccount(await createWithPassword(actor, { ...input, role: 'admin', status: 'active' }));
    },

    /** Creates the admin named by PORTICO_ADMIN_USERNAME/PASSWORD when there is no admin yet. */
    async bootstrapAdmin(admin: { username: string; password: string }): Promise<Account | undefined> {
      if (await accounts.anyAdmin()) return undefined;
      return this.createAdmin({ accountId: null, ip: null, requestId: null }, admin);
    },

    /**
     * A federated account (enterprise SSO): active at once, without a password, under the first free
     * username made from `usernameBase` (at most 56 characters, so a suffix fits); `link` records its
     * identity in the same transaction. A username taken meanwhile by another request is retried.
     */
    async createFederated(actor: Actor, input: { usernameBase: string; email: string | null; emailVerified: boolean; details: Record<string, unknown> },
      link: (trx: Kysely<Database>, accountId: string) => Promise<void>): Promise<Account> {
      for (let attempt = 0; ; attempt += 1) {
        const username = await freeUsername(input.usernameBase);
        try {
          const row = await create(actor, { username, email: input.email, emailVerified: input.emailVerified, passwordHash: null, role: 'developer', status: 'active' },
            { details: input.details, within: link });
          return renderAccount(row);
        } catch (err) {
          if (!isUniqueViolation(err, 'accounts_username_key') || attempt >= 5) throw err;
        }
      }
    },

    /** The account of an id when it is active; AccountNotActive (with the reason) otherwise. */
    async requireActive(id: string): Promise<Account> {
      const row = await accounts.findById(id);
      if (!row) throw new NotFound('account');
      if (row.status !== 'active') throw new AccountNotActive(row.status, row.status_reason);
      return renderAccount(row);
    },

    /** True when the account exists and is active (served from memory after the first look). */
    async isActive(accountId: string): Promise<boolean> {
      let status = standing.get(accountId);
      if (status !== undefined) standingStats.hits += 1;
      else {
        standingStats.misses += 1;
        status = (await accounts.findById(accountId))?.status ?? 'missing';
        standing.set(accountId, status);
      }
      return status === 'active';
    },

    /** The account of an id when it is active; undefined for any other id (malformed ones included). */
    async findActive(id: string): Promise<(Account & { emailVerified: boolean }) | undefined> {
      if (!uuid.safeParse(id).success) return undefined;
      const row = await accounts.findById(id);
      return row?.status === 'active' ? { ...renderAccount(row), emailVerified: row.email_verified } : undefined;
    },

    /** The account of a username, whatever its status. */
    async findByUsername(username: string): Promise<Account | undefined> {
      const row = await accounts.findByUsername(username);
      return row ? renderAccount(row) : undefined;
    },

    /** Usernames by account id, for lists that show who owns a record. */
    async usernamesByIds(ids: string[]): Promise<Map<string, string>> {
      return new Map((await accounts.usernamesByIds([...new Set(ids)])).map((r) => [r.id, r.username]));
    },

    async listDevelopers(filter: { status?: AccountStatus; cursor?: Cursor; limit: number }) {
      const rows = await accounts.listDevelopers(filter);
      return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), renderAccountForAdmin);
    },

    /** Approve, reject, ban or unban a developer; a ban ends every session of the account at once. */
    async moderate(actor: Actor, id: string, action: ModerationAction, reason?: string) {
      const transition = TRANSITIONS[action];
      const row = await ctx.db.transaction().execute(async (trx) => {
        const inTrx = createAccountQueries(trx);
        const current = await inTrx.findForUpdate(id);
        if (!current || current.role !== 'developer') throw new NotFound('developer');
        if (!(transition.from as readonly string[]).includes(current.status)) {
          throw new Conflict(`Cannot ${action} an account that is ${current.status}.`, { accountStatus: current.status });
        }
        const keepsReason = action === 'reject' || action === 'ban';
        const updated = await inTrx.setStatus(id, transition.to, keepsReason ? reason ?? null : null, ctx.clock.now());
        const endedSessions = action === 'ban' ? Number((await createSessionQueries(trx).deleteOfAccount(id)).numDeletedRows) : 0;
        await deps.audit.record(trx, actor, {
          action: transition.action, targetType: 'account', targetId: id,
          details: { from: current.status, to: transition.to, ...(reason ? { reason } : {}), ...(action === 'ban' ? { endedSessions } : {}) },
        });
        await ctx.bus.publish(trx, ACCOUNT_TOPIC, { id, status: transition.to });
        return updated;
      });
      standing.delete(id); // at once on this node; the others on the notification
      return renderAccountForAdmin(row);
    },
  };
}
export type AccountService = Awaited<ReturnType<typeof createAccountService>>;
