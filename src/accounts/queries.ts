import { sql, type Kysely } from 'kysely';
import type { AccountRole, AccountStatus, Database } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';

/** Statements over `db`: the pool, or a transaction when called with `trx`. */
export function createAccountQueries(db: Kysely<Database>) {
  return {
    insert(values: { username: string; email: string | null; emailVerified?: boolean; passwordHash: string | null; role: AccountRole; status: AccountStatus }) {
      return db.insertInto('accounts')
        .values({ username: values.username, email: values.email, email_verified: values.emailVerified, password_hash: values.passwordHash, role: values.role, status: values.status })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    findByUsername(username: string) {
      return db.selectFrom('accounts').selectAll().where(sql`lower(username)`, '=', username.toLowerCase()).executeTakeFirst();
    },
    findById(id: string) {
      return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** Locks the row for a status change, so two admins cannot race one transition. */
    findForUpdate(id: string) {
      return db.selectFrom('accounts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    anyAdmin() {
      return db.selectFrom('accounts').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst();
    },
    setStatus(id: string, status: AccountStatus, reason: string | null, now: Date) {
      return db.updateTable('accounts').set({ status, status_reason: reason, updated_at: now })
        .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
    setPasswordHash(id: string, passwordHash: string) {
      return db.updateTable('accounts').set({ password_hash: passwordHash }).where('id', '=', id).execute();
    },
    usernamesByIds(ids: string[]) {
      return ids.length ? db.selectFrom('accounts').select(['id', 'username']).where('id', 'in', ids).execute() : Promise.resolve([]);
    },
    listDevelopers(filter: { status?: AccountStatus; cursor?: Cursor; limit: number }) {
      let query = db.selectFrom('accounts').selectAll().where('role', '=', 'developer');
      if (filter.status) query = query.where('status', '=', filter.status);
      return keysetPage(query, filter, { at: 'created_at', id: 'id' }).execute();
    },
  };
}

export function createSessionQueries(db: Kysely<Database>) {
  return {
    insert(values: { tokenHash: string; accountId: string; expiresAt: Date; ip: string | null; userAgent: string | null }) {
      return db.insertInto('sessions')
        .values({ token_hash: values.tokenHash, account_id: values.accountId, expires_at: values.expiresAt, ip: values.ip, user_agent: values.userAgent })
        .returning(['id', 'expires_at'])
        .executeTakeFirstOrThrow();
    },
    /** The live session of a token hash with its account, in one query. */
    findLive(tokenHash: string, now: Date) {
      return db.selectFrom('sessions')
        .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
        .select(['sessions.id as session_id', 'sessions.expires_at', 'accounts.id', 'accounts.username', 'accounts.email',
          'accounts.role', 'accounts.status'])
        .where('sessions.token_hash', '=', tokenHash)
        .where('sessions.expires_at', '>', now)
        .executeTakeFirst();
    },
    delete(id: string) {
      return db.deleteFrom('sessions').where('id', '=', id).execute();
    },
    deleteOfAccount(accountId: string) {
      return db.deleteFrom('sessions').where('account_id', '=', accountId).executeTakeFirst();
    },
    deleteExpired(now: Date) {
      return db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
    },
  };
}
