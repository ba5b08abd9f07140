import type Router from '@koa/router';
import type Koa from 'koa';
import type { AppContext } from '../context.js';
import { safeEqual } from '../crypto/tokens.js';
import { answerBusiness, BUSINESS_CODES } from '../http/business.js';
import type { GatewayCheck } from './check.js';

export const GATEWAY_CHECK_PATH = '/gateway/check';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * `/gateway/check`, any method: forward-auth (nginx `auth_request`, Traefik `forwardAuth`, Envoy
 * `ext_authz`). The original request comes from the X-Forwarded-* / X-Original-* headers, read
 * here whatever TRUST_PROXY says: the gateway is the caller.
 */
export function mountGatewayRoutes(router: Router, ctx: AppContext, check: GatewayCheck): void {
  const secret = ctx.config.gatewaySecret;

  // `/gateway/check/<original path>` too: Envoy's ext_authz puts the original path after its prefix.
  router.all([GATEWAY_CHECK_PATH, `${GATEWAY_CHECK_PATH}/*originalPath`], async (koaCtx: Koa.Context) => {
    const { headers } = koaCtx.req;
    if (secret && !safeEqual(String(first(headers['x-gateway-secret']) ?? ''), secret)) {
      return answerBusiness(koaCtx, 401, BUSINESS_CODES.invalid, 'the X-Gateway-Secret header is missing or wrong');
    }
    try {
      const decision = await check({
        method: first(headers['x-forwarded-method']) ?? first(headers['x-original-method']) ?? koaCtx.method,
        uri: first(headers['x-forwarded-uri']) ?? first(headers['x-original-uri']) ?? (koaCtx.url.slice(GATEWAY_CHECK_PATH.length) || '/'),
        host: first(headers['x-forwarded-host']) ?? first(headers.host) ?? '',
        headers,
      });
      answerBusiness(koaCtx, decision.status, decision.code, decision.msg, {}, decision.headers);
    } catch (err) {
      // Nothing is allowed without a decision; the gateway may retry.
      ctx.log.error({ err }, 'gateway check failed');
      answerBusiness(koaCtx, 503, BUSINESS_CODES.unavailable, 'the check could not be made; try again');
    }
  });
}
