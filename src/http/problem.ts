import type Koa from 'koa';
import { MethodNotAllowed, NotFound, PorticoError, RateLimited } from './errors.js';

const PROBLEM_TYPE = 'application/problem+json';

function send(ctx: Koa.Context, error: PorticoError): void {
  ctx.status = error.status;
  if (error instanceof RateLimited) ctx.set('Retry-After', String(error.retryAfter));
  ctx.type = PROBLEM_TYPE;
  ctx.body = {
    ...error.extensions,
    type: `urn:portico:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    requestId: ctx.state.requestId,
  };
}

/** A thrown error as the client's mistake it reports: ours, or a library's HTTP 4xx; undefined for anything else. */
export function asClientError(err: unknown): PorticoError | undefined {
  if (err instanceof PorticoError) return err;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500
    ? new PorticoError(status, 'bad_request', 'Bad request', 'The request could not be understood.')
    : undefined;
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
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new NotFound('route');
        // The router answers 405 for a known path, 501 for a method it does not know at all.
        if (ctx.status === 405 || ctx.status === 501) throw new MethodNotAllowed(ctx.response.get('Allow') || 'none');
      }
    } catch (err) {
      const known = asClientError(err);
      if (known) return send(ctx, known);
      ctx.state.log?.error({ err }, 'unexpected error');
      send(ctx, new PorticoError(500, 'internal_error', 'Internal error', 'Something went wrong on our side. Quote the request id when reporting it.'));
    }
  };
}
