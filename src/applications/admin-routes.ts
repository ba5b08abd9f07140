import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { idParams } from '../http/validate.js';
import type { ApplicationService } from './service.js';

const adminApplicationBody = z.strictObject({ firstParty: z.boolean() });

/** /api/v1/admin/applications. Mounted behind requireSession + requireAdmin. */
export function mountApplicationAdminRoutes(api: ApiRegistrar, applications: ApplicationService): void {
  api.patch('/api/v1/admin/applications/:id', { summary: 'Mark an application first-party (it skips consent)', params: idParams, body: adminApplicationBody },
    ({ params, body }, ctx) => applications.setFirstParty(actorOf(ctx), params.id, body.firstParty));
}
