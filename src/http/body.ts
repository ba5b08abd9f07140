import coBody from 'co-body';
import type Koa from 'koa';
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from './errors.js';

export const JSON_BODY_LIMIT = '64kb';

function hasBody(ctx: Koa.Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/** Finds a NUL byte anywhere in a parsed JSON value (keys included). */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  }
  return false;
}

/**
 * Parses JSON bodies of the management API: only application/json, at most 64 KiB, strict JSON
 * (an object or array at the top), no NUL bytes. A request without a body leaves `body` undefined.
 */
export function jsonBody(): Koa.Middleware {
  return async function parseJsonBody(ctx, next) {
    if (!hasBody(ctx)) return next();
    if (!ctx.is('application/json', 'application/*+json')) throw new UnsupportedMediaType();
    let parsed: unknown;
    try {
      parsed = await coBody.json(ctx.req, { limit: JSON_BODY_LIMIT, strict: true });
    } catch (err) {
      const e = err as { type?: string; status?: number };
      if (e.type === 'entity.too.large' || e.status === 413) throw new PayloadTooLarge(JSON_BODY_LIMIT);
      if (e.type === 'encoding.unsupported' || e.status === 415) throw new UnsupportedMediaType('The body must be UTF-8 JSON.');
      throw new MalformedRequest('The body is not valid JSON.');
    }
    if (containsNul(parsed)) throw new MalformedRequest('Text must not contain NUL bytes.');
    ctx.request.body = parsed;
    return next();
  };
}

declare module 'koa' {
  interface Request { body?: unknown }
}
