import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Request id (kept from X-Request-Id when sane), a child logger, and one access-log line. */
export function requestContext(log: Logger): Koa.Middleware {
  return async function tagAndLogRequest(ctx, next) {
    const incoming = ctx.get('X-Request-Id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // The route template, never the raw path: paths may carry ids, query strings may carry secrets.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.info({ method: ctx.method, route, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}
