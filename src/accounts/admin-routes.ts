import type Router from '@koa/router';
import { z } from 'zod';
import { idParams, reasonBody, validate } from '../http/validate.js';
import { actorOf } from '../http/session.js';
import { developerListQuery } from './schemas.js';
import type { AccountService } from './service.js';

const moderationParams = idParams.extend({ action: z.enum(['approve', 'reject', 'ban', 'unban']) });

/** /api/v1/admin/developers: the moderation queue. Mounted behind requireSession + requireAdmin. */
export function mountAccountAdminRoutes(router: Router, accounts: AccountService): void {
  router.get('/api/v1/admin/developers', async (ctx) => {
    const { query } = validate(ctx, { query: developerListQuery });
    ctx.body = await accounts.listDevelopers(query);
  });

  router.post('/api/v1/admin/developers/:id/:action', async (ctx) => {
    const { params, body } = validate(ctx, { params: moderationParams, body: reasonBody });
    // Every action may say why (kept in the audit log); reject and ban show the reason to the developer.
    ctx.body = await accounts.moderate(actorOf(ctx), params.id, params.action, body?.reason);
  });
}
