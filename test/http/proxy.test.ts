import { afterEach, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer | undefined;
afterEach(async () => { await server?.stop(); server = undefined; });

async function auditedIp(trustProxy: string, forwardedFor = '203.0.113.7'): Promise<string | null> {
  server = await startTestServer({ env: { TRUST_PROXY: trustProxy } });
  const headers = { 'x-forwarded-for': forwardedFor, 'content-type': 'application/json' };
  const res = await server.api.post('/api/v1/developers', undefined, { raw: JSON.stringify({ username: 'proxied', password: 'proxied-password' }), headers });
  const admin = await server.adminToken();
  const events = await server.api.get(`/api/v1/admin/audit?targetId=${res.body.id}`, { token: admin });
  return events.body.items[0].actorIp as string | null;
}

describe('the session cookie', () => {
  it('is Secure when the issuer is https, even behind an untrusted proxy', async () => {
    server = await startTestServer({ env: { ISSUER: 'https://auth.example.com' } });
    const login = await server.api.post('/api/v1/auth/login', { username: 'root', password: 'admin-password-1' });
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('portico_session='))).toMatch(/; secure/i);
    expect(cookies.find((c) => c.startsWith('portico_csrf='))).toMatch(/; secure/i);
  });
});

describe('TRUST_PROXY', () => {
  it('takes the client IP from X-Forwarded-For only when set', async () => {
    expect(await auditedIp('true')).toBe('203.0.113.7');
  });
  it('takes the address the proxy appended, not one the client put before it', async () => {
    // nginx's $proxy_add_x_forwarded_for keeps what the client sent and appends the address it saw.
    expect(await auditedIp('true', '198.51.100.99, 203.0.113.7')).toBe('203.0.113.7');
  });
  it('ignores X-Forwarded-For by default', async () => {
    expect(await auditedIp('false')).toMatch(/127\.0\.0\.1/);
  });
});
