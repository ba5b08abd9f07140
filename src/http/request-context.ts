import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * Request id (kept from X-Request-Id when sane), a child logger made on first use, and one
 * access-log line: at debug level for `quiet` paths (the gateway check, thousands a second, where
 * the line would cost more than the check itself), at info for the rest.
 */
export function requestContext(log: Logger, quiet: (path: string) => boolean = () => false): Koa.Middleware {
  return async function tagAndLogRequest(ctx, next) {
    const incoming = ctx.get('X-Request-Id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (child ??= log.child({ requestId })), enumerable: true });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const level = quiet(ctx.path) ? 'debug' : 'info';
      if (log.isLevelEnabled(level)) {
        // The route template, never the raw path: paths may carry ids, query strings may carry secrets.
        const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log[level]({ requestId, method: ctx.method, route, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }
  };
}
