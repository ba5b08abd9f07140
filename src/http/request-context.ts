import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one. */
export const requestIdOf = (incoming: string | undefined): string => (incoming && INCOMING_ID.test(incoming) ? incoming : randomUUID());

/** Request id (kept from X-Request-Id when sane), a child logger made on first use, and one access-log line. */
export function requestContext(log: Logger): Koa.Middleware {
  return async function tagAndLogRequest(ctx, next) {
    const requestId = requestIdOf(ctx.get('X-Request-Id'));
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= log.child({ requestId })), enumerable: true });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('info')) {
        // The route template, never the raw path: paths may carry ids, query strings may carry secrets.
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log.info({ requestId, method: ctx.method, route, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }
  };
}
