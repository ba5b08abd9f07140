import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one. */
export const requestIdOf = (incoming: string | undefined): string => (incoming && INCOMING_ID.test(incoming) ? incoming : randomUUID());

/** Told of every answered request (metrics); `route` is a template or 'unmatched', never a raw path. */
export type RequestObserver = (method: string, route: string, status: number, seconds: number) => void;

/**
 * Keeps the first route template a router assigns to `_matchedRoute`: @koa/router assigns it again
 * for each router-level middleware it runs (a path-less `use()`, like the session check, writes
 * its pattern `(?:\/|$)`), and a route that hands on to oidc-provider (/openapi/v1/token) has it
 * overwritten by the provider's router. The first is the route the request was routed to.
 */
function keepFirstRoute(ctx: Koa.Context): () => string {
  let route: string | undefined;
  Object.defineProperty(ctx, '_matchedRoute', {
    configurable: true,
    get: () => route,
    set: (value: unknown) => { if (route === undefined && typeof value === 'string') route = value; },
  });
  return () => route ?? 'unmatched';
}

/** Request id (kept from X-Request-Id when sane), a child logger made on first use, one access-log line, and the metrics. */
export function requestContext(log: Logger, observe?: RequestObserver): Koa.Middleware {
  // The access-log line holds fixed fields only (request id, method, route template, status,
  // time): nothing to censor, and the logger's wildcard redaction would cost ~35 µs a line.
  const accessLog = log.child({}, { redact: [] });
  return async function tagAndLogRequest(ctx, next) {
    const requestId = requestIdOf(ctx.get('X-Request-Id'));
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= log.child({ requestId })), enumerable: true });
    ctx.set('X-Request-Id', requestId);
    const routeOf = keepFirstRoute(ctx);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const logged = log.isLevelEnabled('info');
      if (logged || observe) {
        // The route template, never the raw path: paths may carry ids, query strings may carry secrets.
        const route = routeOf();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        observe?.(ctx.method, route, ctx.status, seconds);
        if (logged) accessLog.info({ requestId, method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    }
  };
}
