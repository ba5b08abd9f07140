import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import type { JWK } from 'jose';
import type Provider from 'oidc-provider';
import { mountJwtTokenEndpoints } from './oidc/jwt-endpoints.js';
import type { RevokedGrants } from './oidc/revoked-grants.js';
import { mountAccountAdminRoutes } from './accounts/admin-routes.js';
import { mountAccountRoutes } from './accounts/routes.js';
import { mountAuditRoutes } from './audit/routes.js';
import type { AppContext } from './context.js';
import { jsonBody } from './http/body.js';
import { problemResponses } from './http/problem.js';
import { requestContext } from './http/request-context.js';
import { requireAdmin, requireSession } from './http/session.js';
import { atIssuerOrigin } from './oidc/issuer-origin.js';
import { mountInteractionRoutes } from './oidc/interactions.js';
import { OIDC_ROUTES } from './oidc/routes.js';
import { htmlErrors, serveStylesheet } from './portal/render.js';
import { mountHealthRoutes } from './ops/health.js';
import type { Services } from './services.js';
import type { ApplicationService } from './applications/service.js';
import { mountApplicationRoutes } from './applications/routes.js';
import { mountApplicationAdminRoutes } from './applications/admin-routes.js';
import { mountSettingsRoutes } from './settings/routes.js';

function securityHeaders(): Koa.Middleware {
  return async function setSecurityHeaders(ctx, next) {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}

export type AppServices = Services & { applications: ApplicationService };

/** The token endpoint alias (api.md section 3): the very token endpoint under the management API's path. */
export const TOKEN_ALIAS_PATH = '/api/v1/oauth2/token';

export interface OidcParts { provider: Provider; signingKeys: JWK[]; revokedGrants: RevokedGrants }

/** Builds the Koa app: shared middleware, then each domain's routes, the provider last. */
export function buildApp(ctx: AppContext, services: AppServices, oidc: OidcParts): Koa {
  const { provider } = oidc;
  const app = new Koa({ proxy: ctx.config.trustProxy, keys: ctx.keys.cookie });
  // Every error is answered by problemResponses; what still reaches Koa is a broken socket.
  app.on('error', (err: Error) => ctx.log.debug({ err: { message: err.message } }, 'connection error'));

  const publicRoutes = new Router();
  mountHealthRoutes(publicRoutes, ctx.db);
  mountAccountRoutes(publicRoutes, services.accounts, services.sessions, { secureCookies: ctx.issuer.startsWith('https:') });

  const pageRoutes = new Router();
  pageRoutes.use(htmlErrors());
  pageRoutes.get('/assets/portico.css', serveStylesheet);
  mountInteractionRoutes(pageRoutes, ctx, provider, services.sessions);

  const protocolRoutes = new Router();
  mountJwtTokenEndpoints(protocolRoutes, ctx, { ...oidc, ...services });

  const developerRoutes = new Router();
  developerRoutes.use(requireSession(services.sessions));
  mountApplicationRoutes(developerRoutes, services.applications);

  const adminRoutes = new Router();
  adminRoutes.use(requireSession(services.sessions), requireAdmin());
  mountAccountAdminRoutes(adminRoutes, services.accounts);
  mountSettingsRoutes(adminRoutes, services.settings);
  mountAuditRoutes(adminRoutes, services.audit);
  mountApplicationAdminRoutes(adminRoutes, services.applications);

  app.use(requestContext(ctx.log));
  app.use(async function tokenEndpointAlias(koaCtx, next) {
    // Before any body parsing: the provider reads the form itself. It accepts the secret in the
    // Basic header or in the form for every secret-based client, which is what the alias promises.
    if (koaCtx.path === TOKEN_ALIAS_PATH) koaCtx.path = OIDC_ROUTES.token;
    await next();
  });
  app.use(problemResponses());
  app.use(securityHeaders());
  const parseJson = jsonBody();
  // Only the management API takes JSON; protocol endpoints parse their own bodies.
  app.use((koaCtx, next) => (koaCtx.path.startsWith('/api/') ? parseJson(koaCtx, next) : next()));
  for (const router of [publicRoutes, pageRoutes, developerRoutes, adminRoutes]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use(protocolRoutes.routes()); // no allowedMethods: the provider answers other methods
  // Last: oidc-provider answers its own routes (discovery, /oauth2/*) and passes the rest on.
  app.use(atIssuerOrigin(ctx.issuer));
  app.use(mount(provider));
  return app;
}
