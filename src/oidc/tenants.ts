import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { OrganizationService } from '../organizations/service.js';
import { TENANT_DENIALS, type TenantAccess } from '../organizations/tenant-access.js';
import { uuid } from '../http/validate.js';
import type { ClientStore } from './clients.js';
import { OIDC_ROUTES } from './routes.js';

/**
 * Tenant logins (api.md section 3): `tenant_id=T` on an authorization request, or a tenant
 * client (an application's own client in organization T, which carries T in its metadata).
 * The code, grant and refresh tokens belong to the tenant client, so the tenant is known at
 * every later step from the client alone.
 */

/** The tenant of an authorization request: its client's, else the `tenant_id` parameter. */
export function requestedTenant(koaCtx: KoaContextWithOIDC): { tenantId: string; mismatch: boolean } | undefined {
  const ofClient = koaCtx.oidc.client?.tenant_id as string | undefined;
  const param = koaCtx.oidc.params?.tenant_id as string | undefined;
  const tenantId = ofClient ?? param;
  return tenantId ? { tenantId, mismatch: ofClient !== undefined && param !== undefined && param !== ofClient } : undefined;
}

/**
 * A prompt after login: the signed-in account must be a member of the tenant that the install
 * grants the application to. Allowed: no interaction at all. Refused: the interaction page
 * tells the user why, and the client then receives access_denied with the same reason.
 */
export function tenantPrompt(organizations: OrganizationService) {
  const { Check, Prompt } = interactionPolicy;
  const decisions = new WeakMap<object, TenantAccess>();
  return new Prompt({ name: 'tenant', requestable: false },
    new Check('tenant_access', 'the organization does not let this account use this application', async (koaCtx) => {
      const tenant = requestedTenant(koaCtx);
      const accountId = koaCtx.oidc.session?.accountId;
      if (!tenant || !accountId) return Check.NO_NEED_TO_PROMPT;
      const decision: TenantAccess = tenant.mismatch
        ? { allowed: false, code: 'not_installed', reason: TENANT_DENIALS.not_installed }
        : await organizations.tenantAccess(koaCtx.oidc.client!.clientId, tenant.tenantId, accountId);
      decisions.set(koaCtx, decision);
      return decision.allowed ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }, (koaCtx) => {
      const decision = decisions.get(koaCtx);
      return decision && !decision.allowed ? { tenantDenial: decision.reason } : {};
    }));
}

/** The authorization response names the tenant (`tenant_id` beside `code`, `state` and `iss`). */
export function answerWithTenant(provider: Provider): void {
  // The listener runs before the response is sent, with the very parameters the response is made of.
  provider.on('authorization.success', (koaCtx, out) => {
    const tenant = requestedTenant(koaCtx);
    if (tenant && out) out.tenant_id = tenant.tenantId;
  });
}

/**
 * `GET /oauth2/authorize?client_id=<the application's client>&tenant_id=T` is served as the
 * request of the application's tenant client in T (when installed there), so the merchant can
 * send its users with its appkey and the tenant. Without a usable install the request goes on as
 * it is, and the tenant prompt refuses it with the reason.
 */
export function tenantClientRewrite(clients: ClientStore): Koa.Middleware {
  return async function useTenantClient(koaCtx, next) {
    const { client_id: clientId, tenant_id: tenantId } = koaCtx.query;
    if (koaCtx.path === OIDC_ROUTES.authorization && koaCtx.method === 'GET' && typeof clientId === 'string' && typeof tenantId === 'string'
      && uuid.safeParse(tenantId).success) {
      const found = await clients.lookup(clientId);
      const tenantClientId = found && !found.record.tenantId && found.record.applicationId
        ? await clients.tenantClientId(found.record.applicationId, tenantId) : undefined;
      // A disabled install's client gets no tokens: the request goes on as the application's, and the prompt says why.
      if (tenantClientId && (await clients.find(tenantClientId))) koaCtx.query = { ...koaCtx.query, client_id: tenantClientId };
    }
    await next();
  };
}
