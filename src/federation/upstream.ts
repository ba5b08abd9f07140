import * as oidc from 'openid-client';
import { PorticoError } from '../http/errors.js';

/**
 * The upstream side of enterprise SSO, over openid-client: discovery, the authorization request
 * (code + PKCE S256 + state + nonce) and the code exchange with a fully validated ID token.
 */

/** Seconds to wait for the identity provider (discovery, token, keys, userinfo). */
const UPSTREAM_TIMEOUT_SECONDS = 10;

/** Saving a provider whose issuer cannot be reached (422). */
export class IssuerUnreachable extends PorticoError {
  constructor(detail: string) { super(422, 'issuer_unreachable', 'Issuer unreachable', detail); }
}
/** Saving a provider whose discovery document is not usable (422). */
export class IssuerMetadataInvalid extends PorticoError {
  constructor(detail: string) { super(422, 'issuer_metadata_invalid', 'Issuer metadata invalid', detail); }
}

type Failure = { name?: string; message?: string; code?: string; status?: number; error?: string; cause?: Failure } | null | undefined;

/** The network failure inside an error (openid-client may wrap fetch's), if there is one. */
function networkFailure(err: unknown): Failure {
  for (let e = err as Failure, depth = 0; e && depth < 5; e = e.cause, depth += 1) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || (e.name === 'TypeError' && e.message === 'fetch failed')) return e;
  }
  return undefined;
}

/** True when the provider could not be reached (refused, reset, DNS, timeout), rather than answering wrongly. */
export function isUnreachable(err: unknown): boolean {
  return networkFailure(err) !== undefined;
}

/** A short description of an upstream failure, without anything secret (no request, no response body). */
export function describeFailure(err: unknown): string {
  const network = networkFailure(err);
  if (network) return network.cause?.code ?? network.cause?.message ?? `no answer within ${UPSTREAM_TIMEOUT_SECONDS} s`;
  const e = err as Failure;
  const status = e?.status ?? e?.cause?.status;
  return [e?.message, e?.error, typeof status === 'number' ? `HTTP ${status}` : e?.cause?.message].filter(Boolean).join(': ');
}

export interface Upstream { issuer: string; clientId: string; clientSecret: string }

export function createUpstream(options: { allowHttp: boolean }) {
  const insecure = (issuer: string) => options.allowHttp && issuer.startsWith('http:');

  /** The issuer's discovery document, checked for what the code flow needs; 422 problems otherwise. */
  async function discover(issuer: string): Promise<oidc.ServerMetadata> {
    let metadata: oidc.ServerMetadata;
    try {
      // openid-client checks that the document names exactly this issuer.
      const found = await oidc.discovery(new URL(issuer), 'discovery', undefined, undefined, {
        execute: insecure(issuer) ? [oidc.allowInsecureRequests] : [], timeout: UPSTREAM_TIMEOUT_SECONDS,
      });
      metadata = found.serverMetadata();
    } catch (err) {
      const where = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      if (isUnreachable(err)) throw new IssuerUnreachable(`${where} could not be reached (${describeFailure(err)}).`);
      throw new IssuerMetadataInvalid(`${where} is not usable OpenID Provider metadata (${describeFailure(err)}).`);
    }
    const missing = (['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const).filter((key) => typeof metadata[key] !== 'string');
    if (missing.length) throw new IssuerMetadataInvalid(`The issuer's metadata lacks ${missing.join(', ')}.`);
    if (Array.isArray(metadata.response_types_supported) && !metadata.response_types_supported.includes('code')) {
      throw new IssuerMetadataInvalid('The issuer does not support the authorization code flow (response_types_supported lacks "code").');
    }
    if (!clientAuthOf(metadata)) {
      throw new IssuerMetadataInvalid('The issuer supports neither client_secret_basic nor client_secret_post at its token endpoint.');
    }
    return metadata;
  }

  /** The client at one provider: Basic authentication unless the provider supports only a posted secret. */
  function configure(metadata: oidc.ServerMetadata, upstream: Upstream): oidc.Configuration {
    const config = new oidc.Configuration(metadata, upstream.clientId, { client_secret: upstream.clientSecret }, clientAuthOf(metadata)!(upstream.clientSecret));
    // openid-client trusts TLS for an ID token from the token endpoint; the contract wants its signature checked too.
    oidc.enableNonRepudiationChecks(config);
    if (insecure(upstream.issuer)) oidc.allowInsecureRequests(config);
    config.timeout = UPSTREAM_TIMEOUT_SECONDS;
    return config;
  }

  return {
    discover,

    async client(upstream: Upstream): Promise<oidc.Configuration> {
      return configure(await discover(upstream.issuer), upstream);
    },

    /** The authorization URL and the values the callback must check. */
    async authorizationRequest(config: oidc.Configuration, request: { redirectUri: string; scopes: string[] }) {
      const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: request.redirectUri, scope: request.scopes.join(' '), state: pending.state, nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier), code_challenge_method: 'S256',
      });
      return { url: url.href, ...pending };
    },

    /**
     * Exchanges the code: the ID token's signature, issuer, audience, expiry and nonce are checked.
     * Profile claims missing from the ID token (providers that keep them for userinfo) come from userinfo.
     */
    async exchange(config: oidc.Configuration, callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<oidc.IDToken & Record<string, unknown>> {
      const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        expectedState: checks.state, expectedNonce: checks.nonce, pkceCodeVerifier: checks.codeVerifier, idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      if (claims.email === undefined && claims.preferred_username === undefined && config.serverMetadata().userinfo_endpoint) {
        const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        return { ...userinfo, ...claims };
      }
      return claims;
    },
  };
}
export type UpstreamClient = ReturnType<typeof createUpstream>;

function clientAuthOf(metadata: oidc.ServerMetadata): typeof oidc.ClientSecretBasic | undefined {
  const methods = metadata.token_endpoint_auth_methods_supported;
  if (!methods || methods.includes('client_secret_basic')) return oidc.ClientSecretBasic; // the OIDC default
  return methods.includes('client_secret_post') ? oidc.ClientSecretPost : undefined;
}
