import type Router from '@koa/router';
import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { idParams, noBody, validate } from '../http/validate.js';
import { safeNext, type PageSessions } from '../portal/page-session.js';
import { createProviderBody, providerListQuery, slugParams, updateProviderBody } from './schemas.js';
import type { FederationService } from './service.js';
import type { SsoFlow } from './sso.js';

/** /api/v1/admin/identity-providers. Mounted behind requireSession + requireAdmin. */
export function mountFederationAdminRoutes(api: ApiRegistrar, federation: FederationService): void {
  const path = '/api/v1/admin/identity-providers';
  api.get(path, { summary: 'Enterprise identity providers (never with their client secret)', query: providerListQuery },
    ({ query }) => federation.list(query));
  api.get(`${path}/:id`, { summary: 'An identity provider, with the redirectUri to register upstream', params: idParams },
    ({ params }) => federation.get(params.id));
  api.post(path, { summary: 'Register an identity provider (its discovery document is fetched and checked)', status: 201, body: createProviderBody },
    ({ body }, ctx) => federation.create(actorOf(ctx), body));
  api.patch(`${path}/:id`, { summary: 'Change an identity provider (clientSecret replaces the secret)', params: idParams, body: updateProviderBody },
    ({ params, body }, ctx) => federation.update(actorOf(ctx), params.id, body));
  api.delete(`${path}/:id`, { summary: 'Delete an identity provider no account signs in with', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => federation.remove(actorOf(ctx), params.id));
}

// oidc-provider's interaction ids (nanoid): also part of a cookie path, so nothing else is let through.
const interactionParams = z.object({ uid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });

/** The portal's "Log in with <name>" buttons, the upstream callback, and the return into a pending authorization. */
export function mountSsoPages(router: Router, sso: SsoFlow, pages: PageSessions): void {
  router.post('/login/sso/:slug', async (koaCtx) => {
    const { params } = validate(koaCtx, { params: slugParams });
    const fields = await pages.form(koaCtx);
    await sso.start(koaCtx, params.slug, { next: safeNext(fields.next) });
  });

  router.get('/sso/:slug/callback', async (koaCtx) => {
    const { params } = validate(koaCtx, { params: slugParams });
    await sso.callback(koaCtx, params.slug);
  });

  router.get('/interaction/:uid/sso', async (koaCtx) => {
    const { params } = validate(koaCtx, { params: interactionParams });
    await sso.finishInteraction(koaCtx, params.uid);
  });
}
