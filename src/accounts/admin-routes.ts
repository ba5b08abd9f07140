import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { idParams, noBody, reasonBody } from '../http/validate.js';
import { actorOf } from '../http/session.js';
import { developerListQuery } from './schemas.js';
import type { RateLimits } from '../rate-limits/service.js';
import type { AccountService } from './service.js';

const moderationParams = idParams.extend({ action: z.enum(['approve', 'reject', 'ban', 'unban']) });

/** /api/v1/admin/developers: the moderation queue. Mounted behind requireSession + requireAdmin. */
export function mountAccountAdminRoutes(api: ApiRegistrar, accounts: AccountService, rateLimits: RateLimits): void {
  api.get('/api/v1/admin/developers', { summary: 'List developers, by status', query: developerListQuery }, ({ query }) =>
    accounts.listDevelopers(query));

  // Before /:id/:action, which would take "unlock" for an unknown action.
  api.post('/api/v1/admin/developers/:id/unlock', { summary: 'Lift the login lock of an account (failed passwords) and forget its failures', params: idParams, body: noBody },
    ({ params }, ctx) => rateLimits.unlockById(actorOf(ctx), params.id));

  // Every action may say why (kept in the audit log); reject and ban show the reason to the developer.
  api.post('/api/v1/admin/developers/:id/:action', { summary: 'Approve, reject, ban or unban a developer', params: moderationParams, body: reasonBody },
    ({ params, body }, ctx) => accounts.moderate(actorOf(ctx), params.id, params.action, body?.reason));
}
