import type Router from '@koa/router';
import { z } from 'zod';
import { actorOf } from '../http/session.js';
import { idParams, validate } from '../http/validate.js';
import type { ApplicationService } from './service.js';

const adminApplicationBody = z.strictObject({ firstParty: z.boolean() });

/** /api/v1/admin/applications. Mounted behind requireSession + requireAdmin. */
export function mountApplicationAdminRoutes(router: Router, applications: ApplicationService): void {
  router.patch('/api/v1/admin/applications/:id', async (ctx) => {
    const { params, body } = validate(ctx, { params: idParams, body: adminApplicationBody });
    ctx.body = await applications.setFirstParty(actorOf(ctx), params.id, body.firstParty);
  });
}
