import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { unseal } from '../../src/crypto/seal.js';
import { formWithButton } from '../support/browser.js';
import { ADMIN } from '../support/constants.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { logIn, openPage } from '../portal/pages.js';
import { startIdp, startStaticServer, type TestIdp } from './idp.js';

let server: TestServer;
let idp: TestIdp;
let adminToken: string;
const PATH = '/api/v1/admin/identity-providers';
const SECRET = 'upstream-client-secret-never-shown-0123';

const create = async (body: Record<string, unknown>) => server.api.post(PATH, body, { token: adminToken });
const valid = (slug: string, extra: Record<string, unknown> = {}) =>
  ({ slug, name: `IdP ${slug}`, issuer: idp.issuer, clientId: `client-${slug}`, clientSecret: SECRET, ...extra });

beforeAll(async () => {
  server = await startTestServer();
  adminToken = await server.adminToken();
  idp = await startIdp({ clients: [], users: [] });
});
afterAll(async () => {
  await idp?.close();
  await server?.stop();
});

describe('admin API of identity providers', () => {
  it('creates a provider with defaults, shows the redirect URI to register upstream, and never the secret', async () => {
    const created = await create(valid('acme'));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String), slug: 'acme', name: 'IdP acme', issuer: idp.issuer, clientId: 'client-acme', hasClientSecret: true,
      scopes: ['openid', 'profile', 'email'], enabled: true, emailDomains: [], redirectUri: `${server.portico.issuer}/sso/acme/callback`,
      createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    const one = await server.api.get(`${PATH}/${created.body.id}`, { token: adminToken });
    const list = await server.api.get(PATH, { token: adminToken });
    expect(one.body).toEqual(created.body);
    expect(list.body.items).toContainEqual(created.body);
    for (const res of [created, one, list]) expect(res.text).not.toContain(SECRET);
  });

  it('keeps the secret sealed at rest, bound to its row', async () => {
    const { body } = await create(valid('sealed'));
    const { db, keys } = server.portico.context;
    const row = await db.selectFrom('identity_providers').select('sealed_client_secret').where('id', '=', body.id).executeTakeFirstOrThrow();
    expect(row.sealed_client_secret).not.toContain(SECRET);
    expect(unseal(keys.seal, row.sealed_client_secret, `identity_providers:${body.id}`)).toBe(SECRET);
    expect(() => unseal(keys.seal, row.sealed_client_secret, 'identity_providers:00000000-0000-4000-8000-000000000000')).toThrow();
  });

  it('changes a provider (a new secret replaces the old one) but not its slug', async () => {
    const { body } = await create(valid('changing', { emailDomains: ['Example.COM', 'example.com'] }));
    expect(body.emailDomains).toEqual(['example.com']);
    const { db } = server.portico.context;
    const sealedBefore = (await db.selectFrom('identity_providers').select('sealed_client_secret').where('id', '=', body.id).executeTakeFirstOrThrow()).sealed_client_secret;
    const patched = await server.api.patch(`${PATH}/${body.id}`, { name: 'Renamed', scopes: ['openid', 'email'], enabled: false, clientSecret: 'a-new-secret' }, { token: adminToken });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', scopes: ['openid', 'email'], enabled: false, slug: 'changing', hasClientSecret: true });
    expect(patched.text).not.toContain('a-new-secret');
    const sealedAfter = (await db.selectFrom('identity_providers').select('sealed_client_secret').where('id', '=', body.id).executeTakeFirstOrThrow()).sealed_client_secret;
    expect(sealedAfter).not.toBe(sealedBefore);
    const slug = await server.api.patch(`${PATH}/${body.id}`, { slug: 'other' }, { token: adminToken });
    expect({ status: slug.status, code: slug.body.code }).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('refuses bad input with 400 naming the fields, and a taken slug with 409', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...valid('bad-1'), issuer: 'ftp://idp.example' }, 'body.issuer'],
      [{ ...valid('bad-2'), issuer: 'https://idp.example/?tenant=1' }, 'body.issuer'],
      [{ ...valid('bad-3'), scopes: ['profile'] }, 'body.scopes'],
      [{ ...valid('bad-4'), scopes: ['openid', 'has space'] }, 'body.scopes.1'],
      [{ ...valid('bad-5'), emailDomains: ['not a domain'] }, 'body.emailDomains.0'],
      [{ ...valid('Bad_Slug') }, 'body.slug'],
      [{ ...valid('bad-7'), clientSecret: undefined }, 'body.clientSecret'],
      [{ ...valid('bad-8'), unknown: 1 }, 'body'],
    ];
    for (const [body, path] of cases) {
      const res = await create(body);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'validation_failed' });
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    await create(valid('taken'));
    const again = await create(valid('taken'));
    expect({ status: again.status, code: again.body.code, field: again.body.field }).toEqual({ status: 409, code: 'conflict', field: 'slug' });
  });

  it('answers 422 when the issuer cannot be reached or its metadata is not usable', async () => {
    const unreachable = await create(valid('down', { issuer: 'http://127.0.0.1:9' }));
    expect(unreachable.status).toBe(422);
    expect(unreachable.headers.get('content-type')).toContain('application/problem+json');
    expect(unreachable.body).toMatchObject({ code: 'issuer_unreachable', detail: expect.stringContaining('http://127.0.0.1:9/.well-known/openid-configuration could not be reached') });

    const impostor = await startStaticServer(() => ({ status: 200, body: JSON.stringify({ issuer: 'https://someone-else.example', authorization_endpoint: 'x' }) }));
    const missing = await startStaticServer(() => ({ status: 404, body: '{}' }));
    const partial = await startStaticServer((origin) => ({ status: 200, body: JSON.stringify({ issuer: origin, authorization_endpoint: `${origin}/a` }) }));
    const noCode = await startStaticServer((origin) => ({ status: 200, body: JSON.stringify({
      issuer: origin, authorization_endpoint: `${origin}/a`, token_endpoint: `${origin}/t`, jwks_uri: `${origin}/j`, response_types_supported: ['id_token'] }) }));
    try {
      for (const [server_, detail] of [[impostor, 'not usable'], [missing, 'HTTP 404'], [partial, 'lacks token_endpoint, jwks_uri'], [noCode, 'authorization code flow']] as const) {
        const res = await create(valid(`meta-${detail.length}`, { issuer: server_.origin }));
        expect({ status: res.status, code: res.body.code }).toEqual({ status: 422, code: 'issuer_metadata_invalid' });
        expect(res.body.detail).toContain(detail);
      }
    } finally {
      await Promise.all([impostor, missing, partial, noCode].map((s) => s.close()));
    }
    expect((await server.api.get(PATH, { token: adminToken })).body.items.map((p: { slug: string }) => p.slug)).not.toContain('down');
  });

  it('saves a disabled provider without reaching its issuer, and checks discovery when it is enabled', async () => {
    const disabled = await create(valid('later', { issuer: 'http://127.0.0.1:9', enabled: false }));
    expect(disabled.status).toBe(201);
    const enable = await server.api.patch(`${PATH}/${disabled.body.id}`, { enabled: true }, { token: adminToken });
    expect({ status: enable.status, code: enable.body.code }).toEqual({ status: 422, code: 'issuer_unreachable' });
    const fixed = await server.api.patch(`${PATH}/${disabled.body.id}`, { enabled: true, issuer: idp.issuer }, { token: adminToken });
    expect(fixed.body).toMatchObject({ enabled: true, issuer: idp.issuer });
  });

  it('deletes a provider', async () => {
    const { body } = await create(valid('gone'));
    expect((await server.api.delete(`${PATH}/${body.id}`, { token: adminToken })).status).toBe(204);
    expect((await server.api.get(`${PATH}/${body.id}`, { token: adminToken })).status).toBe(404);
    expect((await server.api.delete(`${PATH}/${body.id}`, { token: adminToken })).status).toBe(404);
  });

  it('refuses to delete a provider accounts sign in with (409: disable it instead)', async () => {
    const { body } = await create(valid('in-use'));
    const { db } = server.portico.context;
    const someone = await server.developer('linked-someone');
    await db.insertInto('federated_identities').values({ provider_id: body.id, subject: 'sub-1', account_id: someone.id }).execute();
    const res = await server.api.delete(`${PATH}/${body.id}`, { token: adminToken });
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'conflict' });
    expect(res.body.detail).toBe('1 account(s) sign in with this identity provider; disable it instead.');
  });

  it('is for administrators only', async () => {
    const developer = await server.developer('idp-curious');
    expect((await server.api.get(PATH, { token: developer.token })).status).toBe(403);
    expect((await server.api.get(PATH)).status).toBe(401);
    expect((await server.api.post(PATH, valid('nope'), { token: developer.token })).status).toBe(403);
  });

  it('audits every change without the secret, and never logs it', async () => {
    const { db } = server.portico.context;
    const events = await db.selectFrom('audit_events').select(['action', 'details']).where('target_type', '=', 'identity_provider').execute();
    expect(new Set(events.map((e) => e.action))).toEqual(new Set(['identity_provider.created', 'identity_provider.updated', 'identity_provider.deleted']));
    const updated = events.find((e) => e.action === 'identity_provider.updated')!.details as { slug: string; fields: string[] };
    expect({ ...updated, fields: updated.fields.sort() }).toEqual({ slug: 'changing', fields: ['clientSecret', 'enabled', 'name', 'scopes'] });
    const all = JSON.stringify(await db.selectFrom('audit_events').selectAll().execute());
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain('a-new-secret');
    expect(server.logs.join('')).not.toContain(SECRET);
  });
});

describe('admin pages of identity providers', () => {
  it('create a provider through the form (CSRF token included), then show the redirect URI and no secret', async () => {
    const admin = await logIn(server.portico.url, ADMIN.username, ADMIN.password);
    const url = server.portico.url;
    const blank = await openPage(admin, `${url}/admin/identity-providers/new`);
    expect(blank.html).toContain('<a href="/admin/identity-providers" aria-current="page">Identity providers</a>');
    const form = formWithButton(blank.html, 'Create identity provider');
    expect(form.fields._csrf).toEqual(expect.any(String));

    const refused = await admin.submit(form.action, url, { ...form.fields, slug: 'page-down', name: 'Down', issuer: 'http://127.0.0.1:9', clientId: 'c', clientSecret: SECRET, scopes: 'openid', enabled: 'true' });
    expect(refused.res.status).toBe(422);
    const refusedHtml = await refused.res.text();
    expect(refusedHtml).toContain('could not be reached');
    expect(refusedHtml).not.toContain(SECRET);

    const created = await admin.submit(form.action, url, {
      ...form.fields, slug: 'page-idp', name: 'Page IdP', issuer: idp.issuer, clientId: 'page-client', clientSecret: SECRET,
      scopes: 'openid profile', emailDomains: 'corp.example, staff.corp.example', enabled: 'true',
    });
    expect(created.res.status).toBe(200);
    expect(created.url).toMatch(/\/admin\/identity-providers\/[0-9a-f-]{36}\?notice=saved$/);
    const editor = await created.res.text();
    expect(editor).toContain(`<code>${server.portico.issuer}/sso/page-idp/callback</code>`);
    expect(editor).not.toContain(SECRET);
    const stored = (await server.api.get(PATH, { token: adminToken })).body.items.find((p: { slug: string }) => p.slug === 'page-idp');
    expect(stored).toMatchObject({ name: 'Page IdP', scopes: ['openid', 'profile'], emailDomains: ['corp.example', 'staff.corp.example'], enabled: true });

    // Saving with an empty secret keeps it; an unchecked box disables.
    const edit = formWithButton(editor, 'Save identity provider');
    await admin.submit(edit.action, url, { ...edit.fields, name: 'Page IdP 2', issuer: idp.issuer, clientId: 'page-client', clientSecret: '', scopes: 'openid profile' });
    const { db, keys } = server.portico.context;
    const row = await db.selectFrom('identity_providers').selectAll().where('slug', '=', 'page-idp').executeTakeFirstOrThrow();
    expect({ name: row.name, enabled: row.enabled }).toEqual({ name: 'Page IdP 2', enabled: false });
    expect(unseal(keys.seal, row.sealed_client_secret, `identity_providers:${row.id}`)).toBe(SECRET);

    const list = await openPage(admin, `${url}/admin/identity-providers`);
    expect(list.html).toContain(`aria-label="Edit Page IdP 2"`);
    expect(list.html).not.toContain(SECRET);
  });

  it('refuse a form without the CSRF token', async () => {
    const admin = await logIn(server.portico.url, ADMIN.username, ADMIN.password);
    const res = await admin.submit('/admin/identity-providers', server.portico.url, { slug: 'no-csrf', name: 'x', issuer: idp.issuer, clientId: 'c', clientSecret: 's' });
    expect(res.res.status).toBe(403);
    expect((await server.api.get(PATH, { token: adminToken })).body.items.map((p: { slug: string }) => p.slug)).not.toContain('no-csrf');
  });
});
