import type Koa from 'koa';

/**
 * Business codes of /openapi/v1 and /gateway/check (api.md sections 5 and 6); 1500 when
 * Portico could not decide (nothing is allowed then).
 */
export const BUSINESS_CODES = {
  success: 1000, invalid: 1101, missing: 1102, refused: 1200, noSubscription: 1300, quotaUsedUp: 1400, unavailable: 1500,
} as const;

/** A `{code, msg, ...extra}` answer with its headers, never cached. */
export function answerBusiness(koaCtx: Koa.Context, status: number, code: number, msg: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  koaCtx.status = status;
  koaCtx.set({ ...headers, 'Cache-Control': 'no-store' });
  koaCtx.body = { code, msg, ...extra };
}
