import type Router from '@koa/router';
import coBody from 'co-body';
import type Koa from 'koa';
import type { AppContext } from '../context.js';
import { safeEqual } from '../crypto/tokens.js';
import type { ClientStore } from './clients.js';
import { OIDC_ROUTES } from './routes.js';
import type { RevokedGrants } from './revoked-grants.js';
import type { VerifyAccessToken } from './access-tokens.js';
import { revokeGrantArtifacts } from './adapter.js';

function oauthError(ctx: Koa.Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="portico"');
  ctx.body = { error, error_description: description };
}

/** The client's id and secret from the Basic header (form-urlencoded inside) or the form. */
function presentedCredentials(ctx: Koa.Context, form: Record<string, unknown>): { id: string; secret: string } | undefined {
  const header = ctx.get('Authorization');
  if (header) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
    const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 1) return undefined;
    try {
      return { id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')) };
    } catch {
      return undefined;
    }
  }
  return typeof form.client_id === 'string' && typeof form.client_secret === 'string' ? { id: form.client_id, secret: form.client_secret } : undefined;
}

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of JWT access tokens. oidc-provider does not
 * store JWTs: it would call every one inactive and refuse to revoke them. Portico answers from the
 * signature, the expiry and the grant's state (not revoked, owner and client in good standing);
 * revoking a user's access token revokes its whole grant (refresh tokens included). Opaque
 * tokens (refresh tokens) go on to the provider. A client may act only on its own tokens.
 */
export function mountJwtTokenEndpoints(router: Router, ctx: AppContext, deps: { verifyAccessToken: VerifyAccessToken; clients: ClientStore; revokedGrants: RevokedGrants }): void {
  /** The token's check, when it is this client's (a token of another client is nothing to it). */
  async function checkOwn(token: string, clientId: string) {
    const check = await deps.verifyAccessToken(token);
    return check.status !== 'invalid' && check.payload.client_id === clientId ? check : undefined;
  }

  /** For a JWT in the form, the authenticated client's id and the token; otherwise the provider's turn. */
  function forJwts(handle: (koaCtx: Koa.Context, token: string, clientId: string) => Promise<void>): Koa.Middleware {
    return async (koaCtx, next) => {
      if (!koaCtx.is('application/x-www-form-urlencoded')) return next();
      let form: Record<string, unknown>;
      try {
        form = await coBody.form(koaCtx.req, { limit: '16kb' });
      } catch {
        return oauthError(koaCtx, 400, 'invalid_request', 'failed to parse the request body');
      }
      koaCtx.request.body = form; // read by the provider when the token is not ours to answer
      if (typeof form.token !== 'string' || form.token.split('.').length !== 3) return next();
      const credentials = presentedCredentials(koaCtx, form);
      const client = credentials ? await deps.clients.find(credentials.id) : undefined;
      const secret = client?.metadata.client_secret;
      if (!credentials || typeof secret !== 'string' || !safeEqual(secret, credentials.secret)) {
        return oauthError(koaCtx, 401, 'invalid_client', 'client authentication failed');
      }
      koaCtx.set('Cache-Control', 'no-store');
      await handle(koaCtx, form.token, credentials.id);
    };
  }

  router.post(OIDC_ROUTES.introspection, forJwts(async (koaCtx, token, clientId) => {
    const check = await checkOwn(token, clientId);
    koaCtx.body = check?.status === 'valid' ? { active: true, token_type: 'Bearer', ...check.payload } : { active: false };
  }));

  // RFC 7009: 200 whatever the token was; only a live user token of this client changes anything.
  // A token refused only because its user is banned is revoked too: an unban must not revive it.
  router.post(OIDC_ROUTES.revocation, forJwts(async (koaCtx, token, clientId) => {
    const check = await checkOwn(token, clientId);
    const grantId = check && (check.status === 'valid' || check.reason === 'user_inactive') ? check.payload.grant_id : undefined;
    if (typeof grantId === 'string') {
      await revokeGrantArtifacts(ctx.db, grantId);
      await deps.revokedGrants.revoke(grantId);
    }
    koaCtx.status = 200;
    koaCtx.body = '';
  }));
}
