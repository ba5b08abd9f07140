import { expect } from '@jest/globals';
import * as oidc from 'openid-client';
import { browser, formWithButton } from '../support/browser.js';
import type { TestServer } from '../support/server.js';

export const LICENSES = '/api/v1/admin/licenses';
export const ACTIVATE = '/api/v1/licenses/activate';
export const MISSING = '00000000-0000-4000-8000-000000000000';
export const REDIRECT_URI = 'http://localhost:8080/callback';
/** What an issued code looks like: Crockford base32, five groups of four. */
export const CODE_SHAPE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/;

export interface TestApplication { id: string; clientId: string; clientSecret: string; ownerToken: string }

/** Helpers over the real API: applications, organizations, installs, tokens and licenses. */
export function licenseHelpers(server: TestServer, adminToken: () => string) {
  const admin = () => ({ token: adminToken() });

  async function application(owner: string): Promise<TestApplication> {
    const dev = await server.developer(owner);
    const res = await server.api.post('/api/v1/applications', { name: `${owner} suite`, redirectUris: [REDIRECT_URI] }, { token: dev.token });
    expect(res.status).toBe(201);
    return { id: res.body.id, clientId: res.body.clientId, clientSecret: res.body.clientSecret, ownerToken: dev.token };
  }

  async function organization(slug: string): Promise<{ id: string }> {
    const res = await server.api.post('/api/v1/admin/organizations', { slug, name: `Org ${slug}` }, admin());
    expect(res.status).toBe(201);
    return res.body;
  }

  async function install(orgId: string, applicationId: string) {
    const res = await server.api.post(`/api/v1/admin/organizations/${orgId}/installs`, { applicationId }, admin());
    expect(res.status).toBe(201);
    return res.body as { id: string };
  }

  /** The application's own client_credentials token, from the token endpoint as a merchant gets it. */
  async function clientToken(app: TestApplication): Promise<string> {
    const res = await fetch(`${server.portico.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** A user's access token for the application, through the real login and consent pages (authorization code with PKCE). */
  async function userToken(app: TestApplication, username: string): Promise<string> {
    const config = await oidc.discovery(new URL(server.portico.issuer), app.clientId, app.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid', state, code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    });
    const b = browser();
    const loginPage = await b.open(url.href, REDIRECT_URI);
    const login = formWithButton(await loginPage.res.text(), 'Log in');
    const consentPage = await b.submit(login.action, loginPage.url, { ...login.fields, username, password: `${username}-password-1` }, REDIRECT_URI);
    const consent = formWithButton(await consentPage.res.text(), 'Allow');
    const done = await b.submit(consent.action, consentPage.url, consent.fields, REDIRECT_URI);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: codeVerifier, expectedState: state });
    return tokens.access_token;
  }

  /** Issues a license and returns the answer (with the code). */
  async function issue(body: { applicationId: string; tenantId: string; seats?: number; expiresAt?: string }) {
    const res = await server.api.post(LICENSES, { seats: 5, expiresAt: new Date(server.portico.context.clock.now().getTime() + 30 * 86_400_000).toISOString(), ...body }, admin());
    if (res.status !== 201) throw new Error(`issue: ${res.status} ${res.text}`);
    return res.body as { id: string; code: string; applicationId: string; tenantId: string; seats: number; expiresAt: string; status: string };
  }

  const activate = (token: string | undefined, body: unknown) => server.api.post(ACTIVATE, body, token ? { token } : {});

  /** Audit events about a license (events of one millisecond come in no fixed order). */
  async function auditOf(licenseId: string) {
    const res = await server.api.get(`/api/v1/admin/audit?targetId=${licenseId}&limit=100`, admin());
    expect(res.status).toBe(200);
    return (res.body.items as Array<{ action: string; actorId: string | null; targetType: string; details: Record<string, unknown> }>).reverse();
  }

  async function licenseRow(id: string) {
    return server.portico.context.db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /** Row counts that a refused request must leave as they were. */
  async function counts() {
    const db = server.portico.context.db;
    const count = async (table: 'licenses' | 'audit_events') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const activated = Number((await db.selectFrom('licenses').select((eb) => eb.fn.countAll().as('n')).where('activated_at', 'is not', null).executeTakeFirstOrThrow()).n);
    return { licenses: await count('licenses'), audit: await count('audit_events'), activated };
  }

  return { application, organization, install, clientToken, userToken, issue, activate, auditOf, licenseRow, counts };
}
