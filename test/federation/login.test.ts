import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startIdp, type TestIdp } from './idp.js';
import { portalSso, registerProvider, sessionAccount } from './support.js';

let server: TestServer;
let site: string; // Portico's issuer (localhost), apart from the providers' 127.0.0.1
let idp: TestIdp;
let adminToken: string;
const CLIENT = { client_id: 'portico-at-corp', client_secret: 'corp-client-secret-0123456789' };

const USERS = [
  { sub: 'corp-alice', preferred_username: 'alice', email: 'alice@corp.example', email_verified: true, name: 'Alice' },
  { sub: 'corp-bob', preferred_username: 'bob', email: 'bob@corp.example', email_verified: true },
  { sub: 'corp-bob-twin', preferred_username: 'Bob', email: 'bob.twin@corp.example' },
  { sub: 'corp-carol', email: 'carol.smith@corp.example' },
  { sub: 'corp-0042' },
  { sub: 'corp-mallory', preferred_username: 'mallory', email: 'mallory@corp.example' },
  { sub: 'corp-dave', preferred_username: 'dave', email: 'dave@elsewhere.example', email_verified: true },
  { sub: 'corp-erin', preferred_username: 'erin' },
];

const db = () => server.portico.context.db;
const accountsNamed = (pattern: string) => db().selectFrom('accounts').select(['id', 'username']).where('username', 'ilike', pattern).execute();

/** Expects a clear HTML page (no stack trace) with this status and text. */
async function expectPage(res: Response, status: number, text: string) {
  const html = await res.text();
  expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: 'text/html; charset=utf-8' });
  expect(html).toContain(text);
  expect(html).not.toMatch(/\bat .+\.(ts|js):\d+/);
  return html;
}

beforeAll(async () => {
  server = await startTestServer();
  site = server.portico.issuer;
  adminToken = await server.adminToken();
  idp = await startIdp({
    clients: [{ ...CLIENT, redirect_uris: ['corp', 'corp-staff', 'wrong-secret'].map((slug) => `${site}/sso/${slug}/callback`) }],
    users: USERS,
  });
  await registerProvider(server, { slug: 'corp', name: 'Corp SSO', issuer: idp.issuer, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret });
});
afterAll(async () => {
  await idp?.close();
  await server?.stop();
});

describe('the login pages', () => {
  it('show one "Log in with <name>" button per enabled provider, each form with a CSRF token', async () => {
    const hidden = await registerProvider(server, { slug: 'hidden-idp', name: 'Hidden IdP', issuer: 'http://127.0.0.1:9', clientId: 'x', clientSecret: 'y', enabled: false });
    const { res } = await browser().open(`${site}/login?next=%2Fconsole%2Fapplications`);
    const html = await res.text();
    expect(html).toContain('>Log in with Corp SSO</button>');
    expect(html).not.toContain('Hidden IdP');
    const form = formWithButton(html, 'Log in with Corp SSO');
    expect(form.action).toBe('/login/sso/corp');
    expect(form.fields).toEqual({ _csrf: expect.any(String), next: '/console/applications' });
    // A disabled provider cannot be started either.
    const b = browser();
    const page = await b.open(`${site}/login`);
    const csrf = formWithButton(await page.res.text(), 'Log in with Corp SSO').fields;
    expect((await b.submit('/login/sso/hidden-idp', page.url, csrf)).res.status).toBe(404);
    await server.api.delete(`/api/v1/admin/identity-providers/${hidden.id}`, { token: adminToken });
  });

  it('refuse to start a sign-in without the form\'s CSRF token', async () => {
    const { res } = await browser().submit('/login/sso/corp', site, {});
    await expectPage(res, 403, 'The form expired');
  });
});

describe('log in with an enterprise identity provider from the portal', () => {
  it('creates the account on first login: active at once (even under manual approval), a default consumer, linked by (provider, subject)', async () => {
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: adminToken });
    idp.signInAs = 'corp-alice';
    const { res, url, browser } = await portalSso(server, 'Corp SSO');
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: adminToken });
    expect(res.status).toBe(200);
    expect(url).toBe(`${site}/console/consumers`);

    const account = await sessionAccount(server, browser);
    expect(account).toEqual({ id: expect.any(String), username: 'alice', email: 'alice@corp.example', status: 'active', role: 'developer' });
    const row = await db().selectFrom('accounts').select(['password_hash', 'email_verified']).where('id', '=', account!.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ password_hash: null, email_verified: true });
    const consumers = await db().selectFrom('consumers').select(['is_default']).where('account_id', '=', account!.id).execute();
    expect(consumers).toEqual([{ is_default: true }]);
    const link = await db().selectFrom('federated_identities').innerJoin('identity_providers', 'identity_providers.id', 'federated_identities.provider_id')
      .select(['slug', 'subject']).where('account_id', '=', account!.id).execute();
    expect(link).toEqual([{ slug: 'corp', subject: 'corp-alice' }]);
    const events = await db().selectFrom('audit_events').select(['action', 'details']).where('target_id', '=', account!.id).orderBy('occurred_at').execute();
    expect(events).toEqual([
      { action: 'account.registered', details: { username: 'alice', status: 'active', via: 'sso', provider: 'corp' } },
      { action: 'session.created', details: { via: 'sso', provider: 'corp' } },
    ]);
    // The callback's code and state, and the upstream secret, stay out of the logs.
    expect(server.logs.join('')).not.toMatch(/code=|state=|corp-client-secret/);
  });

  it('finds the linked account on later logins', async () => {
    idp.signInAs = 'corp-alice';
    const first = await sessionAccount(server, (await portalSso(server, 'Corp SSO')).browser);
    const second = await sessionAccount(server, (await portalSso(server, 'Corp SSO')).browser);
    expect(second!.id).toBe(first!.id);
    expect(await accountsNamed('alice%')).toHaveLength(1);
  });

  it('gives one account to the same person\'s first login in several tabs at once', async () => {
    idp.signInAs = 'corp-erin';
    const tabs = await Promise.all([1, 2].map(() => portalSso(server, 'Corp SSO', { stopAtCallback: true })));
    const done = await Promise.all(tabs.map((tab) => tab.browser.open(tab.url)));
    expect(done.map((d) => d.res.status)).toEqual([200, 200]);
    const ids = await Promise.all(tabs.map(async (tab) => (await sessionAccount(server, tab.browser))!.id));
    expect(new Set(ids).size).toBe(1);
    // The same, without the network to spread the requests apart: every one looks for the link first.
    const { federation } = server.portico.services;
    const provider = await federation.enabledBySlug('corp');
    const actor = { accountId: null, ip: null, requestId: null };
    const accounts = await Promise.all([1, 2, 3].map(() => federation.signIn(actor, provider, { sub: 'corp-frank', preferred_username: 'frank' })));
    expect(new Set(accounts.map((a) => a.id)).size).toBe(1);
    expect(await accountsNamed('erin%')).toHaveLength(1);
    expect(await accountsNamed('frank%')).toHaveLength(1);
  });

  it('returns to the page the login started from', async () => {
    idp.signInAs = 'corp-alice';
    const b = browser();
    const login = await b.open(`${site}/console/applications`);
    expect(login.url).toBe(`${site}/login?next=%2Fconsole%2Fapplications`);
    const form = formWithButton(await login.res.text(), 'Log in with Corp SSO');
    const done = await b.submit(form.action, login.url, form.fields);
    expect(done.url).toBe(`${site}/console/applications`);
    expect(done.res.status).toBe(200);
  });

  it('makes usernames unique and never links by email: a local "bob" with the same address stays apart', async () => {
    const local = await server.developer('bob');
    await db().updateTable('accounts').set({ email: 'bob@corp.example' }).where('id', '=', local.id).execute();
    const usernameOf = async (sub: string) => {
      idp.signInAs = sub;
      return (await sessionAccount(server, (await portalSso(server, 'Corp SSO')).browser))!;
    };
    const federatedBob = await usernameOf('corp-bob');
    expect(federatedBob.username).toBe('bob-2');
    expect(federatedBob.id).not.toBe(local.id);
    expect((await usernameOf('corp-bob-twin')).username).toBe('Bob-3'); // "Bob" is taken too: usernames ignore case (and keep it)
    expect((await usernameOf('corp-carol')).username).toBe('carol.smith'); // the email's local part
    expect((await usernameOf('corp-0042')).username).toBe('corp-0042'); // the subject
    // The local bob still logs in with his password, and his account has no link.
    expect((await server.api.post('/api/v1/auth/login', { username: 'bob', password: 'bob-password-1' })).status).toBe(200);
    expect(await db().selectFrom('federated_identities').where('account_id', '=', local.id).selectAll().execute()).toEqual([]);
  });

  it('keeps a banned account banned whatever the provider says', async () => {
    idp.signInAs = 'corp-mallory';
    const mallory = (await sessionAccount(server, (await portalSso(server, 'Corp SSO')).browser))!;
    await server.api.post(`/api/v1/admin/developers/${mallory.id}/ban`, { reason: 'abuse' }, { token: adminToken });
    const again = await portalSso(server, 'Corp SSO');
    await expectPage(again.res, 403, 'The account is banned.');
    expect(again.browser.cookiesOf(site).has('portico_session')).toBe(false);
  });

  it('shows the provider\'s refusal (error=access_denied) on a clear page, creating nothing', async () => {
    idp.signInAs = null;
    const before = await db().selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    const { res, url } = await portalSso(server, 'Corp SSO');
    expect(url).toMatch(`${site}/sso/corp/callback?error=access_denied`);
    await expectPage(res, 403, 'Corp SSO did not sign you in (access_denied: The user declined.)');
    const after = await db().selectFrom('accounts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('refuses a callback whose state is wrong, missing, replayed or from another browser', async () => {
    idp.signInAs = 'corp-alice';
    const tampered = await portalSso(server, 'Corp SSO', { stopAtCallback: true });
    const wrongState = new URL(tampered.url);
    wrongState.searchParams.set('state', 'forged-state');
    await expectPage((await tampered.browser.open(wrongState.href)).res, 400, 'This sign-in is not valid any more');

    const unset = await portalSso(server, 'Corp SSO', { stopAtCallback: true });
    const noState = new URL(unset.url);
    noState.searchParams.delete('state');
    await expectPage((await unset.browser.open(noState.href)).res, 400, 'Sign-in expired');

    const stolen = await portalSso(server, 'Corp SSO', { stopAtCallback: true });
    await expectPage((await browser().open(stolen.url)).res, 400, 'started in another browser'); // login CSRF
    const used = await stolen.browser.open(stolen.url);
    expect(used.url).toBe(`${site}/console/consumers`);
    await expectPage((await stolen.browser.open(stolen.url)).res, 400, 'already used');
  });

  it('shows a clear 502 page when the provider cannot be reached at the callback', async () => {
    const flaky = await startIdp({ clients: [{ ...CLIENT, redirect_uris: [`${site}/sso/flaky/callback`] }], users: USERS });
    await registerProvider(server, { slug: 'flaky', name: 'Flaky IdP', issuer: flaky.issuer, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret });
    flaky.signInAs = 'corp-alice';
    const pending = await portalSso(server, 'Flaky IdP', { stopAtCallback: true });
    await flaky.close();
    const { res } = await pending.browser.open(pending.url);
    await expectPage(res, 502, 'Flaky IdP could not be reached. Try again later.');
    expect(server.logs.some((line) => line.includes('enterprise sign-in failed upstream') && line.includes('"provider":"flaky"'))).toBe(true);
  });

  it('shows a clear 502 page when the provider refuses the code exchange (a wrong client secret)', async () => {
    await registerProvider(server, { slug: 'wrong-secret', name: 'Misconfigured', issuer: idp.issuer, clientId: CLIENT.client_id, clientSecret: 'not-the-secret' });
    idp.signInAs = 'corp-alice';
    await expectPage((await portalSso(server, 'Misconfigured')).res, 502, 'Misconfigured refused to complete the sign-in (invalid_client).');
    expect(server.logs.join('')).not.toContain('not-the-secret');
    await server.api.patch(`/api/v1/admin/identity-providers/${(await server.portico.services.federation.enabledBySlug('wrong-secret')).id}`, { enabled: false }, { token: adminToken });
  });

  it('refuses addresses outside the provider\'s email domains', async () => {
    const staff = await registerProvider(server, {
      slug: 'corp-staff', name: 'Corp Staff', issuer: idp.issuer, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, emailDomains: ['Corp.Example'],
    });
    idp.signInAs = 'corp-dave';
    await expectPage((await portalSso(server, 'Corp Staff')).res, 403, 'Corp Staff may sign in only addresses of corp.example.');
    idp.signInAs = 'corp-alice';
    expect((await sessionAccount(server, (await portalSso(server, 'Corp Staff')).browser))!.username).toBe('alice-2'); // another provider: another identity
    await server.api.patch(`/api/v1/admin/identity-providers/${staff.id}`, { enabled: false }, { token: adminToken });
  });

  it('uses the provider\'s new settings at once after a change (the discovered client is dropped)', async () => {
    const other = await startIdp({ clients: [{ ...CLIENT, redirect_uris: [`${site}/sso/movable/callback`] }], users: USERS });
    try {
      const movable = await registerProvider(server, { slug: 'movable', name: 'Movable', issuer: idp.issuer, clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret });
      const authorizeHost = async () => {
        const b = browser();
        const page = await b.open(`${site}/login`);
        const form = formWithButton(await page.res.text(), 'Log in with Movable');
        const started = await b.submit(form.action, page.url, form.fields, 'http://127.0.0.1');
        return new URL(started.url).origin;
      };
      expect(await authorizeHost()).toBe(idp.issuer);
      await server.api.patch(`/api/v1/admin/identity-providers/${movable.id}`, { issuer: other.issuer }, { token: adminToken });
      expect(await authorizeHost()).toBe(other.issuer);
    } finally {
      await other.close();
    }
  });
});

describe('federated accounts and the password form', () => {
  it('are refused with the normal invalid-credentials answer, on the API and the pages', async () => {
    idp.signInAs = 'corp-alice';
    await portalSso(server, 'Corp SSO');
    for (const password of ['', 'any-password-at-all']) {
      const api = await server.api.post('/api/v1/auth/login', { username: 'alice', password: password || 'x' });
      expect({ status: api.status, code: api.body.code }).toEqual({ status: 401, code: 'invalid_credentials' });
    }
    const b = browser();
    const page = await b.open(`${site}/login`);
    const form = formWithButton(await page.res.text(), 'Log in');
    const refused = await b.submit(form.action, page.url, { ...form.fields, username: 'alice', password: 'any-password-at-all' });
    await expectPage(refused.res, 401, 'Wrong username or password.');
  });
});

describe('log in with an enterprise identity provider during an authorization request', () => {
  it('returns to the pending authorization and ends with a code at the client\'s redirect URI', async () => {
    const REDIRECT_URI = 'http://localhost:8080/callback';
    const merchant = await server.developer('sso-merchant');
    const app = await server.api.post('/api/v1/applications', { name: 'Merchant App', redirectUris: [REDIRECT_URI] }, { token: merchant.token });
    const config = await oidc.discovery(new URL(site), app.body.clientId, app.body.clientSecret, undefined, { execute: [oidc.allowInsecureRequests] });
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid profile email', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    });

    idp.signInAs = 'corp-alice';
    const b = browser();
    const loginPage = await b.open(authorizationUrl.href);
    const html = await loginPage.res.text();
    expect(html).toContain('>Log in</button>');
    const sso = formWithButton(html, 'Log in with Corp SSO');
    expect(sso.action).toMatch(/^\/interaction\/[A-Za-z0-9_-]+\/sso\/corp$/);
    // Without the interaction's CSRF token: refused.
    expect((await b.submit(sso.action, loginPage.url, {})).res.status).toBe(403);

    const consent = await b.submit(sso.action, loginPage.url, sso.fields, REDIRECT_URI);
    const consentHtml = await consent.res.text();
    expect(consentHtml).toContain('Merchant App');
    const allow = formWithButton(consentHtml, 'Allow');
    const done = await b.submit(allow.action, consent.url, allow.fields, REDIRECT_URI);
    const callback = new URL(done.url);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));

    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: codeVerifier, expectedState: state });
    const [alice] = await accountsNamed('alice');
    expect(tokens.claims()).toMatchObject({ sub: alice!.id, preferred_username: 'alice', email: 'alice@corp.example', email_verified: true });
  });

  it('refuses to finish an authorization without the callback\'s hand-over', async () => {
    const { res } = await browser().open(`${site}/interaction/some-uid/sso`);
    await expectPage(res, 400, 'Sign-in expired');
  });
});
