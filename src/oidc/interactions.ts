import type Router from '@koa/router';
import type Koa from 'koa';
import type { SessionService } from '../accounts/sessions.js';
import type { AppContext } from '../context.js';
import { keyedHash, safeEqual } from '../crypto/tokens.js';
import { slugParams } from '../federation/schemas.js';
import type { SsoFlow } from '../federation/sso.js';
import { parseForm } from '../http/body.js';
import { AccountNotActive, InvalidCredentials, PorticoError, RateLimited } from '../http/errors.js';
import { actorOf } from '../http/session.js';
import { uuid, validate } from '../http/validate.js';
import { LOGIN_MESSAGES } from '../portal/notices.js';
import { renderPage } from '../portal/render.js';
import type { ProviderRef } from './live-provider.js';
import type { GatewayCache } from '../gateway/cache.js';
import { isProtectedResource } from '../mcp/metadata.js';
import type { ClientStore } from './clients.js';
import type { ConsumerService } from '../consumers/service.js';
import type { ClientRegistration } from '../client-registration/service.js';

const isUuid = (value: string) => uuid.safeParse(value).success;

const SCOPE_LABELS: Record<string, string> = {
  openid: 'Know who you are (your account id)',
  profile: 'Read your username',
  email: 'Read your email address',
  offline_access: 'Stay connected while you are away',
};


/** Why the tenant prompt refused (its details, made by tenants.ts). */
const tenantDenialOf = (interaction: { prompt: { details: Record<string, unknown> } }) =>
  String(interaction.prompt.details.tenantDenial ?? 'The organization has not granted you access to this application.');

/**
 * The login and consent pages of the authorization flow (/interaction/:uid). They work without
 * JavaScript; every form carries a CSRF token bound to the interaction, which the provider's
 * own interaction cookie binds to this browser.
 */
export function mountInteractionRoutes(router: Router, ctx: AppContext, provider: ProviderRef, deps: {
  sessions: SessionService; sso: SsoFlow; products: GatewayCache; clients: ClientStore; consumers: ConsumerService; clientRegistration: ClientRegistration;
}): void {
  const { sessions, sso, products } = deps;
  const csrfTokenOf = (uid: string) => keyedHash(ctx.keys.csrf, `interaction:${uid}`);

  /** The browser's interaction (its cookie names it), which must be the one in the path. */
  async function details(koaCtx: Koa.Context) {
    const expired = () => new PorticoError(400, 'interaction_expired', 'Sign-in expired', 'This sign-in has expired or was opened in another browser. Start again from the application.');
    const interaction = await provider.current.interactionDetails(koaCtx.req, koaCtx.res).catch(() => { throw expired(); });
    if (interaction.uid !== koaCtx.params?.uid) throw expired();
    return interaction;
  }

  /** Reads the form of a POST and checks its CSRF token; answers 403 otherwise. */
  async function form(koaCtx: Koa.Context, uid: string): Promise<Record<string, string>> {
    const fields = await parseForm(koaCtx);
    if (!fields._csrf || !safeEqual(fields._csrf, csrfTokenOf(uid))) {
      throw new PorticoError(403, 'csrf_failed', 'CSRF check failed', 'The form expired. Go back and try again.');
    }
    return fields;
  }

  async function clientName(clientId: unknown): Promise<string> {
    const client = typeof clientId === 'string' ? await provider.current.Client.find(clientId) : undefined;
    return (client?.clientName as string | undefined) ?? 'An application';
  }

  async function isRegistered(clientId: unknown): Promise<boolean> {
    return typeof clientId === 'string' && !!(await deps.clients.lookup(clientId))?.record.registered;
  }

  async function showLogin(koaCtx: Koa.Context, uid: string, clientId: unknown, extra: { error?: string; username?: string } = {}, status = 200) {
    renderPage(koaCtx, 'login', {
      title: 'Log in', action: `/interaction/${uid}/login`, csrfToken: csrfTokenOf(uid), clientName: await clientName(clientId),
      ssoProviders: await sso.providers(), ssoAction: `/interaction/${uid}/sso/`, ...extra,
    }, status);
  }

  router.get('/interaction/:uid', async (koaCtx) => {
    const interaction = await details(koaCtx);
    const { uid, prompt, params } = interaction;
    if (prompt.name === 'login') return showLogin(koaCtx, uid, params.client_id);
    // The organization does not let this account use the application: say why, then tell the client.
    if (prompt.name === 'tenant') {
      return renderPage(koaCtx, 'tenant-denied', {
        title: 'Access not granted', reason: tenantDenialOf(interaction), clientName: await clientName(params.client_id),
        csrfToken: csrfTokenOf(uid), abortAction: `/interaction/${uid}/abort`,
      }, 403);
    }
    const scopes = String(params.scope ?? 'openid').split(' ').filter(Boolean);
    // The MCP products asked for by resource indicator (RFC 8707), by name.
    const resources = [params.resource].flat().filter((r): r is string => typeof r === 'string');
    const mcpProducts = (await Promise.all(resources.map((r) => products.productByResource(r)))).filter(isProtectedResource);
    // A client that registered itself is unverified, and its user's own consumer pays for the calls.
    const registered = await isRegistered(params.client_id);
    renderPage(koaCtx, 'consent', {
      title: 'Allow access', clientName: await clientName(params.client_id), csrfToken: csrfTokenOf(uid),
      scopes: scopes.map((s) => ({ label: SCOPE_LABELS[s] ?? s })), products: mcpProducts.map((p) => p.name),
      registered, redirectHost: registered ? URL.parse(String(params.redirect_uri))?.host ?? '' : '',
      consumers: registered && interaction.session ? await deps.consumers.listOfAccount(interaction.session.accountId) : [],
      confirmAction: `/interaction/${uid}/confirm`, abortAction: `/interaction/${uid}/abort`,
    });
  });

  router.post('/interaction/:uid/login', async (koaCtx) => {
    const interaction = await details(koaCtx);
    const fields = await form(koaCtx, interaction.uid);
    try {
      const account = await sessions.verifyCredentials(fields.username ?? '', fields.password ?? '', actorOf(koaCtx));
      const returnTo = await provider.current.interactionResult(koaCtx.req, koaCtx.res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
      koaCtx.status = 303;
      koaCtx.redirect(returnTo);
    } catch (err) {
      if (!(err instanceof InvalidCredentials || err instanceof AccountNotActive || err instanceof RateLimited)) throw err;
      if (err instanceof RateLimited) koaCtx.set('Retry-After', String(err.retryAfter));
      const message = err instanceof RateLimited ? err.message : LOGIN_MESSAGES[err.code];
      await showLogin(koaCtx, interaction.uid, interaction.params.client_id, { error: message, username: fields.username?.slice(0, 256) }, err.status);
    }
  });

  // "Log in with <name>": the callback comes back to this interaction (federation/sso.ts).
  router.post('/interaction/:uid/sso/:slug', async (koaCtx) => {
    const { params } = validate(koaCtx, { params: slugParams });
    const interaction = await details(koaCtx);
    await form(koaCtx, interaction.uid);
    if (interaction.prompt.name !== 'login') throw new PorticoError(400, 'interaction_expired', 'Sign-in expired', 'Start again from the application.');
    await sso.start(koaCtx, params.slug, { interaction: interaction.uid });
  });

  router.post('/interaction/:uid/confirm', async (koaCtx) => {
    const interaction = await details(koaCtx);
    const fields = await form(koaCtx, interaction.uid);
    const { prompt, params, session, grantId } = interaction;
    if (prompt.name !== 'consent' || !session) throw new PorticoError(400, 'interaction_expired', 'Sign-in expired', 'Start again from the application.');
    const grant = grantId ? await provider.current.Grant.find(grantId) : new provider.current.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    if (!grant) throw new PorticoError(400, 'interaction_expired', 'Sign-in expired', 'Start again from the application.');
    if (await isRegistered(params.client_id)) {
      // The consumer chosen on the page (one of the user's own; their default one otherwise) holds the subscriptions its calls need.
      const chosen = fields.consumerId || undefined;
      if (chosen && !isUuid(chosen)) throw new PorticoError(400, 'validation_failed', 'Invalid consumer', 'Choose one of your consumers.');
      const consumer = await deps.consumers.resolveOwned(session.accountId, chosen);
      await deps.clientRegistration.claim({ ...actorOf(koaCtx), accountId: session.accountId }, String(params.client_id), consumer.id);
    }
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
    const returnTo = await provider.current.interactionResult(koaCtx.req, koaCtx.res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    koaCtx.status = 303;
    koaCtx.redirect(returnTo);
  });

  router.post('/interaction/:uid/abort', async (koaCtx) => {
    const interaction = await details(koaCtx);
    await form(koaCtx, interaction.uid);
    const description = interaction.prompt.name === 'tenant' ? tenantDenialOf(interaction) : 'The user denied access.';
    const returnTo = await provider.current.interactionResult(koaCtx.req, koaCtx.res,
      { error: 'access_denied', error_description: description }, { mergeWithLastSubmission: false });
    koaCtx.status = 303;
    koaCtx.redirect(returnTo);
  });
}
