import type { RequestListener } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import { mountJwtTokenEndpoints } from './oidc/jwt-endpoints.js';
import type { RevokedGrants } from './oidc/revoked-grants.js';
import type { VerifyAccessToken } from './oidc/access-tokens.js';
import { mountAccountAdminRoutes } from './accounts/admin-routes.js';
import { mountAccountRoutes } from './accounts/routes.js';
import { mountAuditRoutes } from './audit/routes.js';
import type { AppContext } from './context.js';
import { apiRoutes, type RouteCatalog } from './http/api-routes.js';
import { jsonBody } from './http/body.js';
import { buildOpenApiDocument } from './http/openapi.js';
import { problemResponses } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { requireAdmin, requireSession } from './http/session.js';
import { atIssuerOrigin } from './oidc/issuer-origin.js';
import type { ProviderRef } from './oidc/live-provider.js';
import { tenantClientRewrite } from './oidc/tenants.js';
import { mountInteractionRoutes } from './oidc/interactions.js';
import { OIDC_ROUTES } from './oidc/routes.js';
import { htmlErrors, serveStylesheet } from './portal/render.js';
import { createPageSessions } from './portal/page-session.js';
import { mountPublicPages } from './portal/public-pages.js';
import { mountConsolePages } from './portal/console-pages.js';
import { mountAdminPages } from './portal/admin-pages.js';
import { mountHealthRoutes } from './ops/health.js';
import type { Metrics } from './ops/metrics/metrics.js';
import { mountMetricsRoute } from './ops/metrics/route.js';
import type { Services } from './services.js';
import type { ApplicationService } from './applications/service.js';
import { mountApplicationRoutes, mountTenantCredentialRoutes } from './applications/routes.js';
import { mountApplicationAdminRoutes } from './applications/admin-routes.js';
import { mountSettingsRoutes } from './settings/routes.js';
import { mountCompatRoutes } from './compat/routes.js';
import { createGatewayCheck } from './gateway/check.js';
import { gatewayListener, isGatewayCheck } from './gateway/routes.js';
import { securityHeaders } from './http/security-headers.js';
import { mountCatalogAdminRoutes, mountCatalogRoutes } from './catalog/routes.js';
import { mountConsumerAdminRoutes, mountConsumerRoutes } from './consumers/routes.js';
import { mountSubscriptionAdminRoutes, mountSubscriptionRoutes } from './subscriptions/routes.js';
import { mountFederationAdminRoutes, mountSsoPages } from './federation/routes.js';
import { createSsoFlow } from './federation/sso.js';
import { mountOrganizationRoutes } from './organizations/routes.js';
import { mountLicenseAdminRoutes, mountLicenseRoutes } from './licenses/routes.js';
import { mountMcpMetadata } from './mcp/metadata.js';
import { mountRegistrationTokenRoutes } from './client-registration/routes.js';

export type AppServices = Services & { applications: ApplicationService; metrics: Metrics };

/** The token endpoint alias (api.md section 3): the very token endpoint under the management API's path. */
export const TOKEN_ALIAS_PATH = '/api/v1/oauth2/token';

/** Other names of provider endpoints: the token endpoint's alias, and RFC 8414 metadata, which is OIDC discovery. */
const PROVIDER_ALIASES = new Map([
  [TOKEN_ALIAS_PATH, OIDC_ROUTES.token],
  ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'],
]);

export interface OidcParts { provider: ProviderRef; revokedGrants: RevokedGrants; verifyAccessToken: VerifyAccessToken }

/** Method and path of every route the app's routers serve (the OpenAPI test compares the document with it). */
export type RouteTable = Array<{ method: string; path: string }>;

/**
 * Builds the request listener: /gateway/check served directly, everything else by the Koa app
 * (shared middleware, then each domain's routes, the provider last).
 */
export function buildApp(ctx: AppContext, services: AppServices, oidc: OidcParts): { listener: RequestListener; routes: RouteTable } {
  const { provider } = oidc;
  // Behind a proxy, the client's address is the one the proxy appended to X-Forwarded-For (the last
  // entry): the entries before it are whatever the client sent, and per-address limits key on it.
  const app = new Koa({ proxy: ctx.config.trustProxy, maxIpsCount: ctx.config.trustProxy ? 1 : 0, keys: ctx.keys.cookie });
  // Every error is answered by problemResponses; what still reaches Koa is a broken socket.
  app.on('error', (err: Error) => ctx.log.debug({ err: { message: err.message } }, 'connection error'));

  const catalog: RouteCatalog = [];
  const publicRoutes = new Router();
  mountHealthRoutes(publicRoutes, ctx.db);
  mountMetricsRoute(publicRoutes, services.metrics, ctx.config.metricsToken); // not part of the OpenAPI document
  mountMcpMetadata(publicRoutes, ctx, services.gatewayCache); // RFC 9728, for MCP clients
  const publicApi = apiRoutes(publicRoutes, catalog, 'anyone');
  mountAccountRoutes(publicApi, services.accounts, services.sessions, { secureCookies: ctx.issuer.startsWith('https:'), rateLimits: services.rateLimits });
  mountCatalogRoutes(publicApi, services.catalog);
  mountTenantCredentialRoutes(publicApi, services.applications, { ...services, verifyAccessToken: oidc.verifyAccessToken, audience: ctx.config.apiAudience });
  mountLicenseRoutes(publicApi, services.licenses, { verifyAccessToken: oidc.verifyAccessToken, audience: ctx.config.apiAudience }); // the application's token, no session
  let openApiDocument: ReturnType<typeof buildOpenApiDocument> | undefined; // built once every route is registered
  publicApi.get('/api/v1/openapi.json', { summary: 'This document (OpenAPI 3.1)' }, () => (openApiDocument ??= buildOpenApiDocument(catalog, ctx.issuer)));

  const pageRoutes = new Router();
  pageRoutes.use(htmlErrors());
  pageRoutes.get('/assets/portico.css', serveStylesheet);
  const sso = createSsoFlow(ctx, { ...services, provider });
  mountInteractionRoutes(pageRoutes, ctx, provider, { ...services, sso, products: services.gatewayCache });
  const pages = createPageSessions(ctx, services.sessions);
  mountPublicPages(pageRoutes, ctx, services, pages);
  mountSsoPages(pageRoutes, sso, pages);
  mountConsolePages(pageRoutes, services, pages);
  mountAdminPages(pageRoutes, services, pages);

  const compatRoutes = new Router();
  mountCompatRoutes(compatRoutes, ctx, { ...services, ...oidc });

  const protocolRoutes = new Router();
  mountJwtTokenEndpoints(protocolRoutes, ctx, { ...oidc, ...services });

  const developerRoutes = new Router();
  developerRoutes.use(requireSession(services.sessions));
  const developerApi = apiRoutes(developerRoutes, catalog, 'session');
  mountApplicationRoutes(developerApi, services.applications);
  mountConsumerRoutes(developerApi, services.consumers, services.credentials);
  mountSubscriptionRoutes(developerApi, services.subscriptions);
  mountOrganizationRoutes(developerApi, services.organizations); // /api/v1/admin/organizations: access decided per organization

  const adminRoutes = new Router();
  adminRoutes.use(requireSession(services.sessions), requireAdmin());
  const adminApi = apiRoutes(adminRoutes, catalog, 'admin');
  mountAccountAdminRoutes(adminApi, services.accounts, services.rateLimits);
  mountSettingsRoutes(adminApi, services.settings);
  mountAuditRoutes(adminApi, services.audit);
  mountApplicationAdminRoutes(adminApi, services.applications);
  mountCatalogAdminRoutes(adminApi, services.catalog);
  mountSubscriptionAdminRoutes(adminApi, services.subscriptions);
  mountConsumerAdminRoutes(adminApi, services.consumers);
  mountFederationAdminRoutes(adminApi, services.federation);
  mountLicenseAdminRoutes(adminApi, services.licenses);
  mountRegistrationTokenRoutes(adminApi, services.clientRegistration);

  app.use(requestContext(ctx.log, services.metrics.request));
  app.use(async function providerAliases(koaCtx, next) {
    // Before any body parsing: the provider reads the form itself. It accepts the secret in the
    // Basic header or in the form for every secret-based client, which is what the alias promises.
    const target = PROVIDER_ALIASES.get(koaCtx.path);
    if (target) koaCtx.path = target;
    await next();
  });
  app.use(problemResponses());
  app.use(securityHeaders());
  const parseJson = jsonBody();
  // Only the management API takes JSON; protocol endpoints parse their own bodies.
  app.use((koaCtx, next) => (koaCtx.path.startsWith('/api/') ? parseJson(koaCtx, next) : next()));
  // The provider's own endpoints (the token endpoint is a hot path) skip the app's routers, which
  // would only look through some 250 routes for one they do not have.
  const porticoProtocolPaths = new Set(protocolRoutes.stack.map((layer) => String(layer.path)));
  const skippedForProvider = (routerMiddleware: Koa.Middleware): Koa.Middleware => (koaCtx, next) => (
    koaCtx.path.startsWith('/oauth2/') && !porticoProtocolPaths.has(koaCtx.path) ? next() : routerMiddleware(koaCtx, next));
  for (const router of [publicRoutes, pageRoutes, developerRoutes, adminRoutes]) {
    app.use(skippedForProvider(router.routes() as Koa.Middleware));
    app.use(skippedForProvider(router.allowedMethods() as Koa.Middleware));
  }
  // /openapi/v1/token hands its grant on to the provider below.
  app.use(compatRoutes.routes());
  app.use(compatRoutes.allowedMethods());
  app.use(protocolRoutes.routes()); // no allowedMethods: the provider answers other methods
  // Last: oidc-provider answers its own routes (discovery, /oauth2/*) and passes the rest on.
  app.use(atIssuerOrigin(ctx.issuer));
  app.use(tenantClientRewrite(services.clients));
  // The provider of the current signing keys: a rotation swaps in a new one for the next request.
  const mounted = new WeakMap<object, Koa.Middleware>();
  app.use((koaCtx, next) => {
    const current = provider.current;
    let handler = mounted.get(current);
    if (!handler) mounted.set(current, handler = mount(current));
    return handler(koaCtx, next);
  });
  const routes = [publicRoutes, pageRoutes, developerRoutes, adminRoutes, compatRoutes, protocolRoutes]
    .flatMap((router) => router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path) }))));
  const koa = app.callback();
  // The hot path, asked on every API call, before Koa.
  const gateway = gatewayListener(ctx, createGatewayCheck(ctx, { ...services, cache: services.gatewayCache, verifyAccessToken: oidc.verifyAccessToken }), services.metrics.gateway);
  const listener: RequestListener = (req, res) => (isGatewayCheck(req.url ?? '') ? gateway(req, res) : koa(req, res));
  return { listener, routes };
}
