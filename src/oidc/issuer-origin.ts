import type Koa from 'koa';

/**
 * oidc-provider builds every absolute URL (discovery, redirects, cookies' Secure flag) from the
 * request's scheme and host. The contract makes ISSUER the base of every absolute URL, as
 * Keycloak's and Hydra's configured public URLs are, so requests that reach the provider are
 * seen at the issuer's origin, whatever name or proxy they came through.
 */
export function atIssuerOrigin(issuer: string): Koa.Middleware {
  const url = new URL(issuer);
  const protocol = url.protocol.slice(0, -1);
  return async function seeRequestAtIssuerOrigin(ctx, next) {
    Object.defineProperties(ctx.request, {
      protocol: { get: () => protocol, configurable: true },
      host: { get: () => url.host, configurable: true },
      hostname: { get: () => url.hostname, configurable: true },
    });
    await next();
  };
}
