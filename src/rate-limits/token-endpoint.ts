import Provider, { errors } from 'oidc-provider';
import type { RateLimits } from './service.js';

/** A provider endpoint's answer to a caller over its limit: 429 `slow_down` in the endpoint's usual error body. */
export class SlowDown extends errors.OIDCProviderError {
  constructor(description: string) {
    super(429, 'slow_down');
    this.error_description = description;
  }
}

/**
 * Token endpoint failures per client (`/oauth2/token`, its alias and `/openapi/v1/token`, which
 * all end in the provider's token route), counted inside oidc-provider so the client is the one
 * its own client authentication names:
 * - `refuseLimited` runs in the client lookup, before the secret, the assertion or the code is
 *   looked at: once a client has used up its budget, every token request naming it answers 429
 *   `slow_down` with `Retry-After` until the window ends, whatever the secret, so guessing learns
 *   nothing. It asks memory only (limited clients are known on every node), so a grant pays nothing.
 * - `countFailures` counts an `invalid_client` or `invalid_grant` answer against the client that
 *   was found (an unknown client id has nothing to protect).
 */
export function tokenFailureLimits(limits: RateLimits) {
  return {
    refuseLimited(clientId: string): void {
      const koaCtx = Provider.ctx;
      if (koaCtx?.oidc?.route !== 'token') return;
      const retryAfter = limits.tokenRetryAfter(clientId);
      if (retryAfter === undefined) return;
      koaCtx.set('Retry-After', String(retryAfter));
      throw new SlowDown(`too many failed token requests for this client; retry after ${retryAfter} seconds`);
    },

    countFailures(provider: Provider): void {
      provider.use(async (koaCtx, next) => {
        await next();
        if (koaCtx.oidc?.route !== 'token' || !koaCtx.oidc.client) return;
        const error = (koaCtx.body as { error?: unknown } | null | undefined)?.error;
        if (error === 'invalid_client' || error === 'invalid_grant') await limits.tokenFailed(koaCtx.oidc.client.clientId);
      });
    },
  };
}
