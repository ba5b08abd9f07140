import type { JWK } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import { createAccountQueries } from '../accounts/queries.js';
import type { AppContext } from '../context.js';
import { createOidcAdapter } from './adapter.js';
import { loadSigningKeys } from './keys.js';

/** Lifetimes of the contract (api.md section 3); oidc-provider's defaults differ (stack-notes.md). */
export const TTL_SECONDS = {
  AccessToken: 7_200,
  ClientCredentials: 7_200,
  AuthorizationCode: 60,
  IdToken: 3_600,
  Interaction: 3_600,
  Session: 43_200,
  RefreshToken: 2_592_000,
  Grant: 2_592_000,
};

/** Protocol endpoints live under /oauth2, apart from the management API and the portal pages. */
export const OIDC_ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userinfo',
  jwks: '/oauth2/jwks',
  introspection: '/oauth2/introspect',
  revocation: '/oauth2/revoke',
  end_session: '/oauth2/logout',
  registration: '/oauth2/register',
  pushed_authorization_request: '/oauth2/par',
};

/**
 * The whole oidc-provider configuration in one place. Every value that differs from the
 * library's default is there because the contract asks for it.
 */
export async function createProvider(ctx: AppContext): Promise<Provider> {
  const signingKeys: JWK[] = await loadSigningKeys(ctx.db, ctx.keys.seal, ctx.clock); // read once per start
  const accounts = createAccountQueries(ctx.db);
  const configuration: Configuration = {
    adapter: createOidcAdapter(ctx.db, ctx.clock),
    jwks: { keys: signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: ctx.keys.cookie },
    routes: OIDC_ROUTES,
    ttl: TTL_SECONDS,
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
    },
    // Keep profile claims in the ID token even when an access token is issued too.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false }, // Portico renders its own login and consent pages
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(_koaCtx, sub) {
      const account = await accounts.findById(sub).catch(() => undefined); // a non-uuid sub is simply unknown
      if (!account) return undefined;
      return {
        accountId: account.id,
        async claims() {
          return {
            sub: account.id,
            preferred_username: account.username,
            name: account.username,
            email: account.email ?? undefined,
            // Only an enterprise identity provider vouches for an address; local ones are unverified.
            email_verified: false,
          };
        },
      };
    },
  };
  const provider = new Provider(ctx.issuer, configuration);
  provider.proxy = ctx.config.trustProxy;
  provider.on('server_error', (_koaCtx, err) => ctx.log.error({ err }, 'oidc-provider server error'));
  return provider;
}
