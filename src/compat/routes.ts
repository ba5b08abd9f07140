import type Router from '@koa/router';
import type Koa from 'koa';
import type { z } from 'zod';
import type { AccountService } from '../accounts/service.js';
import type { CatalogService } from '../catalog/service.js';
import { productListQuery } from '../catalog/schemas.js';
import type { AppContext } from '../context.js';
import { safeEqual } from '../crypto/tokens.js';
import { answerBusiness as answer, BUSINESS_CODES } from '../http/business.js';
import { jsonBody } from '../http/body.js';
import { REFUSALS, type AccessTokenCheck, type VerifyAccessToken } from '../oidc/access-tokens.js';
import type { ClientStore } from '../oidc/clients.js';
import { OIDC_ROUTES } from '../oidc/routes.js';
import type { SubscriptionService } from '../subscriptions/service.js';
import { subscriptionListQuery } from '../subscriptions/schemas.js';
import { quotaHeaders, type UsageCounter } from '../usage/counter.js';


/** What the token endpoint sees of a /openapi/v1/token request's headers. */
const FORWARDED_HEADERS = new Set(['host', 'user-agent', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);


/** The token from `Authorization: Bearer <token>` or a bare `Authorization: <token>`. */
function presentedToken(koaCtx: Koa.Context): string | undefined {
  const header = koaCtx.get('Authorization').trim();
  const token = /^Bearer(\s|$)/i.test(header) ? header.slice('Bearer'.length).trim() : header;
  return token || undefined;
}

type ValidToken = Extract<AccessTokenCheck, { status: 'valid' }>;
/** The token `authenticated` accepted. */
const tokenOf = (koaCtx: Koa.Context) => koaCtx.state.token as ValidToken;

/**
 * /openapi/v1: the token call of the platform Portico replaces, and the calls that accept its
 * token. The token call hands a client_credentials grant to oidc-provider's token endpoint, so
 * the token is the very one `/oauth2/token` issues; only the envelope differs.
 */
export function mountCompatRoutes(router: Router, ctx: AppContext, deps: {
  verifyAccessToken: VerifyAccessToken; clients: ClientStore; accounts: AccountService;
  catalog: CatalogService; subscriptions: SubscriptionService; usage: UsageCounter;
}): void {
  const parseJson = jsonBody();

  router.post('/openapi/v1/token', async (koaCtx, next) => {
    try {
      await parseJson(koaCtx, async () => {});
    } catch {
      return answer(koaCtx, 400, BUSINESS_CODES.missing, 'the body must be JSON: {"clientId": "...", "clientSecret": "..."}');
    }
    const body = koaCtx.request.body as Record<string, unknown> | undefined;
    const clientId = body?.clientId;
    const clientSecret = body?.clientSecret;
    if (typeof clientId !== 'string' || !clientId || typeof clientSecret !== 'string' || !clientSecret) {
      return answer(koaCtx, 400, BUSINESS_CODES.missing, 'clientId and clientSecret are required and must not be empty');
    }
    // The token endpoint, as if the form had been posted to it (it reads a body parsed upstream),
    // with only the headers that say where the request came from: no Accept (an HTML error page),
    // Origin (per-client CORS answers before the secret is checked), DPoP or Authorization.
    koaCtx.path = OIDC_ROUTES.token;
    koaCtx.req.headers = {
      ...Object.fromEntries(Object.entries(koaCtx.req.headers).filter(([name]) => FORWARDED_HEADERS.has(name))),
      'content-type': 'application/x-www-form-urlencoded', accept: 'application/json',
      // Its presence tells the provider's content-type check that the request has a body.
      'content-length': koaCtx.req.headers['content-length'] ?? '0',
    };
    koaCtx.request.body = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret };
    await next();

    const result = koaCtx.body as Record<string, unknown> | undefined;
    if (koaCtx.status === 200 && typeof result?.access_token === 'string') {
      return answer(koaCtx, 200, BUSINESS_CODES.success, 'success', { token: result.access_token, expiresIn: result.expires_in });
    }
    if (koaCtx.status >= 500) return answer(koaCtx, 500, BUSINESS_CODES.unavailable, 'internal error');
    // Too many failed grants for this client (rate-limits/token-endpoint.ts; Retry-After is set): the
    // contract's code for "limited, come back after Retry-After".
    if (koaCtx.status === 429) return answer(koaCtx, 429, BUSINESS_CODES.quotaUsedUp, String(result?.error_description ?? 'too many failed token requests'));
    // A client the provider does not serve may be one with the right secret whose owner is banned or
    // whose application is suspended: that is told (1200) only to whoever proves the secret.
    const found = result?.error === 'invalid_client' ? await deps.clients.lookup(clientId) : undefined;
    const secret = found?.record.metadata.client_secret;
    if (found && found.standing !== 'ok' && typeof secret === 'string' && safeEqual(secret, clientSecret)) {
      return answer(koaCtx, 403, BUSINESS_CODES.refused, REFUSALS[found.standing]);
    }
    const msg = result?.error === 'invalid_client' ? 'invalid clientId or clientSecret' : String(result?.error_description ?? result?.error ?? 'invalid request');
    return answer(koaCtx, 401, BUSINESS_CODES.invalid, msg);
  });

  /** A valid token of an application in good standing. */
  const authenticated: Koa.Middleware = async (koaCtx, next) => {
    const token = presentedToken(koaCtx);
    if (!token) {
      koaCtx.set('WWW-Authenticate', 'Bearer realm="portico"');
      return answer(koaCtx, 401, BUSINESS_CODES.missing, 'the Authorization header is required');
    }
    const check = await deps.verifyAccessToken(token, { audience: ctx.config.apiAudience });
    if (check.status === 'invalid') {
      koaCtx.set('WWW-Authenticate', 'Bearer realm="portico", error="invalid_token"');
      return answer(koaCtx, 401, BUSINESS_CODES.invalid, 'the token is invalid or expired');
    }
    if (check.status === 'refused') return answer(koaCtx, 403, BUSINESS_CODES.refused, REFUSALS[check.reason]);
    koaCtx.state.token = check;
    await next();
  };

  /** One call counted against the application's daily quota: last, so that a refused call counts nothing. */
  const counted: Koa.Middleware = async (koaCtx, next) => {
    const { client } = tokenOf(koaCtx);
    if (client.applicationId && client.dailyQuota) {
      let decision;
      try {
        decision = await deps.usage.consume({ kind: 'application', id: client.applicationId }, client.dailyQuota);
      } catch (err) {
        // Without a counter no call is allowed: the quota must hold.
        ctx.log.error({ err }, 'counting a call failed');
        return answer(koaCtx, 503, BUSINESS_CODES.unavailable, 'the call could not be counted; try again');
      }
      koaCtx.set(quotaHeaders(decision, ctx.clock.now()));
      if (!decision.allowed) return answer(koaCtx, 429, BUSINESS_CODES.quotaUsedUp, `the daily quota of ${client.dailyQuota} calls is used up`);
    }
    await next();
  };

  /** Query parameters through the management API's own schema; a bad one is a 1102 (and no call is counted). */
  function validQuery<T extends z.ZodType>(schema: T): Koa.Middleware {
    return async (koaCtx, next) => {
      const parsed = schema.safeParse(koaCtx.query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return answer(koaCtx, 400, BUSINESS_CODES.missing, `${issue.path.join('.') || 'query'}: ${issue.message}`);
      }
      koaCtx.state.query = parsed.data;
      await next();
    };
  }

  router.get('/openapi/v1/me', authenticated, counted, async (koaCtx) => {
    const { payload, client } = tokenOf(koaCtx);
    const userId = payload.sub !== payload.client_id ? String(payload.sub) : undefined;
    const [owner, user] = await Promise.all([
      client.accountId ? deps.accounts.findActive(client.accountId) : undefined,
      userId ? deps.accounts.findActive(userId) : undefined,
    ]);
    answer(koaCtx, 200, BUSINESS_CODES.success, 'success', {
      data: {
        clientId: payload.client_id,
        application: { id: client.applicationId, name: client.metadata.client_name ?? null, stage: client.stage, dailyQuota: client.dailyQuota },
        consumerId: client.consumerId,
        developer: owner ? { id: owner.id, username: owner.username } : null,
        user: user ? { id: user.id, username: user.username, email: user.email } : null,
        scope: payload.scope ?? '',
      },
    });
  });

  router.get('/openapi/v1/products', authenticated, validQuery(productListQuery), counted, async (koaCtx) => {
    const filter = koaCtx.state.query as z.output<typeof productListQuery>;
    answer(koaCtx, 200, BUSINESS_CODES.success, 'success', { data: await deps.catalog.list(filter) });
  });

  const ownSubscriptionsQuery = subscriptionListQuery.omit({ consumerId: true });
  router.get('/openapi/v1/subscriptions', authenticated, validQuery(ownSubscriptionsQuery), counted, async (koaCtx) => {
    const { client } = tokenOf(koaCtx);
    const filter = koaCtx.state.query as z.output<typeof ownSubscriptionsQuery>;
    const data = client.accountId && client.consumerId
      ? await deps.subscriptions.listOwned(client.accountId, { ...filter, consumerId: client.consumerId })
      : { items: [], nextCursor: null };
    answer(koaCtx, 200, BUSINESS_CODES.success, 'success', { data });
  });
}
