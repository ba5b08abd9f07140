import type { ApiRegistrar } from '../http/api-routes.js';
import { ownerOf, sessionOf } from '../http/session.js';
import { idParams, noBody } from '../http/validate.js';
import { actorOf } from '../http/session.js';
import type { CredentialService } from './credentials.js';
import { consumerListQuery, consumerQuotaBody, createConsumerBody, createCredentialBody, credentialParams, updateConsumerBody } from './schemas.js';
import type { ConsumerService } from './service.js';

/** /api/v1/consumers and their credentials. Mounted behind requireSession. */
export function mountConsumerRoutes(api: ApiRegistrar, consumers: ConsumerService, credentials: CredentialService): void {
  api.get('/api/v1/consumers', { summary: 'List your consumers', query: consumerListQuery },
    ({ query }, ctx) => consumers.list(sessionOf(ctx).account.id, query));
  api.post('/api/v1/consumers', { summary: 'Create a consumer', status: 201, body: createConsumerBody },
    ({ body }, ctx) => consumers.create(ownerOf(ctx), body));
  api.get('/api/v1/consumers/:id', { summary: 'One of your consumers', params: idParams },
    ({ params }, ctx) => consumers.resolveOwned(sessionOf(ctx).account.id, params.id));
  api.patch('/api/v1/consumers/:id', { summary: 'Rename a consumer or change its description', params: idParams, body: updateConsumerBody },
    ({ params, body }, ctx) => consumers.update(ownerOf(ctx), params.id, body));
  api.delete('/api/v1/consumers/:id', { summary: 'Delete a consumer: its credentials are revoked and its subscriptions cancelled', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => consumers.remove(ownerOf(ctx), params.id));

  api.get('/api/v1/consumers/:id/credentials', { summary: 'The credentials of a consumer, values included', params: idParams },
    ({ params }, ctx) => credentials.list(sessionOf(ctx).account.id, params.id));
  api.post('/api/v1/consumers/:id/credentials', { summary: 'Create an API key or an AK/SK pair', status: 201, params: idParams, body: createCredentialBody },
    ({ params, body }, ctx) => credentials.create(ownerOf(ctx), params.id, body.type));
  api.delete('/api/v1/consumers/:id/credentials/:cid', { summary: 'Delete (revoke) a credential', status: 204, params: credentialParams, body: noBody },
    ({ params }, ctx) => credentials.remove(ownerOf(ctx), params.id, params.cid));
}

/** /api/v1/admin/consumers/:id/quota. Mounted behind requireSession + requireAdmin. */
export function mountConsumerAdminRoutes(api: ApiRegistrar, consumers: ConsumerService): void {
  api.get('/api/v1/admin/consumers/:id/quota', { summary: "A consumer's daily quota for API-key and AK/SK calls", params: idParams },
    ({ params }) => consumers.quotaOf(params.id));
  api.put('/api/v1/admin/consumers/:id/quota', { summary: "Set a consumer's daily quota (null: the consumerDailyQuota setting)", params: idParams, body: consumerQuotaBody },
    ({ params, body }, ctx) => consumers.setQuota(actorOf(ctx), params.id, body.dailyQuota));
}
