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
