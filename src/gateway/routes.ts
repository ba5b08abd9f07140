import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppContext } from '../context.js';
import { safeEqual } from '../crypto/tokens.js';
import { BUSINESS_CODES } from '../http/business.js';
import { requestIdOf } from '../http/request-context.js';
import { SECURITY_HEADERS } from '../http/security-headers.js';
import type { GatewayMeter } from '../ops/metrics/stats.js';
import type { GatewayCheck } from './check.js';

export const GATEWAY_CHECK_PATH = '/gateway/check';

/** `/gateway/check`, `/gateway/check?…` and `/gateway/check/<original path>` (Envoy's ext_authz puts the path after its prefix). */
export function isGatewayCheck(url: string): boolean {
  if (!url.startsWith(GATEWAY_CHECK_PATH)) return false;
  const next = url.charAt(GATEWAY_CHECK_PATH.length);
  return next === '' || next === '/' || next === '?';
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * `/gateway/check`, any method: forward-auth (nginx `auth_request`, Traefik `forwardAuth`, Envoy
 * `ext_authz`). The original request comes from the X-Forwarded-* / X-Original-* headers, read
 * here whatever TRUST_PROXY says: the gateway is the caller.
 *
 * Served by Node's request listener itself, ahead of Koa: it is asked on every API call, reads no
 * body and sets no cookie, and Koa's context, router and middleware cost more than the check.
 */
export function gatewayListener(ctx: AppContext, check: GatewayCheck, meter?: GatewayMeter): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const secret = ctx.config.gatewaySecret;

  function answer(req: IncomingMessage, res: ServerResponse, requestId: string, status: number, code: number, msg: string, headers: Record<string, string> = {}): void {
    meter?.decision(status, code);
    const body = JSON.stringify({ code, msg });
    res.writeHead(status, {
      ...headers, ...SECURITY_HEADERS, 'Cache-Control': 'no-store', 'X-Request-Id': requestId,
      'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function decide(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const { headers } = req;
    if (secret && !safeEqual(String(first(headers['x-gateway-secret']) ?? ''), secret)) {
      return answer(req, res, requestId, 401, BUSINESS_CODES.invalid, 'the X-Gateway-Secret header is missing or wrong');
    }
    try {
      const decision = await check({
        method: first(headers['x-forwarded-method']) ?? first(headers['x-original-method']) ?? req.method ?? 'GET',
        uri: first(headers['x-forwarded-uri']) ?? first(headers['x-original-uri']) ?? (req.url!.slice(GATEWAY_CHECK_PATH.length) || '/'),
        host: first(headers['x-forwarded-host']) ?? first(headers.host) ?? '',
        headers,
      });
      answer(req, res, requestId, decision.status, decision.code, decision.msg, decision.headers);
    } catch (err) {
      // Nothing is allowed without a decision; the gateway may retry.
      ctx.log.error({ err, requestId }, 'gateway check failed');
      answer(req, res, requestId, 503, BUSINESS_CODES.unavailable, 'the check could not be made; try again');
    }
  }

  return async function serveGatewayCheck(req, res) {
    const requestId = requestIdOf(first(req.headers['x-request-id']));
    const started = process.hrtime.bigint();
    await decide(req, res, requestId);
    const ns = Number(process.hrtime.bigint() - started);
    meter?.observe(ns / 1e9);
    // Thousands a second: the access line would cost more than the check, so it is debug only.
    if (ctx.log.isLevelEnabled('debug')) {
      const ms = ns / 1e6;
      ctx.log.debug({ requestId, method: req.method, route: GATEWAY_CHECK_PATH, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
