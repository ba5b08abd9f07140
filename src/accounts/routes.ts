import type Router from '@koa/router';
import type Koa from 'koa';
import { noBody, validate } from '../http/validate.js';
import { actorOf, CSRF_COOKIE, requireSession, SESSION_COOKIE, sessionOf } from '../http/session.js';
import { loginBody, registerBody } from './schemas.js';
import type { AccountService } from './service.js';
import { SESSION_TTL_SECONDS, type SessionService } from './sessions.js';

function setSessionCookies(ctx: Koa.Context, token: string, csrfToken: string, secure: boolean): void {
  // An https issuer means TLS ends in front of us, even when the proxy is not trusted to say so.
  if (secure) ctx.cookies.secure = true;
  const common = { sameSite: 'lax' as const, secure: secure || ctx.secure, path: '/', maxAge: SESSION_TTL_SECONDS * 1000, overwrite: true };
  ctx.cookies.set(SESSION_COOKIE, token, { ...common, httpOnly: true, signed: true });
  // Readable by the page's own scripts, which echo it in X-CSRF-Token (double submit, bound to the session).
  ctx.cookies.set(CSRF_COOKIE, csrfToken, { ...common, httpOnly: false, signed: false });
}

function clearSessionCookies(ctx: Koa.Context): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) ctx.cookies.set(name, null, { path: '/', overwrite: true });
}

/** Registration and the session endpoints: /api/v1/developers, /api/v1/auth/*, /api/v1/me. */
export function mountAccountRoutes(router: Router, accounts: AccountService, sessions: SessionService, options: { secureCookies: boolean }): void {
  router.post('/api/v1/developers', async (ctx) => {
    const { body } = validate(ctx, { body: registerBody });
    ctx.status = 201;
    ctx.body = await accounts.register(actorOf(ctx), body);
  });

  router.post('/api/v1/auth/login', async (ctx) => {
    const { body } = validate(ctx, { body: loginBody });
    const result = await sessions.login({ ...actorOf(ctx), userAgent: ctx.get('User-Agent') || null }, body.username, body.password);
    setSessionCookies(ctx, result.token, result.csrfToken, options.secureCookies);
    ctx.body = { token: result.token, expiresIn: result.expiresIn, account: result.account, csrfToken: result.csrfToken };
  });

  const session = requireSession(sessions);

  router.post('/api/v1/auth/logout', session, async (ctx) => {
    validate(ctx, { body: noBody });
    await sessions.logout(actorOf(ctx), sessionOf(ctx));
    clearSessionCookies(ctx);
    ctx.status = 204;
  });

  router.get('/api/v1/me', session, async (ctx) => {
    ctx.body = { account: sessionOf(ctx).account };
  });
}
