import coBody from 'co-body';
import type Koa from 'koa';
import { MalformedRequest, PayloadTooLarge, UnsupportedMediaType } from './errors.js';

export const JSON_BODY_LIMIT = '64kb';

function hasBody(ctx: Koa.Context): boolean {
  const length = ctx.get('Content-Length');
  return (length !== '' && length !== '0') || ctx.get('Transfer-Encoding') !== '';
}

const MAX_DEPTH = 32;

/** A UTF-16 surrogate without its other half (`"\ud800"` in JSON): not Unicode, and refused by PostgreSQL's jsonb. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a parsed JSON value is refused: a NUL byte or a lone surrogate anywhere (keys included), or
 * too deep a nesting. Neither text fits PostgreSQL's jsonb; also used on JSON the provider parses.
 */
export function jsonRefusal(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'Text must not contain NUL bytes.';
    return LONE_SURROGATE.test(value) ? 'Text must be valid Unicode (no lone surrogate escapes such as \\ud800).' : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `The body must not nest deeper than ${MAX_DEPTH} levels.`;
  for (const [key, inner] of Object.entries(value)) {
    const problem = jsonRefusal(key) ?? jsonRefusal(inner, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Parses JSON bodies of the management API: only application/json, at most 64 KiB, strict JSON
 * (an object or array at the top), no NUL bytes or lone surrogates, at most 32 levels deep. A
 * request without a body leaves `body` undefined.
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
    const problem = jsonRefusal(parsed);
    if (problem) throw new MalformedRequest(problem);
    ctx.request.body = parsed;
    return next();
  };
}

/** Parses an HTML form post (portal pages): urlencoded only, at most 16 KiB, no NUL bytes. */
export async function parseForm(ctx: Koa.Context): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new UnsupportedMediaType('The form must be application/x-www-form-urlencoded.');
  let parsed: Record<string, unknown>;
  try {
    parsed = await coBody.form(ctx.req, { limit: '16kb' });
  } catch (err) {
    if ((err as { status?: number }).status === 413) throw new PayloadTooLarge('16kb');
    throw new MalformedRequest('The form could not be read.');
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' || value.includes('\u0000') || key.includes('\u0000')) throw new MalformedRequest('Form fields must be single texts without NUL bytes.');
    fields[key] = value;
  }
  return fields;
}

declare module 'koa' {
  interface Request { body?: unknown }
}
