import type { JWK } from 'jose';
import Provider, { errors, interactionPolicy, type Configuration } from 'oidc-provider';
import type { AccountService } from '../accounts/service.js';
import type { AppContext } from '../context.js';
import { NotFound, ValidationFailed } from '../http/errors.js';
import { renderPage } from '../portal/render.js';
import { createOidcAdapter } from './adapter.js';
import type { ProviderRef } from './live-provider.js';
import { toProviderMetadata, type ClientRecord, type ClientStore } from './clients.js';
import { SIGNING_ALG } from './keys.js';
import { tokenLifetimes } from './ttl.js';
import { OIDC_ROUTES } from './routes.js';
import { answerWithTenant, tenantPrompt } from './tenants.js';
import type { OrganizationService } from '../organizations/service.js';
import type { RateLimits } from '../rate-limits/service.js';
import type { RevokedGrants } from './revoked-grants.js';
import type { GatewayCache } from '../gateway/cache.js';
import { isProtectedResource, RESOURCE_SCOPES } from '../mcp/metadata.js';
import { tokenFailureLimits } from '../rate-limits/token-endpoint.js';
import type { ConsumerService } from '../consumers/service.js';
import { admitRegistration, admittedToken, checkSelfRegisteredClient, requestActor, showRegisteredClientErrors, WITHHELD_REDIRECT } from '../client-registration/policy.js';
import { createClientConsumerQueries } from '../client-registration/queries.js';
import type { ClientRegistration } from '../client-registration/service.js';

/**
 * oidc-provider's prompts, plus one: a sign-in session whose account is no longer active (banned
 * since) is asked to log in again instead of carrying on without an account.
 */
function interactionPolicyWithStanding(organizations: OrganizationService) {
  const policy = interactionPolicy.base();
  policy.add(tenantPrompt(organizations), 1); // after login, before consent: refused before being asked to consent
  const { Check } = interactionPolicy;
  policy.get('login')!.checks.add(new Check('account_inactive', 'the account is no longer active',
    (koaCtx) => (koaCtx.oidc.session?.accountId && !koaCtx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT)));
  return policy;
}

/**
 * The whole oidc-provider configuration in one place. Every value that differs from the
 * library's default is there because the contract asks for it.
 */
export function createProvider(ctx: AppContext, deps: {
  clients: ClientStore; accounts: AccountService; consumers: ConsumerService; organizations: OrganizationService; rateLimits: RateLimits;
  revokedGrants: RevokedGrants; gatewayCache: GatewayCache; clientRegistration: ClientRegistration; signingKeys: JWK[];
}): Provider {
  const { clients, accounts, signingKeys } = deps;
  const clientConsumers = createClientConsumerQueries(ctx.db);
  /** The consumer a user token is counted against: the application's, or for a registered client the one its user chose at consent (their default consumer otherwise). */
  async function consumerOf(client: ClientRecord, accountId: string | undefined): Promise<string | null> {
    if (!client.registered || !accountId) return client.consumerId;
    const chosen = await clientConsumers.chosen(String(client.metadata.client_id), accountId);
    if (chosen) return chosen.consumer_id;
    return (await deps.consumers.resolveOwned(accountId).catch((err) => { if (err instanceof NotFound) return undefined; throw err; }))?.id ?? null;
  }
  const lifetimes = tokenLifetimes(ctx.config.accessTokenTtl);
  const tokenLimits = tokenFailureLimits(deps.rateLimits);
  const configuration: Configuration = {
    adapter: createOidcAdapter(ctx.db, ctx.clock, {
      sealKey: ctx.keys.seal,
      clients,
      guardClient: tokenLimits.refuseLimited,
      grantDestroyed: (grantId) => deps.revokedGrants.revoke(grantId),
      registeredClients: {
        save: (clientId, metadata) => deps.clientRegistration.save(requestActor(), clientId, metadata, admittedToken()),
        remove: (clientId) => deps.clientRegistration.remove(requestActor(), clientId),
      },
    }),
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: SIGNING_ALG },
    jwks: { keys: signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: ctx.keys.cookie },
    routes: OIDC_ROUTES,
    ttl: {
      ...lifetimes,
      // 30 days from the original login: a rotated refresh token keeps what was left of its parent's life.
      RefreshToken(koaCtx) {
        const remaining = koaCtx?.oidc?.entities?.RotatedRefreshToken?.remainingTTL;
        return remaining === undefined ? lifetimes.RefreshToken : Math.max(1, remaining);
      },
    },
    interactions: { policy: interactionPolicyWithStanding(deps.organizations), url: (_koaCtx, interaction) => `/interaction/${interaction.uid}` },
    // Errors shown to a person (a bad authorization request) use Portico's error page.
    async renderError(koaCtx, out, err) {
      const message = String(out.error_description ?? out.error);
      const withheld = (err as unknown as Record<symbol, string | undefined>)[WITHHELD_REDIRECT];
      renderPage(koaCtx, 'error', {
        title: 'Sign-in error',
        message: withheld ? `${message.replace(/[^.!?]$/, '$&.')} Portico did not send you on to ${withheld}: the application registered itself, and its address is not verified.` : message,
      }, koaCtx.status);
    },
    // First-party applications (an admin's flag) get their grant without a consent page.
    async loadExistingGrant(koaCtx) {
      const { oidc } = koaCtx;
      const clientId = oidc.client!.clientId;
      const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(clientId);
      const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (!(await clients.find(clientId))?.firstParty || !oidc.session?.accountId) return existing;
      // First party: whatever is asked for now is granted too, so consent never shows.
      const grant = existing ?? new oidc.provider.Grant({ clientId, accountId: oidc.session.accountId });
      const scope = String(oidc.params?.scope ?? 'openid');
      grant.addOIDCScope(scope);
      grant.addResourceScope(ctx.config.apiAudience, scope);
      await grant.save();
      return grant;
    },
    // PKCE (S256) is required for public clients and for every client that registered itself (only
    // those have client_id_issued_at, RFC 7591), and accepted from every client.
    pkce: { required: (_koaCtx, client) => client.clientAuthMethod === 'none' || client.clientIdIssuedAt !== undefined },
    // A refresh token on every code grant of a client allowed the refresh_token grant, without
    // offline_access or prompt=consent; rotated on every use; not tied to the login session.
    issueRefreshToken: async (_koaCtx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    expiresWithSession: async () => false,
    // The tenant of a tenant login (see tenants.ts); tenant clients carry theirs in their metadata.
    extraParams: ['tenant_id'],
    // Runs on every client's metadata; on the registration routes it is the self-registration policy.
    extraClientMetadata: { properties: ['tenant_id'], validator: (koaCtx, key, _value, metadata) => { if (key === 'tenant_id') checkSelfRegisteredClient(koaCtx, metadata); } },
    claims: {
      openid: ['sub', 'tenant_id'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
    },
    // Keep profile claims in the ID token even when an access token is issued too.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false }, // Portico renders its own login and consent pages
      clientCredentials: { enabled: true },
      // Tokens are plain bearer tokens (api.md section 3); nothing downstream checks a DPoP proof,
      // so a sender-constrained token would be accepted without its key.
      dPoP: { enabled: false },
      // Opaque tokens (refresh tokens): only the client they were issued to, only while the user is active.
      introspection: {
        enabled: true,
        async allowedPolicy(_koaCtx, client, token) {
          const accountId = 'accountId' in token ? token.accountId : undefined;
          return token.clientId === client.clientId && (!accountId || (await accounts.isActive(accountId)));
        },
      },
      // Every access token is a JWT with an audience, which userinfo refuses: claims are in the ID token.
      userinfo: { enabled: false },
      revocation: { enabled: true },
      // Dynamic client registration (RFC 7591) and its management (RFC 7592), for MCP clients and
      // any other agent (src/client-registration/). The registration access token is issued on
      // every registration; the hook deciding that is the one asynchronous step before the client
      // is validated, so it is where a registration is admitted (token, open or not, rate limit).
      registration: {
        enabled: true,
        issueRegistrationAccessToken: async (koaCtx) => { await admitRegistration(koaCtx, deps.clientRegistration); return true; },
      },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      rpInitiatedLogout: { enabled: true },
      // JWT access tokens come from resource indicators (stack-notes.md): every token is for
      // API_AUDIENCE unless a known resource is asked for.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => ctx.config.apiAudience,
        useGrantedResource: () => true,
        // Portico's API, or a published MCP product by its resource URI (RFC 8707): a token for
        // an MCP product has that product's URI as its only audience.
        async getResourceServerInfo(_koaCtx, resource) {
          if (resource !== ctx.config.apiAudience && !isProtectedResource(await deps.gatewayCache.productByResource(resource))) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPES.join(' '),
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: lifetimes.AccessToken,
            jwt: { sign: { alg: SIGNING_ALG } },
          };
        },
      },
    },
    // consumer_id on every access token; grant_id on user tokens, so a revoked grant can be refused.
    async extraTokenClaims(_koaCtx, token) {
      const client = token.clientId ? await clients.find(token.clientId) : undefined;
      const consumerId = client ? await consumerOf(client, 'accountId' in token ? token.accountId : undefined) : null;
      return {
        ...(consumerId ? { consumer_id: consumerId } : {}),
        ...(client?.tenantId ? { tenant_id: client.tenantId } : {}),
        ...('grantId' in token && token.grantId ? { grant_id: token.grantId } : {}),
      };
    },
    // Only an active account is found: a banned or pending one gets no token, not even by refresh.
    async findAccount(koaCtx, sub) {
      const account = await accounts.findActive(sub);
      if (!account) return undefined;
      const tenantId = koaCtx?.oidc?.client?.tenant_id as string | undefined;
      return {
        accountId: account.id,
        async claims() {
          return {
            sub: account.id,
            preferred_username: account.username,
            name: account.username,
            email: account.email ?? undefined,
            // Only an enterprise identity provider vouches for an address; local ones are unverified.
            email_verified: account.emailVerified,
            ...(tenantId ? { tenant_id: tenantId } : {}),
          };
        },
      };
    },
  };
  const provider = new Provider(ctx.issuer, configuration);
  provider.proxy = ctx.config.trustProxy;
  provider.on('server_error', (_koaCtx, err) => ctx.log.error({ err }, 'oidc-provider server error'));
  answerWithTenant(provider);
  tokenLimits.countFailures(provider);
  showRegisteredClientErrors(provider);
  return provider;
}

/** Checks client metadata with oidc-provider's own rules, as a 400 validation_failed. */
export function clientValidator(provider: ProviderRef) {
  return async (metadata: Record<string, unknown>): Promise<void> => {
    try {
      await provider.current.Client.validate({ ...toProviderMetadata(metadata), client_id: 'validation', client_secret: 'v'.repeat(43) });
    } catch (err) {
      const e = err as { error_description?: string; message?: string };
      throw new ValidationFailed([{ path: 'body', message: e.error_description ?? e.message ?? 'invalid client metadata' }]);
    }
  };
}
