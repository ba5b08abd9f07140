import type Koa from 'koa';
import { MethodNotAllowed, NotFound, PorticoError } from './errors.js';

const PROBLEM_TYPE = 'application/problem+json';

function send(ctx: Koa.Context, error: PorticoError): void {
  ctx.status = error.status;
  ctx.type = PROBLEM_TYPE;
  ctx.body = {
    type: `urn:portico:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...error.extensions,
    requestId: ctx.state.requestId,
  };
}

/**
 * Renders every error as problem+json. Known errors keep their status; HTTP errors thrown by
 * libraries (body parser, router) keep theirs with a generic message; anything else is a 500
 * that is logged with the request id and answered without details.
 */
export function problemResponses(): Koa.Middleware {
  return async function renderProblems(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new NotFound('route');
    } catch (err) {
      if (err instanceof PorticoError) return send(ctx, err);
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        const allow = ctx.response.get('Allow');
        if (status === 405) return send(ctx, new MethodNotAllowed(allow || 'see the API documentation'));
        return send(ctx, new PorticoError(status, 'bad_request', 'Bad request', 'The request could not be understood.'));
      }
      ctx.state.log?.error({ err }, 'unexpected error');
      send(ctx, new PorticoError(500, 'internal_error', 'Internal error', 'Something went wrong on our side. Quote the request id when reporting it.'));
    }
  };
}
