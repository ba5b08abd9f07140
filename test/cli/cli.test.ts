import { afterAll, describe, expect, it } from '@jest/globals';
import { TEST_SECRET } from '../support/constants.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiClient } from '../support/http.js';
import { runCli, spawnPortico } from '../support/process.js';

const databases: TestDatabase[] = [];
afterAll(async () => { for (const db of databases) await db.drop(); });

describe('the admin CLI', () => {
  it('creates an admin from a password on standard input, who can then log in', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const env = { PORTICO_SECRET: TEST_SECRET, ...db.env };
    const created = await runCli(['admin', 'create', 'ops-admin', '--password-stdin'], env, 'cli-admin-password\n');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created admin ops-admin \([0-9a-f-]{36}\)/);
    expect(created.stdout + created.stderr).not.toContain('cli-admin-password');

    const again = await runCli(['admin', 'create', 'ops-admin', '--password-stdin'], env, 'cli-admin-password\n');
    expect(again.code).toBe(1); // refused by the state of things, not bad usage
    expect(again.stderr).toMatch(/taken/);

    const server = spawnPortico({ PORT: '0', ...env });
    const api = apiClient(await server.ready);
    const login = await api.post('/api/v1/auth/login', { username: 'ops-admin', password: 'cli-admin-password' });
    expect(login.status).toBe(200);
    expect(login.body.account.role).toBe('admin');
    expect((await api.get('/api/v1/admin/audit?action=admin.created', { token: login.body.token })).body.items).toHaveLength(1);
    await server.stop();
  });

  it('refuses a short password and bad usage without touching the database', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const env = { PORTICO_SECRET: TEST_SECRET, ...db.env };
    const short = await runCli(['admin', 'create', 'someone', '--password-stdin'], env, 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/password: .*10 to 256 characters/);
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
    // Nothing was created: the same name with a proper password is still free.
    expect((await runCli(['admin', 'create', 'someone', '--password-stdin'], env, 'a-proper-password\n')).code).toBe(0);
    const help = await runCli(['help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/admin create <username> --password-stdin/);
  });

  it('seeds the demo products once, of every type, published in the catalog', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const env = { PORTICO_SECRET: TEST_SECRET, ...db.env };
    const seeded = await runCli(['seed', 'demo'], env);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/^added 7 products: chat-large, /);
    expect((await runCli(['seed', 'demo'], env)).stdout).toMatch(/already there/);
    expect((await runCli(['seed', 'everything'], env)).code).toBe(2);

    const server = spawnPortico({ PORT: '0', ...env });
    const api = apiClient(await server.ready);
    for (const type of ['model', 'mcp', 'agent']) {
      expect((await api.get(`/api/v1/products?type=${type}`)).body.items.length).toBeGreaterThanOrEqual(2);
    }
    expect((await api.get('/api/v1/products/weather-mcp')).body.resourceUri).toBe('https://mcp.example.com/mcp/weather');
    await server.stop();
  });

  it('approves and bans developers by username, with exit codes a shell expects', async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const env = { PORTICO_SECRET: TEST_SECRET, ...db.env, PORTICO_ADMIN_USERNAME: 'cli-root', PORTICO_ADMIN_PASSWORD: 'cli-root-password' };
    // The embedded database admits one process: the server stops while the CLI works.
    let server = spawnPortico({ PORT: '0', ...env });
    let api = apiClient(await server.ready);
    const admin = (await api.post('/api/v1/auth/login', { username: 'cli-root', password: 'cli-root-password' })).body.token;
    expect((await api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin })).status).toBe(200);
    for (const username of ['cli-waiting', 'cli-spammer']) {
      expect((await api.post('/api/v1/developers', { username, password: `${username}-password` })).body.status).toBe('pending');
    }
    await server.stop();

    const approved = await runCli(['developers', 'approve', 'cli-waiting'], env);
    expect(approved).toMatchObject({ code: 0, stdout: 'cli-waiting is now active\n' });
    const twice = await runCli(['developers', 'approve', 'cli-waiting'], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/Cannot approve an account that is active/);
    const nobody = await runCli(['developers', 'ban', 'cli-nobody'], env);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/No such developer "cli-nobody"/);
    expect((await runCli(['developers', 'ban', 'cli-root'], env)).code).toBe(1); // an admin is not a developer
    for (const bad of [['developers'], ['developers', 'promote', 'cli-waiting'], ['developers', 'ban', 'cli-spammer', '--reason'], ['developers', 'approve', 'cli-spammer', '--reason', 'x']]) {
      expect((await runCli(bad, env)).code).toBe(2);
    }
    expect(await runCli(['developers', 'ban', 'cli-spammer', '--reason', 'sent spam'], env)).toMatchObject({ code: 0, stdout: 'cli-spammer is now banned\n' });
    expect(await runCli(['unlock', 'cli-waiting'], env)).toMatchObject({ code: 0, stdout: 'cli-waiting was not locked\n' });
    expect((await runCli(['unlock', 'cli-nobody'], env)).code).toBe(1);
    expect((await runCli(['unlock'], env)).code).toBe(2);

    server = spawnPortico({ PORT: '0', ...env });
    api = apiClient(await server.ready);
    expect((await api.post('/api/v1/auth/login', { username: 'cli-waiting', password: 'cli-waiting-password' })).status).toBe(200);
    const banned = await api.post('/api/v1/auth/login', { username: 'cli-spammer', password: 'cli-spammer-password' });
    expect(banned.status).toBe(403);
    expect(banned.body.code).toBe('account_banned');
    const audit = await api.get('/api/v1/admin/audit?action=account.banned', { token: (await api.post('/api/v1/auth/login', { username: 'cli-root', password: 'cli-root-password' })).body.token });
    expect(audit.body.items[0]).toMatchObject({ actorId: null, details: { reason: 'sent spam' } });
    await server.stop();
  });

  it('migrates an empty database', async () => {
    const db = await createTestDatabase({ fresh: true });
    databases.push(db);
    const result = await runCli(['migrate'], { PORTICO_SECRET: TEST_SECRET, ...db.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/database is up to date/);
  });
});
