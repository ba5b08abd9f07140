import Provider, { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { Actor } from '../context.js';
import { SlowDown } from '../rate-limits/token-endpoint.js';
import type { ClientRegistration } from './service.js';
import { isLoopbackRedirect } from '../applications/schemas.js';
import { jsonRefusal } from '../http/body.js';
import { bearerOf } from '../http/client-token.js';

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
  const admission = await registration.admission(bearerOf(koaCtx), koaCtx.ip);
  if ('refused' in admission) {
    if (admission.refused === 'token_required') {
      throw Object.assign(new errors.InvalidToken(), { error_description: 'an initial access token is required to register a client' });
    }
    koaCtx.set('Retry-After', String(admission.retryAfter));
    throw new SlowDown(`too many client registrations from this address; retry after ${admission.retryAfter} seconds`);
  }
  (koaCtx.state as unknown as Record<symbol, unknown>)[ADMISSION] = admission;
}

/** Set on an authorization error the provider must show (renderError) instead of redirecting: the host it withheld. */
export const WITHHELD_REDIRECT = Symbol('withheld redirect');

/**
 * RFC 9700 section 4.11.2: anyone can register a client with any https redirect URI, so an
 * authorization request that fails before the user sees a page would make Portico redirect to
 * wherever that client said (an open redirector on Portico's domain). For a registered client,
 * such an error is not allowed to redirect (the provider then renders it, with renderError),
 * unless the redirect URI is on a loopback host (the user's own machine). The event comes before
 * the provider's choice between the two. After a page (login, consent) the user has chosen.
 */
export function showRegisteredClientErrors(provider: Provider): void {
  provider.on('authorization.error', (koaCtx, err) => {
    const { client, params, route } = koaCtx.oidc ?? {};
    if (route !== 'authorization' || client?.clientIdIssuedAt === undefined) return;
    const redirectUri = String(params?.redirect_uri ?? '');
    if (URL.canParse(redirectUri) && isLoopbackRedirect(redirectUri)) return;
    Object.assign(err, { allow_redirect: false, [WITHHELD_REDIRECT]: URL.parse(redirectUri)?.host ?? 'the application' });
  });
}

/** The initial access token the current registration request was admitted with, if any. */
export function admittedToken(): string | undefined {
  const state = Provider.ctx?.state as unknown as Record<symbol, RegistrationAdmission | undefined> | undefined;
  return state?.[ADMISSION]?.tokenId;
}

/** Who acts in a request the provider serves (a client registering or managing itself): nobody signed in, from its address. */
export const requestActor = (): Actor => ({ accountId: null, ip: Provider.ctx?.ip ?? null, requestId: null });

/** https anywhere, http only on a loopback host (RFC 8252 native apps); no other scheme. */
const webOrLoopback = (uri: string) => URL.canParse(uri) && (new URL(uri).protocol === 'https:' || isLoopbackRedirect(uri));

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

  // The metadata is kept in jsonb, as the management API's JSON bodies are: the same refusals.
  const unstorable = jsonRefusal(metadata);
  if (unstorable) refuse(`client metadata: ${unstorable}`);
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
