import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { idParams, reasonBody } from '../http/validate.js';
import { adminApplicationActionParams, adminApplicationListQuery, adminQuotaRequestListQuery, approveQuotaRequestBody } from './schemas.js';
import type { ApplicationService } from './service.js';

const adminApplicationBody = z.strictObject({ firstParty: z.boolean() });

/** /api/v1/admin/applications, /api/v1/admin/quota-requests and the approval queue. Mounted behind requireSession + requireAdmin. */
export function mountApplicationAdminRoutes(api: ApiRegistrar, applications: ApplicationService): void {
  api.get('/api/v1/admin/queue', { summary: 'What waits for an administrator: pending developers and subscriptions, applications in review, pending quota requests (newest first)' },
    () => applications.adminQueue());
  api.get('/api/v1/admin/applications', { summary: 'Applications, by stage and suspension, with their owners', query: adminApplicationListQuery },
    ({ query }) => applications.listAll(query));
  api.patch('/api/v1/admin/applications/:id', { summary: 'Mark an application first-party (it skips consent)', params: idParams, body: adminApplicationBody },
    ({ params, body }, ctx) => applications.setFirstParty(actorOf(ctx), params.id, body.firstParty));
  // Every action may say why (kept in the audit log); reject and suspend show the reason to the owner.
  api.post('/api/v1/admin/applications/:id/:action', { summary: 'Approve or reject a go-live review (review -> online or development), suspend or reinstate an application', params: adminApplicationActionParams, body: reasonBody },
    ({ params, body }, ctx) => applications.moderate(actorOf(ctx), params.id, params.action, body?.reason));

  api.get('/api/v1/admin/quota-requests', { summary: 'Quota raise requests, by status, with the application and its owner', query: adminQuotaRequestListQuery },
    ({ query }) => applications.quotaRequests.list(query));
  api.post('/api/v1/admin/quota-requests/:id/approve', { summary: 'Grant a pending quota request (the requested figure, or `dailyQuota`)', params: idParams, body: approveQuotaRequestBody },
    ({ params, body }, ctx) => applications.quotaRequests.approve(actorOf(ctx), params.id, body?.dailyQuota));
  api.post('/api/v1/admin/quota-requests/:id/reject', { summary: 'Refuse a pending quota request; the reason shows to the owner', params: idParams, body: reasonBody },
    ({ params, body }, ctx) => applications.quotaRequests.reject(actorOf(ctx), params.id, body?.reason));
}
