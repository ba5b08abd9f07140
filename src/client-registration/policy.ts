import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { isLoopbackHost } from '../config/index.js';
import type { Actor } from '../context.js';
import { SlowDown } from '../rate-limits/token-endpoint.js';
import type { ClientRegistration } from './service.js';
import { renderPage } from '../portal/render.js';

/** The provider's routes where a client's metadata comes from the client itself (RFC 7591, RFC 7592). */
const SELF_SERVICE_ROUTES = new Set(['registration', 'client_update']);
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token']);
const CONFIDENTIAL_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
/**
 * Metadata a registering client may not set: URLs Portico would fetch itself (a server-side
 * request to wherever the client says), request objects, and `tenant_id`, which marks a tenant
 * client (organizations) and would let a client pass for one.
 */
const REFUSED_METADATA = ['jwks_uri', 'jwks', 'sector_identifier_uri', 'request_uris', 'backchannel_logout_uri', 'tenant_id'];

/** What the registration endpoint admitted the request under (set by `admitRegistration`, read by the check and the save). */
interface RegistrationAdmission { allowConfidential: boolean; tokenId?: string }
const ADMISSION = Symbol('registration admission');

/** Lets a registration request in (see ClientRegistration.admission), or throws the provider's error. */
export async function admitRegistration(koaCtx: KoaContextWithOIDC, registration: ClientRegistration): Promise<void> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(koaCtx.get('authorization'))?.[1];
  const admission = await registration.admission(bearer, koaCtx.ip);
  if ('refused' in admission) {
    if (admission.refused === 'token_required') {
      throw Object.assign(new errors.InvalidToken(), { error_description: 'an initial access token is required to register a client' });
    }
    koaCtx.set('Retry-After', String(admission.retryAfter));
    throw new SlowDown(`too many client registrations from this address; retry after ${admission.retryAfter} seconds`);
  }
  (koaCtx.state as unknown as Record<symbol, unknown>)[ADMISSION] = admission;
}

/**
 * RFC 9700 section 4.11.2: anyone can register a client with any https redirect URI, so an
 * authorization request that fails before the user sees a page would make Portico redirect to
 * wherever that client said (an open redirector on Portico's domain). For a registered client,
 * such an error is shown on Portico's error page instead, unless the redirect URI is on a
 * loopback host (the user's own machine). After a page (login, consent) the user has chosen.
 */
export function showRegisteredClientErrors(provider: Provider): void {
  const FAILED = Symbol('authorization failed');
  provider.on('authorization.error', (koaCtx) => { (koaCtx.state as unknown as Record<symbol, boolean>)[FAILED] = true; });
  provider.use(async (koaCtx, next) => {
    await next();
    if (koaCtx.oidc?.route !== 'authorization' || !(koaCtx.state as unknown as Record<symbol, boolean>)[FAILED]) return;
    const { client, params } = koaCtx.oidc;
    if (client?.clientIdIssuedAt === undefined) return;
    const target = URL.parse(String(params?.redirect_uri ?? ''));
    if (target && target.protocol === 'http:' && isLoopbackHost(target.hostname)) return;
    const body = koaCtx.body as { error?: string; error_description?: string } | undefined;
    const found = URL.parse(koaCtx.response.get('location') ?? '');
    const reason = (found?.searchParams.get('error_description') ?? new URLSearchParams(found?.hash.slice(1)).get('error_description') ?? body?.error_description ?? 'The authorization request was refused')
      .replace(/[^.!?]$/, '$&.');
    koaCtx.remove('location');
    renderPage(koaCtx, 'error', {
      title: 'Sign-in error',
      message: `${reason} Portico did not send you on to ${target?.host ?? 'the application'}: the application registered itself, and its address is not verified.`,
    }, 400);
  });
}

/** The initial access token the current registration request was admitted with, if any. */
export function admittedToken(): string | undefined {
  const state = Provider.ctx?.state as unknown as Record<symbol, RegistrationAdmission | undefined> | undefined;
  return state?.[ADMISSION]?.tokenId;
}

/** Who acts in a request the provider serves (a client registering or managing itself): nobody signed in, from its address. */
export const requestActor = (): Actor => ({ accountId: null, ip: Provider.ctx?.ip ?? null, requestId: null });

/** NUL, or a surrogate standing alone (with the u flag, a pair is one code point and does not match). */
const UNSTORABLE = /[\0\p{Cs}]/u;

/** Every text in the value (keys too) is well-formed and free of NUL. */
function storableText(value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.every(storableText);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => storableText(k) && storableText(v));
  return true;
}

/** https anywhere, http only on a loopback host (RFC 8252 native apps); no other scheme. */
function webOrLoopback(uri: string): boolean {
  const url = URL.parse(uri);
  return url !== null && (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)));
}

/**
 * What a client that registers itself may be (README "Dynamic client registration"): an
 * authorization code client (refresh tokens allowed) with https or loopback redirect URIs,
 * public (`none`, PKCE required) unless the admin allows confidential ones, and nothing that
 * makes Portico fetch a URL. Runs inside oidc-provider's client validation
 * (`extraClientMetadata.validator`) on the registration and update routes only; an update keeps
 * the authentication method the client registered with.
 */
export function checkSelfRegisteredClient(koaCtx: KoaContextWithOIDC | undefined, metadata: Record<string, unknown>): void {
  const route = koaCtx?.oidc?.route;
  if (!route || !SELF_SERVICE_ROUTES.has(route)) return;
  const refuse = (message: string) => { throw new errors.InvalidClientMetadata(message); };

  // PostgreSQL's jsonb, where the metadata is kept, holds neither NUL nor an unpaired surrogate.
  if (!storableText(metadata)) refuse('client metadata must not contain NUL characters or unpaired surrogates');
  const refused = REFUSED_METADATA.filter((key) => metadata[key] !== undefined);
  if (refused.length) refuse(`${refused.join(', ')} cannot be registered here`);

  const method = String(metadata.token_endpoint_auth_method);
  if (route === 'client_update') {
    if (method !== koaCtx!.oidc.client?.clientAuthMethod) refuse('token_endpoint_auth_method cannot change; register a new client');
  } else if (method !== 'none') {
    const admission = (koaCtx!.state as unknown as Record<symbol, RegistrationAdmission | undefined>)[ADMISSION];
    if (!admission?.allowConfidential) refuse('only public clients may register: token_endpoint_auth_method must be "none" (with PKCE)');
    if (!CONFIDENTIAL_METHODS.has(method)) refuse('token_endpoint_auth_method must be "none", "client_secret_basic" or "client_secret_post"');
  }

  const responseTypes = metadata.response_types;
  if (!Array.isArray(responseTypes) || responseTypes.length !== 1 || responseTypes[0] !== 'code') refuse('response_types must be ["code"]');
  const grantTypes = metadata.grant_types;
  if (!Array.isArray(grantTypes) || !grantTypes.includes('authorization_code') || grantTypes.some((g) => !GRANT_TYPES.has(g))) {
    refuse('grant_types must be "authorization_code", optionally with "refresh_token"');
  }
  for (const key of ['redirect_uris', 'post_logout_redirect_uris']) {
    const uris = metadata[key] ?? [];
    // A description starting with "redirect_uris" makes the error invalid_redirect_uri (RFC 7591).
    if (!Array.isArray(uris) || uris.some((uri) => typeof uri !== 'string' || !webOrLoopback(uri))) {
      refuse(`${key} must be https, or http on a loopback address (localhost, 127.0.0.1, [::1])`);
    }
  }
}
