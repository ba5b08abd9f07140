import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
let developerId: string;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  developerId = (await server.developer('target-dev')).id;
});
afterAll(async () => { await server?.stop(); });

/** Every route that takes a body, with the session it needs. */
const bodyRoutes = (): Array<[string, string, string | undefined]> => [
  ['POST', '/api/v1/developers', undefined],
  ['POST', '/api/v1/auth/login', undefined],
  ['POST', '/api/v1/auth/logout', admin],
  ['PUT', '/api/v1/admin/settings', admin],
  ['POST', `/api/v1/admin/developers/${developerId}/reject`, admin],
  ['POST', `/api/v1/admin/developers/${developerId}/ban`, admin],
  ['POST', '/api/v1/admin/organizations', admin],
  ['POST', '/api/v1/admin/licenses', admin],
];

const deepJson = '['.repeat(20000) + ']'.repeat(20000);
const hostileBodies: Array<[string, string, string]> = [
  ['malformed JSON', '{"username": "x", ', 'application/json'],
  ['a JSON string', '"just a string"', 'application/json'],
  ['deeply nested JSON', deepJson, 'application/json'],
  ['text/plain', 'username=x&password=y', 'text/plain'],
  ['a form', 'username=x&password=y', 'application/x-www-form-urlencoded'],
  ['an oversized body', JSON.stringify({ username: 'a', password: 'p'.repeat(70_000) }), 'application/json'],
  ['unknown fields', JSON.stringify({ username: 'someone', password: 'long-enough-1', isAdmin: true, developerApproval: 'auto', reason: 'x', extra: 1 }), 'application/json'],
  ['wrong types', JSON.stringify({ username: ['a'], password: { p: 1 }, developerApproval: 5, reason: 42 }), 'application/json'],
  ['an array', JSON.stringify([{ username: 'a' }]), 'application/json'],
  ['null', 'null', 'application/json'],
  ['overlong strings', JSON.stringify({ username: 'u'.repeat(5000), password: 'p'.repeat(5000), reason: 'r'.repeat(5000), developerApproval: 'a'.repeat(5000) }), 'application/json'],
  ['NUL bytes', JSON.stringify({ username: 'nul\u0000user', password: 'password\u0000123', reason: 'why\u0000', developerApproval: 'auto\u0000' }), 'application/json'],
  ['a NUL byte in a key', JSON.stringify({ 'user\u0000name': 'x' }), 'application/json'],
  ['a prototype key', '{"__proto__": {"role": "admin"}, "username": "protouser", "password": "long-enough-1"}', 'application/json'],
];

async function counts() {
  const db = server.portico.context.db;
  const one = async (table: 'accounts' | 'audit_events' | 'settings' | 'consumers') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const target = await db.selectFrom('accounts').select('status').where('id', '=', developerId).executeTakeFirstOrThrow();
  return { accounts: await one('accounts'), audit: await one('audit_events'), settings: await one('settings'), consumers: await one('consumers'), target: target.status };
}

function expectProblem(res: { status: number; headers: Headers; body: any; text: string }, label: string) {
  expect({ label, status: res.status >= 400 && res.status < 500 }).toEqual({ label, status: true });
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body.code).toEqual(expect.any(String));
  expect(res.body.status).toBe(res.status);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

describe('hostile input', () => {
  it('every body route answers 4xx problem+json to every hostile body and writes nothing', async () => {
    const before = await counts();
    for (const [method, path, token] of bodyRoutes()) {
      for (const [label, raw, type] of hostileBodies) {
        const res = await server.api.request(method, path, undefined, { raw, token, headers: { 'content-type': type } });
        expectProblem(res, `${method} ${path} with ${label}`);
      }
    }
    expect(await counts()).toEqual(before);
    expect((await server.api.get('/api/v1/me', { token: admin })).status).toBe(200); // logout never happened
  });

  it('names the problem: 415 for the wrong type, 413 for oversize, 400 with field paths otherwise', async () => {
    const send = (raw: string, type = 'application/json') =>
      server.api.request('POST', '/api/v1/developers', undefined, { raw, headers: { 'content-type': type } });
    expect((await send('a=b', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await send(JSON.stringify({ password: 'p'.repeat(70_000) }))).status).toBe(413);
    const unknown = await send(JSON.stringify({ username: 'valid-name', password: 'long-enough-1', role: 'admin' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: 'body', message: 'unknown field(s): role' }]);
    const malformed = await send('{');
    expect(malformed.body.detail).toBe('The body is not valid JSON.');
  });

  it('refuses bad path ids and query parameters with 400, never reaching the database', async () => {
    const paths = [
      '/api/v1/admin/developers/not-a-uuid/ban',
      "/api/v1/admin/developers/1'%20OR%20'1'='1/ban",
      '/api/v1/admin/developers/%00/ban',
      `/api/v1/admin/developers/${'a'.repeat(5000)}/ban`,
      `/api/v1/admin/developers/${developerId}%00/ban`,
    ];
    for (const path of paths) {
      const res = await server.api.post(path, undefined, { token: admin });
      expectProblem(res, path);
    }
    const queries = [
      '/api/v1/admin/developers?limit=0', '/api/v1/admin/developers?limit=abc', '/api/v1/admin/developers?limit=1000',
      '/api/v1/admin/developers?status=everyone', '/api/v1/admin/developers?cursor=garbage', '/api/v1/admin/developers?status=%00',
      '/api/v1/admin/developers?limit=1&limit=2', '/api/v1/admin/audit?actorId=nope', '/api/v1/admin/audit?action=%00',
      `/api/v1/admin/audit?cursor=${Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', developerId])).toString('base64url')}`,
      `/api/v1/admin/audit?cursor=${Buffer.from(JSON.stringify(['0000-01-01T00:00:00Z', developerId])).toString('base64url')}`,
      `/api/v1/admin/developers?cursor=${Buffer.from('["2026-01-01T00:00:00.000Z"]').toString('base64url')}`,
      `/api/v1/admin/audit?targetId=${'t'.repeat(300)}`,
    ];
    for (const path of queries) {
      const res = await server.api.get(path, { token: admin });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.code).toBe('validation_failed');
    }
  });

  it('answers unknown routes 404 and wrong methods 405, as problem+json', async () => {
    const missing = await server.api.get('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const wrongMethod = await server.api.request('DELETE', '/api/v1/developers');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.code).toBe('method_not_allowed');
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    for (const method of ['PROPFIND', 'PURGE', 'MKCOL']) {
      const odd = await server.api.request(method, '/api/v1/me', undefined, { token: admin });
      expect({ method, status: odd.status }).toEqual({ method, status: 405 });
      expect(odd.body.code).toBe('method_not_allowed');
    }
  });

  it('logged no unexpected error during the sweep', () => {
    const errors = server.logs.filter((line) => JSON.parse(line).level >= 50);
    expect(errors).toEqual([]);
  });
});
