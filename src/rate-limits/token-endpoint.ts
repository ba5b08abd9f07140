import coBody from 'co-body';
import type Koa from 'koa';
import { OIDC_ROUTES } from '../oidc/routes.js';
import type { RateLimits } from './service.js';

/** oidc-provider's own limit for a token request's body. */
const FORM_LIMIT = '56kb';

/**
 * The form of a token request, read here so the client id is known before the provider runs; the
 * raw text is handed on as `request.body`, which the provider parses exactly as it would have
 * parsed the stream. A body parsed upstream (/openapi/v1/token) is used as it is.
 */
async function readForm(koaCtx: Koa.Context): Promise<Record<string, unknown>> {
  const parsed = koaCtx.request.body;
  if (parsed !== undefined) return typeof parsed === 'object' && parsed !== null ? parsed as Record<string, unknown> : {};
  if (!koaCtx.is('application/x-www-form-urlencoded') || !koaCtx.req.readable) return {};
  const text = await coBody.text(koaCtx.req, { limit: FORM_LIMIT });
  koaCtx.request.body = text;
  return Object.fromEntries(new URLSearchParams(text));
}

/** The client a token request names: the Basic header's user, else `client_id`, else a client assertion's subject. */
function clientIdOf(koaCtx: Koa.Context, form: Record<string, unknown>): string | undefined {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(koaCtx.get('Authorization'));
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return undefined;
    try {
      return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    } catch {
      return decoded.slice(0, colon);
    }
  }
  if (typeof form.client_id === 'string' && form.client_id) return form.client_id;
  if (typeof form.client_assertion === 'string') {
    try {
      const payload = JSON.parse(Buffer.from(form.client_assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
      return typeof payload.sub === 'string' && payload.sub ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Failures of the token endpoint per client (`/oauth2/token`, its alias and `/openapi/v1/token`,
 * which all reach the provider through here): an `invalid_client` or `invalid_grant` answer
 * counts; once a client has used up its budget, every request naming it answers 429 `slow_down`
 * with `Retry-After` until the window ends, whatever the secret, so guessing learns nothing.
 * A successful grant asks no store: limited clients are known in memory on every node.
 */
export function limitTokenFailures(limits: RateLimits): Koa.Middleware {
  return async function tokenFailureLimit(koaCtx, next) {
    if (koaCtx.method !== 'POST' || koaCtx.path !== OIDC_ROUTES.token) return next();
    let form: Record<string, unknown>;
    try {
      form = await readForm(koaCtx);
    } catch {
      // What the provider answers for a body it cannot read.
      koaCtx.status = 400;
      koaCtx.set('Cache-Control', 'no-store');
      koaCtx.body = { error: 'invalid_request', error_description: 'failed to parse the request body' };
      return;
    }
    const clientId = clientIdOf(koaCtx, form);
    if (clientId === undefined) return next();
    const retryAfter = limits.tokenRetryAfter(clientId);
    if (retryAfter !== undefined) {
      koaCtx.status = 429;
      koaCtx.set({ 'Retry-After': String(retryAfter), 'Cache-Control': 'no-store' });
      koaCtx.body = { error: 'slow_down', error_description: `too many failed token requests for this client; retry after ${retryAfter} seconds` };
      return;
    }
    await next();
    const error = (koaCtx.body as { error?: unknown } | null | undefined)?.error;
    if (error === 'invalid_client' || error === 'invalid_grant') await limits.tokenFailed(clientId);
  };
}
