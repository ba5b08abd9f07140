import type Koa from 'koa';
import type { SessionService } from '../accounts/sessions.js';
import type { ApiRegistrar } from '../http/api-routes.js';
import { applicationOf, bearerOf, requireApplicationToken } from '../http/client-token.js';
import { pageQuery } from '../http/pagination.js';
import { ownerOf, requireSession, sessionOf } from '../http/session.js';
import { idParams, noBody } from '../http/validate.js';
import type { VerifyAccessToken } from '../oidc/access-tokens.js';
import { applicationListQuery, createApplicationBody, publicKeyBody, quotaRequestBody, tenantParams, updateApplicationBody, usageQuery } from './schemas.js';
import type { ApplicationService } from './service.js';
import type { TenantCredentialsCaller } from './tenant-credentials.js';

/** /api/v1/applications: a developer's own applications. Mounted behind requireSession. */
export function mountApplicationRoutes(api: ApiRegistrar, applications: ApplicationService): void {
  api.post('/api/v1/applications', { summary: 'Create an application (an OAuth client); the secret is shown only here', status: 201, body: createApplicationBody },
    ({ body }, ctx) => applications.create(ownerOf(ctx), body));
  api.get('/api/v1/applications', { summary: 'List your applications', query: applicationListQuery },
    ({ query }, ctx) => applications.list(sessionOf(ctx).account.id, query));
  api.get('/api/v1/applications/:id', { summary: 'One of your applications', params: idParams },
    ({ params }, ctx) => applications.get(sessionOf(ctx).account.id, params.id));
  api.patch('/api/v1/applications/:id', { summary: 'Change an application', params: idParams, body: updateApplicationBody },
    ({ params, body }, ctx) => applications.update(ownerOf(ctx), params.id, body));
  api.delete('/api/v1/applications/:id', { summary: 'Delete an application, its client and its usage counters', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => applications.remove(ownerOf(ctx), params.id));
  api.post('/api/v1/applications/:id/secret', { summary: 'Rotate the client secret', params: idParams, body: noBody },
    ({ params }, ctx) => applications.rotateSecret(ownerOf(ctx), params.id));
  api.post('/api/v1/applications/:id/go-live', { summary: 'Ask for the go-live review (development -> review); every URI must be https', params: idParams, body: noBody },
    ({ params }, ctx) => applications.requestGoLive(ownerOf(ctx), params.id));
  api.get('/api/v1/applications/:id/events', { summary: 'The application\'s history (audit events), newest first', params: idParams, query: pageQuery },
    ({ params, query }, ctx) => applications.events(sessionOf(ctx).account.id, params.id, query));
  api.get('/api/v1/applications/:id/usage', { summary: 'Calls per UTC day over the last `days` days (1-90, default 30), today last', params: idParams, query: usageQuery },
    ({ params, query }, ctx) => applications.usage(sessionOf(ctx).account.id, params.id, query.days));
  api.post('/api/v1/applications/:id/quota-requests', { summary: 'Ask for a higher daily quota (online, not suspended, from 80 % of today\'s quota used)', status: 201, params: idParams, body: quotaRequestBody },
    ({ params, body }, ctx) => applications.quotaRequests.create(ownerOf(ctx), params.id, body));
  api.put('/api/v1/applications/:id/public-key', { summary: 'Register the RSA public key (PEM or JWK, >= 3072 bits) tenant secrets are encrypted to', params: idParams, body: publicKeyBody },
    ({ params, body }, ctx) => applications.tenantCredentials.setPublicKey(ownerOf(ctx), params.id, body));
  api.get('/api/v1/applications/:id/quota-requests', { summary: 'The application\'s quota raise requests, newest first', params: idParams, query: pageQuery },
    ({ params, query }, ctx) => applications.quotaRequests.listOwned(sessionOf(ctx).account.id, params.id, query));
}

/**
 * `GET /api/v1/applications/:id/tenants/:tenantId`: the owner (a session) or the application
 * itself (a client_credentials access token of its own client) fetches a tenant's client id and
 * its secret, encrypted to the application's public key. Mounted on the public router: it
 * authenticates either way itself.
 */
export function mountTenantCredentialRoutes(api: ApiRegistrar, applications: ApplicationService, deps: {
  sessions: SessionService; verifyAccessToken: VerifyAccessToken; audience: string;
}): void {
  const session = requireSession(deps.sessions);
  const applicationToken = requireApplicationToken(deps.verifyAccessToken, deps.audience);
  const noop = async () => {};

  /** A JWT is the application's own token; anything else is a session (token or cookie). */
  async function callerOf(ctx: Koa.Context): Promise<TenantCredentialsCaller> {
    if (bearerOf(ctx)?.split('.').length === 3) {
      await applicationToken(ctx, noop);
      return { applicationId: applicationOf(ctx).applicationId };
    }
    await session(ctx, noop);
    return { accountId: sessionOf(ctx).account.id };
  }

  api.get('/api/v1/applications/:id/tenants/:tenantId', {
    summary: 'A tenant\'s client id and secret, the secret as a compact JWE (RSA-OAEP-256, A256GCM) to the application\'s public key; for the owner or the application\'s own client_credentials token',
    access: 'session', params: tenantParams,
  }, async ({ params }, ctx) => applications.tenantCredentials.get(await callerOf(ctx), params.id, params.tenantId));
}
