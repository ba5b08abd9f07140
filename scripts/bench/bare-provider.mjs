// The bench's yardstick: a bare oidc-provider (its in-memory adapter, one static client) answering
// client_credentials grants the way Portico does: an RS256 JWT access token (2048-bit key) for
// Portico's API audience, two hours, with a consumer_id claim. Run as its own process by the bench;
// prints one JSON line with its URL.
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const BARE_CLIENT = { clientId: 'bare-bench-client', clientSecret: 'bare-bench-secret-0123456789-abcdefghijklmn' };
export const BARE_READY = 'bare oidc-provider ready on ';
const AUDIENCE = 'urn:portico:api';

async function main() {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'bare-bench', alg: 'RS256', use: 'sig' };
  const provider = new Provider('http://127.0.0.1', {
    clients: [{
      client_id: BARE_CLIENT.clientId, client_secret: BARE_CLIENT.clientSecret, token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
    }],
    jwks: { keys: [signingKey] },
    routes: { token: '/oauth2/token' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'openid profile email', audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 7200, jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async () => ({ consumer_id: '00000000-0000-4000-8000-000000000000' }),
  });
  const server = provider.listen(0, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}`;
    process.stdout.write(`${JSON.stringify({ url, msg: `${BARE_READY}${url}` })}\n`);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
