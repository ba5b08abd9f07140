import type { AuditService } from '../audit/service.js';
import type { RateLimits } from '../rate-limits/service.js';
import type { Actor, AppContext } from '../context.js';
import { passwordNeedsRehash, hashPassword, verifyAgainstDummy, verifyPassword } from '../crypto/passwords.js';
import { keyedHash, randomToken, safeEqual } from '../crypto/tokens.js';
import { AccountNotActive, InvalidCredentials } from '../http/errors.js';
import { createAccountQueries, createSessionQueries } from './queries.js';
import { renderAccount, type Account } from './service.js';

/** Sessions last 12 hours (api.md section 4). */
export const SESSION_TTL_SECONDS = 43_200;

export interface Session { id: string; account: Account; expiresAt: Date }

export function createSessionService(ctx: AppContext, deps: { audit: AuditService; rateLimits: RateLimits }) {
  const accounts = createAccountQueries(ctx.db);
  const sessions = createSessionQueries(ctx.db);
  const hashToken = (token: string) => keyedHash(ctx.keys.sessionToken, token);
  const csrfTokenOf = (sessionId: string) => keyedHash(ctx.keys.csrf, sessionId);

  return {
    /**
     * Verifies the password first and only then tells the account's status, so usernames cannot
     * be probed: an unknown user costs the same argon2 verification as a wrong password. Every
     * password login (API, portal form, authorization flow) passes here, so here it is rate
     * limited: per username and per address, unknown usernames like known ones (RateLimited).
     */
    async verifyCredentials(username: string, password: string, actor: Actor): Promise<Account> {
      const attempt = await deps.rateLimits.beginLogin(actor, username);
      const account = await accounts.findByUsername(username);
      const verified = account?.password_hash
        ? await verifyPassword(account.password_hash, password)
        : await verifyAgainstDummy(password);
      if (!account || !verified) {
        await attempt.failed(actor, account?.id);
        ctx.log.info('login refused: invalid credentials');
        throw new InvalidCredentials();
      }
      await attempt.succeeded();
      if (account.status !== 'active') throw new AccountNotActive(account.status, account.status_reason);
      if (account.password_hash && passwordNeedsRehash(account.password_hash)) {
        await accounts.setPasswordHash(account.id, await hashPassword(password));
      }
      return renderAccount(account);
    },

    async login(actor: Actor & { userAgent: string | null }, username: string, password: string) {
      return this.open(actor, await this.verifyCredentials(username, password, actor));
    },

    /** A new session for an account already authenticated (password, or enterprise SSO with `details`). */
    async open(actor: Actor & { userAgent: string | null }, account: Account, details?: Record<string, unknown>) {
      const token = randomToken('pst_');
      const expiresAt = new Date(ctx.clock.now().getTime() + SESSION_TTL_SECONDS * 1000);
      const session = await ctx.db.transaction().execute(async (trx) => {
        const created = await createSessionQueries(trx).insert({ tokenHash: hashToken(token), accountId: account.id, expiresAt, ip: actor.ip, userAgent: actor.userAgent?.slice(0, 500) ?? null });
        await deps.audit.record(trx, { ...actor, accountId: account.id }, { action: 'session.created', targetType: 'account', targetId: account.id, details });
        return created;
      });
      return { token, expiresIn: SESSION_TTL_SECONDS, account, csrfToken: csrfTokenOf(session.id), sessionId: session.id };
    },

    /** The live session of a token, or undefined; an account that is not active has none. */
    async authenticate(token: string): Promise<Session | undefined> {
      if (token.length > 200) return undefined;
      const row = await sessions.findLive(hashToken(token), ctx.clock.now());
      if (!row || row.status !== 'active') return undefined;
      return { id: row.session_id, account: renderAccount(row), expiresAt: row.expires_at };
    },

    async logout(actor: Actor, session: Session): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        await createSessionQueries(trx).delete(session.id);
        await deps.audit.record(trx, actor, { action: 'session.ended', targetType: 'account', targetId: session.account.id });
      });
    },

    csrfToken: csrfTokenOf,

    verifyCsrf(sessionId: string, presented: string): boolean {
      return safeEqual(csrfTokenOf(sessionId), presented);
    },

    async sweepExpired(): Promise<number> {
      return Number((await sessions.deleteExpired(ctx.clock.now())).numDeletedRows);
    },
  };
}
export type SessionService = ReturnType<typeof createSessionService>;
