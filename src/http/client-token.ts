import type Koa from 'koa';
import { REFUSALS, type VerifyAccessToken } from '../oidc/access-tokens.js';
import { Forbidden, Unauthenticated } from './errors.js';

/** An application acting for itself: its own client, with a client_credentials access token. */
export interface ApplicationCaller { clientId: string; applicationId: string }

declare module 'koa' {
  interface DefaultState { application?: ApplicationCaller }
}

const CHALLENGE = 'Bearer realm="portico"';

/** The token of `Authorization: Bearer <token>` (fetch trims a trailing space, so the scheme alone counts as none). */
export function bearerOf(ctx: Koa.Context): string | undefined {
  const header = ctx.get('Authorization').trim();
  return /^Bearer(\s|$)/i.test(header) ? header.slice('Bearer'.length).trim() || undefined : undefined;
}

/**
 * Management API routes called by an application's back end rather than a person: the caller
 * presents an access token of the application's own client from the client_credentials grant
 * (`sub` is the client). A user's token from the code flow, a tenant client's token, an invalid
 * or missing one: 401 with a Bearer challenge. A genuine token of a suspended application or of
 * a banned owner: 403.
 */
export function requireApplicationToken(verifyAccessToken: VerifyAccessToken, audience: string): Koa.Middleware {
  return async function authenticateApplication(ctx, next) {
    const token = bearerOf(ctx);
    if (!token) {
      ctx.set('WWW-Authenticate', CHALLENGE);
      throw new Unauthenticated('An access token of the application is required: Authorization: Bearer <token from the client_credentials grant>.');
    }
    const check = await verifyAccessToken(token, { audience });
    const invalid = (detail: string) => {
      ctx.set('WWW-Authenticate', `${CHALLENGE}, error="invalid_token"`);
      return new Unauthenticated(detail);
    };
    if (check.status === 'invalid') throw invalid('The access token is invalid or expired.');
    const { payload, client } = check;
    if (payload.sub !== payload.client_id || !client.applicationId || client.tenantId !== null) {
      throw invalid("This needs the application's own client_credentials token, not a token issued for a user.");
    }
    if (check.status === 'refused') throw new Forbidden(`The application may not act: ${REFUSALS[check.reason]}.`);
    ctx.state.application = { clientId: String(payload.client_id), applicationId: client.applicationId };
    await next();
  };
}

/** The application of a route behind requireApplicationToken. */
export function applicationOf(ctx: Koa.Context): ApplicationCaller {
  const application = ctx.state.application;
  if (!application) throw new Unauthenticated();
  return application;
}
