import type Koa from 'koa';
import type { Session, SessionService } from '../accounts/sessions.js';
import type { AppContext } from '../context.js';
import { keyedHash, randomToken, safeEqual } from '../crypto/tokens.js';
import { parseForm } from '../http/body.js';
import { PorticoError } from '../http/errors.js';
import { cookieDefaults, SESSION_COOKIE } from '../http/session.js';
import { NOTICES } from './notices.js';
import { renderPage } from './render.js';

/** A browser without a session gets this cookie, so the login and sign-up forms can carry a CSRF token too. */
const ANONYMOUS_COOKIE = 'portico_visitor';

export class FormExpired extends PorticoError {
  constructor() { super(403, 'csrf_failed', 'Form expired', 'The form expired. Go back, reload the page and try again.'); }
}

/** Where a page redirects after logging in: only a path on this site. */
export function safeNext(value: unknown, fallback = '/console/consumers'): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) && value.length < 500 ? value : fallback;
}

/**
 * Sessions of the portal pages: the session cookie (never a bearer header), and a CSRF token in a
 * hidden field of every form: the session's token when logged in, else one bound to a visitor cookie.
 */
export function createPageSessions(ctx: AppContext, sessions: SessionService) {
  async function current(koaCtx: Koa.Context): Promise<Session | undefined> {
    if (koaCtx.state.pageSession !== undefined) return koaCtx.state.pageSession ?? undefined;
    const token = koaCtx.cookies.get(SESSION_COOKIE, { signed: true });
    const session = token ? await sessions.authenticate(token) : undefined;
    koaCtx.state.pageSession = session ?? null;
    // The same actor for the audit log as on the API (actorOf, ownerOf, sessionOf).
    if (session) koaCtx.state.auth = { session, via: 'cookie' };
    return session;
  }

  /** To the login page, which comes back here after (a post cannot be replayed: then to `fallback`). */
  function toLogin(koaCtx: Koa.Context, fallback: string): void {
    koaCtx.status = 303;
    koaCtx.redirect(`/login?next=${encodeURIComponent(koaCtx.method === 'GET' ? koaCtx.originalUrl : fallback)}`);
  }

  const visitorCsrf = (visitor: string) => keyedHash(ctx.keys.csrf, `visitor:${visitor}`);

  function visitorToken(koaCtx: Koa.Context): string {
    let visitor = koaCtx.cookies.get(ANONYMOUS_COOKIE, { signed: true });
    if (!visitor) {
      visitor = randomToken();
      koaCtx.cookies.set(ANONYMOUS_COOKIE, visitor, { ...cookieDefaults(koaCtx, ctx.issuer.startsWith('https:')), httpOnly: true, signed: true });
    }
    return visitorCsrf(visitor);
  }

  return {
    current,

    /** Renders a portal page with what every page shows: who is logged in, the forms' CSRF token, a notice. */
    async render(koaCtx: Koa.Context, template: string, data: Record<string, unknown>, status = 200): Promise<void> {
      const session = await current(koaCtx);
      const key = koaCtx.query.notice;
      const notice = typeof key === 'string' && Object.hasOwn(NOTICES, key) ? NOTICES[key] : undefined;
      renderPage(koaCtx, template, { viewer: session?.account ?? null, csrfToken: await this.csrfToken(koaCtx), notice, path: koaCtx.path, ...data }, status);
    },

    /** After a form post: back to a page, with one of the fixed notices (never text from the request). */
    redirect(koaCtx: Koa.Context, path: string, notice?: keyof typeof NOTICES): void {
      koaCtx.status = 303;
      koaCtx.redirect(notice ? `${path}${path.includes('?') ? '&' : '?'}notice=${notice}` : path);
    },

    /** The CSRF token for the forms of this page. */
    async csrfToken(koaCtx: Koa.Context): Promise<string> {
      const session = await current(koaCtx);
      return session ? sessions.csrfToken(session.id) : visitorToken(koaCtx);
    },

    /** Reads a posted form and checks its CSRF token; 403 otherwise. */
    async form(koaCtx: Koa.Context): Promise<Record<string, string>> {
      const fields = await parseForm(koaCtx);
      const session = await current(koaCtx);
      const visitor = koaCtx.cookies.get(ANONYMOUS_COOKIE, { signed: true });
      const presented = fields._csrf ?? '';
      const valid = session ? sessions.verifyCsrf(session.id, presented) : visitor !== undefined && safeEqual(presented, visitorCsrf(visitor));
      if (!valid) throw new FormExpired();
      return fields;
    },

    /** Page middleware: the logged-in session, or a redirect to the login page that comes back here. */
    requireLogin(): Koa.Middleware {
      return async function loggedIn(koaCtx, next) {
        if (!(await current(koaCtx))) return toLogin(koaCtx, '/console/consumers');
        return next();
      };
    },

    requireAdmin(): Koa.Middleware {
      return async function adminOnly(koaCtx, next) {
        const session = await current(koaCtx);
        if (!session) return toLogin(koaCtx, '/admin');
        if (session.account.role !== 'admin') throw new PorticoError(403, 'forbidden', 'Administrators only', 'This page is for administrators.');
        return next();
      };
    },
  };
}
export type PageSessions = ReturnType<typeof createPageSessions>;

declare module 'koa' {
  interface DefaultState { pageSession?: Session | null }
}
