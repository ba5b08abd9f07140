import type Koa from 'koa';
import type { Actor } from '../context.js';
import type { Session, SessionService } from '../accounts/sessions.js';
import { CsrfFailed, Forbidden, Unauthenticated } from './errors.js';

export const SESSION_COOKIE = 'portico_session';
export const CSRF_COOKIE = 'portico_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthState { session: Session; via: 'bearer' | 'cookie' }

declare module 'koa' {
  interface DefaultState { auth?: AuthState; requestId: string; log: import('pino').Logger }
}

/**
 * Resolves the caller's session from `Authorization: Bearer` or the session cookie. A bearer
 * header that does not name a live session is refused outright (no fallback to the cookie).
 * Cookie-authenticated unsafe methods must carry the CSRF token.
 */
export function requireSession(sessions: SessionService): Koa.Middleware {
  return async function authenticate(ctx, next) {
    const header = ctx.get('Authorization');
    let via: AuthState['via'];
    let token: string | undefined;
    if (header) {
      const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header);
      if (!match) throw new Unauthenticated('The Authorization header must be "Bearer <session token>".');
      token = match[1];
      via = 'bearer';
    } else {
      token = ctx.cookies.get(SESSION_COOKIE, { signed: true });
      via = 'cookie';
    }
    const session = token ? await sessions.authenticate(token) : undefined;
    if (!session) throw new Unauthenticated();
    if (via === 'cookie' && !SAFE_METHODS.has(ctx.method)) {
      const presented = ctx.get(CSRF_HEADER);
      if (!presented || !sessions.verifyCsrf(session.id, presented)) throw new CsrfFailed();
    }
    ctx.state.auth = { session, via };
    return next();
  };
}

export function requireAdmin(): Koa.Middleware {
  return async function onlyAdmins(ctx, next) {
    if (ctx.state.auth?.session.account.role !== 'admin') throw new Forbidden('This needs an administrator.');
    return next();
  };
}

/** The session of a route behind requireSession. */
export function sessionOf(ctx: Koa.Context): Session {
  const auth = ctx.state.auth;
  if (!auth) throw new Unauthenticated();
  return auth.session;
}

/**
 * Options shared by Portico's cookies. An https issuer means TLS ends in front of us, even when
 * the proxy is not trusted to say so: Koa must then be told the connection is secure.
 */
export function cookieDefaults(ctx: Koa.Context, httpsIssuer: boolean) {
  if (httpsIssuer) ctx.cookies.secure = true;
  return { sameSite: 'lax' as const, secure: httpsIssuer || ctx.secure, path: '/', overwrite: true };
}

/** Who is acting, for the audit log. */
export function actorOf(ctx: Koa.Context): Actor {
  return { accountId: ctx.state.auth?.session.account.id ?? null, ip: ctx.ip || null, requestId: ctx.state.requestId };
}

/** The actor of a route behind requireSession, who owns what it creates. */
export function ownerOf(ctx: Koa.Context): Actor & { accountId: string } {
  return { ...actorOf(ctx), accountId: sessionOf(ctx).account.id };
}
