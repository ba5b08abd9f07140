/**
 * Lifetimes of the contract (api.md section 3); oidc-provider's defaults differ (stack-notes.md).
 * Access tokens live ACCESS_TOKEN_TTL seconds (7200 unless a test shortens it).
 */
export function tokenLifetimes(accessTokenTtl: number) {
  return {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    AuthorizationCode: 60,
    IdToken: 3_600,
    Interaction: 3_600,
    Session: 43_200,
    RefreshToken: 2_592_000,
    Grant: 2_592_000,
  };
}
