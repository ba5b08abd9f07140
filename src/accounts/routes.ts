import type Koa from 'koa';
import type { ApiRegistrar } from '../http/api-routes.js';
import { noBody } from '../http/validate.js';
import { actorOf, cookieDefaults, CSRF_COOKIE, requireSession, SESSION_COOKIE, sessionOf } from '../http/session.js';
import { loginBody, registerBody } from './schemas.js';
import type { RateLimits } from '../rate-limits/service.js';
import type { AccountService } from './service.js';
import { SESSION_TTL_SECONDS, type SessionService } from './sessions.js';

/** Sets the session cookie and the CSRF cookie of a new session (API login and the portal's login form). */
export function setSessionCookies(ctx: Koa.Context, token: string, csrfToken: string, secure: boolean): void {
  const common = { ...cookieDefaults(ctx, secure), maxAge: SESSION_TTL_SECONDS * 1000 };
  ctx.cookies.set(SESSION_COOKIE, token, { ...common, httpOnly: true, signed: true });
  // Readable by the page's own scripts, which echo it in X-CSRF-Token (double submit, bound to the session).
  ctx.cookies.set(CSRF_COOKIE, csrfToken, { ...common, httpOnly: false, signed: false });
}

export function clearSessionCookies(ctx: Koa.Context): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) ctx.cookies.set(name, null, { path: '/', overwrite: true });
}

/** Registration and the session endpoints: /api/v1/developers, /api/v1/auth/*, /api/v1/me. */
export function mountAccountRoutes(api: ApiRegistrar, accounts: AccountService, sessions: SessionService, options: { secureCookies: boolean; rateLimits: RateLimits }): void {
  api.post('/api/v1/developers', { summary: 'Register a developer account', status: 201, body: registerBody }, async ({ body }, ctx) => {
    await options.rateLimits.admitRegistration(actorOf(ctx));
    return accounts.register(actorOf(ctx), body);
  });

  api.post('/api/v1/auth/login', { summary: 'Log in: a session token and an HttpOnly session cookie', body: loginBody }, async ({ body }, ctx) => {
    const result = await sessions.login({ ...actorOf(ctx), userAgent: ctx.get('User-Agent') || null }, body.username, body.password);
    setSessionCookies(ctx, result.token, result.csrfToken, options.secureCookies);
    return { token: result.token, expiresIn: result.expiresIn, account: result.account, csrfToken: result.csrfToken };
  });

  const session = requireSession(sessions);

  api.post('/api/v1/auth/logout', { summary: 'End the session', status: 204, access: 'session', use: [session], body: noBody }, async (_input, ctx) => {
    await sessions.logout(actorOf(ctx), sessionOf(ctx));
    clearSessionCookies(ctx);
  });

  api.get('/api/v1/me', { summary: 'The account of the session', access: 'session', use: [session] }, (_input, ctx) =>
    ({ account: sessionOf(ctx).account }));
}
