import type { Kysely } from 'kysely';
import { createAccountQueries } from '../accounts/queries.js';
import type { AccountService } from '../accounts/service.js';
import type { Database } from '../db/types.js';
import { NotFound } from '../http/errors.js';

/**
 * The accounts organizations need: active accounts by id or username, and usernames for lists.
 * The account service has no lookup by username yet, so that one reads through the accounts
 * domain's own query (no SQL of ours on its table); it belongs in the account service.
 */
export function createAccountLookup(db: Kysely<Database>, accounts: AccountService) {
  return {
    /** An active account; any other (pending, banned, unknown) is not found. */
    async requireActive(ref: { accountId?: string; username?: string }): Promise<{ id: string; username: string }> {
      const found = ref.accountId !== undefined
        ? await accounts.findActive(ref.accountId)
        : await createAccountQueries(db).findByUsername(ref.username ?? '');
      if (!found || found.status !== 'active') throw new NotFound('account');
      return { id: found.id, username: found.username };
    },
    usernamesByIds: (ids: string[]) => accounts.usernamesByIds(ids),
  };
}
export type AccountLookup = ReturnType<typeof createAccountLookup>;
