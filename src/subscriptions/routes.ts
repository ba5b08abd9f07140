import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf, ownerOf, sessionOf } from '../http/session.js';
import { idParams, noBody, reasonBody } from '../http/validate.js';
import { adminSubscriptionListQuery, decisionParams, subscribeBody, subscriptionListQuery } from './schemas.js';
import type { SubscriptionService } from './service.js';

/** /api/v1/subscriptions: a developer's own. Mounted behind requireSession. */
export function mountSubscriptionRoutes(api: ApiRegistrar, subscriptions: SubscriptionService): void {
  api.get('/api/v1/subscriptions', { summary: 'Your subscriptions, by status or consumer', query: subscriptionListQuery },
    ({ query }, ctx) => subscriptions.listOwned(sessionOf(ctx).account.id, query));
  api.post('/api/v1/subscriptions', { summary: 'Subscribe a consumer to a product (approved at once, or pending under manual approval)', status: 201, body: subscribeBody },
    ({ body }, ctx) => subscriptions.subscribe(ownerOf(ctx), body));
  api.delete('/api/v1/subscriptions/:id', { summary: 'Cancel a subscription', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => subscriptions.cancel(ownerOf(ctx), params.id));
}

/** /api/v1/admin/subscriptions. Mounted behind requireSession + requireAdmin. */
export function mountSubscriptionAdminRoutes(api: ApiRegistrar, subscriptions: SubscriptionService): void {
  api.get('/api/v1/admin/subscriptions', { summary: 'Subscriptions, by status', query: adminSubscriptionListQuery },
    ({ query }) => subscriptions.list(query));
  api.post('/api/v1/admin/subscriptions/:id/:action', { summary: 'Approve or reject a pending subscription', params: decisionParams, body: reasonBody },
    ({ params, body }, ctx) => subscriptions.decide(actorOf(ctx), params.id, params.action, body?.reason));
}
