import type Koa from 'koa';
import * as oidc from 'openid-client';
import type { ProviderRef } from '../oidc/live-provider.js';
import { setSessionCookies } from '../accounts/routes.js';
import type { SessionService } from '../accounts/sessions.js';
import type { AppContext } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import { safeEqual } from '../crypto/tokens.js';
import type { IdentityProviderRow } from '../db/types.js';
import { PorticoError } from '../http/errors.js';
import { actorOf, cookieDefaults } from '../http/session.js';
import { callbackPath, type FederationService } from './service.js';
import { describeFailure, IssuerMetadataInvalid, IssuerUnreachable, isUnreachable } from './upstream.js';

/**
 * The browser side of enterprise SSO. What the callback must check (state, nonce, PKCE verifier)
 * and where to return (a pending authorization or a portal page) travel in a short-lived cookie
 * sealed with AES-GCM: nothing to store or sweep, works on any node. Its associated data names the
 * provider, and its path is that provider's callback, so it is only ever opened there.
 */
const STATE_COOKIE = 'portico_sso';
const STATE_TTL_MS = 10 * 60_000;
/** Hands the signed-in account from the callback to /interaction/<uid>/sso, where the interaction cookie is sent. */
const DONE_COOKIE = 'portico_sso_done';
const DONE_TTL_MS = 60_000;

/** Where a sign-in started: a pending authorization (its interaction uid) or a portal page. */
export type SsoOrigin = { interaction: string } | { next: string };

interface PendingSso { providerId: string; state: string; nonce: string; codeVerifier: string; origin: SsoOrigin; expiresAt: number }

export class SsoStateInvalid extends PorticoError {
  constructor() {
    super(400, 'sso_state_invalid', 'Sign-in expired',
      'This sign-in is not valid any more: it expired, was already used, or was started in another browser. Start again from the login page.');
  }
}

/** What the person sees when the identity provider said no, or could not be used. */
function upstreamProblem(err: unknown, name: string): PorticoError {
  if (err instanceof oidc.AuthorizationResponseError) {
    const why = err.error_description ? `${err.error}: ${err.error_description.slice(0, 200)}` : err.error;
    return new PorticoError(403, 'sso_denied', 'Sign-in refused', `${name} did not sign you in (${why}).`);
  }
  if (isUnreachable(err) || err instanceof IssuerUnreachable) {
    return new PorticoError(502, 'sso_unavailable', 'Identity provider unavailable', `${name} could not be reached. Try again later.`);
  }
  // The token endpoint said no (a wrong client secret, a code used twice); 401s come as a challenge.
  const refusal = err instanceof oidc.ResponseBodyError ? err.error
    : err instanceof oidc.WWWAuthenticateChallengeError ? err.cause[0]?.parameters.error ?? `HTTP ${err.status}` : undefined;
  if (refusal) return new PorticoError(502, 'sso_failed', 'Sign-in failed', `${name} refused to complete the sign-in (${refusal}).`);
  return new PorticoError(502, 'sso_failed', 'Sign-in failed', `The answer of ${name} could not be verified, so you were not signed in.`);
}

export function createSsoFlow(ctx: AppContext, deps: { federation: FederationService; sessions: SessionService; provider: ProviderRef }) {
  const { federation } = deps;
  const https = ctx.issuer.startsWith('https:');
  const now = () => ctx.clock.now().getTime();

  /** Runs a call to the identity provider; its failures become a clear page (4xx/502), logged without secrets. */
  async function upstreamCall<T>(koaCtx: Koa.Context, row: IdentityProviderRow, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof PorticoError && !(err instanceof IssuerUnreachable || err instanceof IssuerMetadataInvalid)) throw err;
      koaCtx.state.log?.warn({ provider: row.slug, reason: describeFailure(err) }, 'enterprise sign-in failed upstream');
      throw upstreamProblem(err, row.name);
    }
  }

  /** Reads and clears the state cookie of this provider's callback. */
  function takePending(koaCtx: Koa.Context, slug: string): PendingSso {
    const sealed = koaCtx.cookies.get(STATE_COOKIE, { signed: false });
    koaCtx.cookies.set(STATE_COOKIE, null, { path: callbackPath(slug), overwrite: true, signed: false });
    try {
      const pending = JSON.parse(unseal(ctx.keys.seal, sealed ?? '', `sso-state:${slug}`)) as PendingSso;
      if (pending.expiresAt > now()) return pending;
    } catch { /* absent, forged, or another provider's */ }
    throw new SsoStateInvalid();
  }

  return {
    /** The login pages' buttons. */
    providers: () => federation.enabledProviders(),

    /** Sends the browser to the identity provider (303), remembering what the callback must check. */
    async start(koaCtx: Koa.Context, slug: string, origin: SsoOrigin): Promise<void> {
      const row = await federation.enabledBySlug(slug);
      const request = await upstreamCall(koaCtx, row, async () =>
        federation.upstream.authorizationRequest(await federation.clientOf(row), { redirectUri: federation.redirectUriOf(row.slug), scopes: row.scopes }));
      const pending: PendingSso = { providerId: row.id, state: request.state, nonce: request.nonce, codeVerifier: request.codeVerifier, origin, expiresAt: now() + STATE_TTL_MS };
      koaCtx.cookies.set(STATE_COOKIE, seal(ctx.keys.seal, JSON.stringify(pending), `sso-state:${row.slug}`), {
        ...cookieDefaults(koaCtx, https), httpOnly: true, signed: false, path: callbackPath(row.slug), maxAge: STATE_TTL_MS,
      });
      koaCtx.status = 303;
      koaCtx.redirect(request.url);
    },

    /** GET /sso/<slug>/callback: checks the answer, finds or creates the account, and returns where the sign-in started. */
    async callback(koaCtx: Koa.Context, slug: string): Promise<void> {
      const pending = takePending(koaCtx, slug);
      const row = await federation.enabledBySlug(slug);
      const state = koaCtx.query.state;
      if (row.id !== pending.providerId || typeof state !== 'string' || !safeEqual(state, pending.state)) throw new SsoStateInvalid();
      const answer = new URL(federation.redirectUriOf(slug));
      answer.search = koaCtx.querystring;
      const claims = await upstreamCall(koaCtx, row, async () => federation.upstream.exchange(await federation.clientOf(row), answer, pending));
      const account = await federation.signIn(actorOf(koaCtx), row, claims);
      koaCtx.status = 303;
      if ('interaction' in pending.origin) {
        const uid = pending.origin.interaction;
        const done = seal(ctx.keys.seal, JSON.stringify({ accountId: account.id, expiresAt: now() + DONE_TTL_MS }), `sso-done:${uid}`);
        koaCtx.cookies.set(DONE_COOKIE, done, { ...cookieDefaults(koaCtx, https), httpOnly: true, signed: false, path: `/interaction/${uid}`, maxAge: DONE_TTL_MS });
        return koaCtx.redirect(`/interaction/${uid}/sso`);
      }
      const session = await deps.sessions.open({ ...actorOf(koaCtx), userAgent: koaCtx.get('User-Agent') || null }, account, { via: 'sso', provider: row.slug });
      setSessionCookies(koaCtx, session.token, session.csrfToken, https);
      koaCtx.redirect(pending.origin.next);
    },

    /** GET /interaction/<uid>/sso: finishes the pending authorization with the account the callback signed in. */
    async finishInteraction(koaCtx: Koa.Context, uid: string): Promise<void> {
      const sealed = koaCtx.cookies.get(DONE_COOKIE, { signed: false });
      koaCtx.cookies.set(DONE_COOKIE, null, { path: `/interaction/${uid}`, overwrite: true, signed: false });
      let accountId: string;
      try {
        const done = JSON.parse(unseal(ctx.keys.seal, sealed ?? '', `sso-done:${uid}`)) as { accountId: string; expiresAt: number };
        if (done.expiresAt <= now()) throw new Error('expired');
        accountId = done.accountId;
      } catch {
        throw new SsoStateInvalid();
      }
      let returnTo: string;
      try {
        returnTo = await deps.provider.current.interactionResult(koaCtx.req, koaCtx.res, { login: { accountId } }, { mergeWithLastSubmission: false });
      } catch {
        throw new PorticoError(400, 'interaction_expired', 'Sign-in expired', 'This sign-in has expired or was opened in another browser. Start again from the application.');
      }
      koaCtx.status = 303;
      koaCtx.redirect(returnTo);
    },
  };
}
export type SsoFlow = ReturnType<typeof createSsoFlow>;
