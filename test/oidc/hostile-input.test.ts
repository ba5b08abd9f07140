import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Every protocol endpoint, fed garbage: answers are 4xx (or a 2xx the protocol requires), never 5xx.
let server: TestServer;
let client: { clientId: string; clientSecret: string; id: string };
let owner: { id: string; token: string };
beforeAll(async () => {
  server = await startTestServer();
  owner = await server.developer('hostile-owner');
  const app = await server.api.post('/api/v1/applications', { name: 'Target', redirectUris: ['https://app.example.com/cb'] }, { token: owner.token });
  client = app.body;
});
afterAll(async () => { await server?.stop(); });

const nul = '\u0000';
const long = 'x'.repeat(20_000);

describe('protocol endpoints under hostile input', () => {
  it('never answer 5xx', async () => {
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const forms: Array<[string, Record<string, string> | string, Record<string, string>?]> = [
      ['/oauth2/token', { grant_type: 'client_credentials' }],
      ['/oauth2/token', { grant_type: 'password', username: 'a', password: 'b' }, { authorization: basic }],
      ['/oauth2/token', { grant_type: 'authorization_code', code: long, redirect_uri: 'https://app.example.com/cb' }, { authorization: basic }],
      ['/oauth2/token', { grant_type: 'refresh_token', refresh_token: `abc${nul}def` }, { authorization: basic }],
      ['/oauth2/token', { grant_type: 'client_credentials', resource: 'https://elsewhere.example.com' }, { authorization: basic }],
      ['/oauth2/token', { grant_type: 'client_credentials', scope: long }, { authorization: basic }],
      ['/oauth2/token', { grant_type: 'client_credentials', client_id: `${client.clientId}${nul}`, client_secret: 'x' }],
      ['/oauth2/token', { grant_type: 'client_credentials' }, { authorization: 'Basic !!!not-base64' }],
      ['/oauth2/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from(`${long}:${long}`).toString('base64')}` }],
      ['/oauth2/token', '%%%not-a-form'],
      ['/api/v1/oauth2/token', { grant_type: 'client_credentials', client_id: client.clientId, client_secret: long }],
      ['/api/v1/oauth2/token', '{"grant_type":"client_credentials"}', { 'content-type': 'application/json' }],
      ['/oauth2/introspect', { token: long }, { authorization: basic }],
      ['/oauth2/introspect', { token: `a.b.c${nul}` }, { authorization: basic }],
      ['/oauth2/introspect', { token: 'x' }],
      ['/oauth2/revoke', { token: long, token_type_hint: 'weird' }, { authorization: basic }],
      ['/oauth2/revoke', { token: nul }],
      ['/oauth2/logout', { id_token_hint: 'not.a.jwt', xsrf: long }],
    ];
    for (const [path, body, headers] of forms) {
      const res = await fetch(server.portico.url + path, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: typeof body === 'string' ? body : new URLSearchParams(body),
      });
      expect({ path, body, status: res.status < 500 }).toEqual({ path, body, status: true });
    }

    const gets = [
      `/oauth2/authorize?client_id=${client.clientId}&response_type=code&redirect_uri=https://evil.example.com/cb&scope=openid`,
      `/oauth2/authorize?client_id=${nul}&response_type=code`,
      `/oauth2/authorize?client_id=${client.clientId}&response_type=token&redirect_uri=https://app.example.com/cb`,
      `/oauth2/authorize?client_id=${long}`,
      `/oauth2/authorize?client_id=${client.clientId}&response_type=code&redirect_uri=https://app.example.com/cb&scope=openid&code_challenge=short&code_challenge_method=plain`,
      '/oauth2/userinfo', '/oauth2/logout?id_token_hint=garbage', '/oauth2/jwks?x=%00',
      '/interaction/does-not-exist', `/interaction/${nul}`, `/interaction/${long.slice(0, 2000)}`,
    ];
    for (const path of gets) {
      const res = await fetch(server.portico.url + path.replace(nul, '%00'), { redirect: 'manual', headers: { authorization: 'Bearer garbage' } });
      expect({ path: path.slice(0, 80), status: res.status < 500 }).toEqual({ path: path.slice(0, 80), status: true });
    }
    const unknownClient = await fetch(`${server.portico.url}/oauth2/authorize?client_id=nobody&response_type=code&scope=openid`);
    expect(unknownClient.status).toBe(400);
    const page = await unknownClient.text();
    expect(page).toContain('<title>Sign-in error · Portico</title>');
    expect(page).toContain('client is invalid');
    for (const path of ['/interaction/x/login', '/interaction/x/confirm', '/interaction/x/abort']) {
      const res = await fetch(server.portico.url + path, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: long });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
    }
  });

  it('serve an interaction only at its own path', async () => {
    const b = browser();
    const start = `${server.portico.url}/oauth2/authorize?${new URLSearchParams({ client_id: client.clientId, response_type: 'code', redirect_uri: 'https://app.example.com/cb', scope: 'openid', state: 's' })}`;
    const own = await b.open(start);
    expect(own.res.status).toBe(200);
    const uid = new URL(own.url).pathname.split('/')[2]!;
    // The browser's cookie names this interaction: under another uid it is not served, nor are its forms.
    const elsewhere = await b.open(own.url.replace(uid, `${uid.slice(0, -1)}${uid.endsWith('a') ? 'b' : 'a'}`));
    expect(elsewhere.res.status).toBe(400);
    const form = formWithButton(await own.res.text(), 'Log in');
    const posted = await b.submit(form.action.replace(uid, 'other-uid'), own.url, { ...form.fields, username: 'hostile-owner', password: 'hostile-owner-password-1' });
    expect(posted.res.status).toBe(400);
  });

  it('answer every bad applications request with 4xx problem+json and write nothing', async () => {
    const db = server.portico.context.db;
    const count = async () => Number((await db.selectFrom('oauth_clients').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    const bodies = ['{', '[]', 'null', JSON.stringify({ name: nul }), JSON.stringify({ name: long }), JSON.stringify({ name: 'a', redirectUris: 'https://x' }),
      JSON.stringify({ name: 'a', redirectUris: [long] }), JSON.stringify({ name: 'a', grantTypes: [] }), JSON.stringify({ name: 'a', grantTypes: ['client_credentials', 'client_credentials'] }),
      JSON.stringify({ name: 'a', jwksUri: 'ftp://keys.example.com' }), JSON.stringify({ name: 'a', jwksUri: 'http://keys.example.com' })];
    for (const raw of bodies) {
      for (const [method, path] of [['POST', '/api/v1/applications'], ['PATCH', `/api/v1/applications/${client.id}`]]) {
        const res = await server.api.request(method!, path!, undefined, { raw, token: owner.token, headers: { 'content-type': 'application/json' } });
        expect({ raw: raw.slice(0, 60), method, status: res.status }).toEqual({ raw: raw.slice(0, 60), method, status: 400 });
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
    for (const path of ['/api/v1/applications/not-a-uuid', '/api/v1/applications/%00/secret']) {
      expect((await server.api.post(path, undefined, { token: owner.token })).status).toBeLessThan(500);
    }
    expect(await count()).toBe(before);
    expect(server.logs.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
  });
});
