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
