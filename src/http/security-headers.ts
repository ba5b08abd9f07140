import type Koa from 'koa';

/** Sent with every answer. */
export const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' } as const;

export function securityHeaders(): Koa.Middleware {
  return async function setSecurityHeaders(ctx, next) {
    ctx.set(SECURITY_HEADERS);
    if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
