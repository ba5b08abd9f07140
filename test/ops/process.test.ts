import { afterAll, describe, expect, it } from '@jest/globals';
import { TEST_SECRET } from '../support/constants.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiClient } from '../support/http.js';
import { runCli, spawnPortico } from '../support/process.js';

const databases: TestDatabase[] = [];
async function database(options?: { fresh?: boolean }) {
  const db = await createTestDatabase(options);
  databases.push(db);
  return db;
}
afterAll(async () => { for (const db of databases) await db.drop(); });

describe('the server process on the embedded database', () => {
  it('starts on an empty DATA_DIR, keeps data across a restart, locks DATA_DIR, and logs no secret', async () => {
    const { env: { DATA_DIR } } = await database({ fresh: true });
    const first = spawnPortico({ PORT: '0', DATA_DIR });
    const url = await first.ready;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = apiClient(url);
    expect((await api.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await api.get('/readyz')).body).toEqual({ status: 'ready' });

    const password = 'Sup3r-Secret-Passw0rd';
    expect((await api.post('/api/v1/developers', { username: 'kept', password })).status).toBe(201);
    const login = await api.post('/api/v1/auth/login', { username: 'kept', password });
    expect(login.status).toBe(200);

    // A second server, and the CLI, on the same DATA_DIR refuse and change nothing.
    const second = spawnPortico({ PORT: '0', DATA_DIR });
    expect(await second.exited).not.toBe(0);
    expect(second.stderr()).toMatch(/DATA_DIR .* is in use by another Portico process/);
    const cli = await runCli(['migrate'], { DATA_DIR });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/in use by another Portico process/);

    expect(await first.stop()).toBe(0);
    for (const secret of [password, login.body.token, login.body.csrfToken]) {
      expect(first.stdout()).not.toContain(secret);
      expect(first.stderr()).not.toContain(secret);
    }
    expect(first.stdout()).toContain('"route":"/api/v1/auth/login"');

    const restarted = spawnPortico({ PORT: '0', DATA_DIR });
    const again = apiClient(await restarted.ready);
    expect((await again.post('/api/v1/auth/login', { username: 'kept', password })).status).toBe(200);
    // The session of the first run survives too: the generated secret was kept in DATA_DIR.
    expect((await again.get('/api/v1/me', { token: login.body.token })).status).toBe(200);
    expect(await restarted.stop()).toBe(0);
  });

  it('finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const { env } = await database();
    const server = spawnPortico({ PORT: '0', PORTICO_SECRET: TEST_SECRET, ...env });
    const api = apiClient(await server.ready);
    const inFlight = api.post('/api/v1/developers', { username: 'late-comer', password: 'late-comer-password' });
    await new Promise((r) => setTimeout(r, 5));
    server.child.kill('SIGTERM');
    expect((await inFlight).status).toBe(201);
    expect(await server.exited).toBe(0);
    await expect(fetch(`${await server.ready}/healthz`)).rejects.toThrow();
  });
});

describe('refusing to start', () => {
  it('refuses a PORTICO_SECRET other than the one the database was sealed with', async () => {
    const { env } = await database();
    const server = spawnPortico({ PORT: '0', PORTICO_SECRET: 'another-secret-that-is-long-enough-0123456789', ...env });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(/PORTICO_SECRET: does not match the secret this database was first sealed with/);
  });

  it.each([
    ['PORTICO_SECRET', { DATABASE_URL: 'postgres://127.0.0.1:5432/portico' }, /PORTICO_SECRET: required when NODE_ENV=production/],
    ['DATABASE_URL', { PORTICO_SECRET: TEST_SECRET }, /DATABASE_URL: required when NODE_ENV=production/],
    ['ISSUER', { PORTICO_SECRET: TEST_SECRET, DATABASE_URL: 'postgres://127.0.0.1:5432/portico', ISSUER: 'http://auth.example.com' }, /ISSUER: must be https/],
  ])('in production without a proper %s', async (_name, env, message) => {
    const { env: { DATA_DIR } } = await database({ fresh: true });
    const server = spawnPortico({ NODE_ENV: 'production', PORT: '0', DATA_DIR, ...env });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(message);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT: must be a whole number/],
    [{ PORT: '70000' }, /PORT: must be between 0 and 65535/],
    [{ ISSUER: 'not a url' }, /ISSUER: must be an absolute http\(s\) URL/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ PORTICO_SECRET: 'short' }, /PORTICO_SECRET: must be at least 32 characters/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL:/],
    [{ TRUST_PROXY: 'maybe' }, /TRUST_PROXY: must be true or false/],
    [{ PORTICO_ADMIN_USERNAME: 'admin' }, /PORTICO_ADMIN_USERNAME and PORTICO_ADMIN_PASSWORD must be set together/],
    [{ PORTICO_ADMIN_USERNAME: 'a b', PORTICO_ADMIN_PASSWORD: 'long-enough-pw' }, /PORTICO_ADMIN_USERNAME: may contain only/],
    [{ PORTICO_ADMIN_USERNAME: 'admin', PORTICO_ADMIN_PASSWORD: 'short' }, /PORTICO_ADMIN_PASSWORD: /],
  ])('with an invalid setting %j', async (env, message) => {
    const { env: { DATA_DIR } } = await database({ fresh: true });
    const server = spawnPortico({ PORT: '0', DATA_DIR, ...env });
    expect(await server.exited).toBe(1);
    expect(server.stderr()).toMatch(message);
  });
});
