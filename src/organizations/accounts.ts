import type { AccountService } from '../accounts/service.js';
import { NotFound } from '../http/errors.js';

/** The accounts organizations need: active accounts by id or username, and usernames for lists. */
export function createAccountLookup(accounts: AccountService) {
  return {
    /** An active account; any other (pending, banned, unknown) is not found. */
    async requireActive(ref: { accountId?: string; username?: string }): Promise<{ id: string; username: string }> {
      const found = ref.accountId !== undefined ? await accounts.findActive(ref.accountId) : await accounts.findByUsername(ref.username ?? '');
      if (found?.status !== 'active') throw new NotFound('account');
      return { id: found.id, username: found.username };
    },
    usernamesByIds: (ids: string[]) => accounts.usernamesByIds(ids),
  };
}
export type AccountLookup = ReturnType<typeof createAccountLookup>;
