import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { openDatabase } from '../../src/db/connect.js';
import { browser, formWithButton } from '../support/browser.js';
import { ADMIN, TEST_SECRET } from '../support/constants.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiClient, type ApiClient } from '../support/http.js';
import { spawnPortico, type PorticoProcess } from '../support/process.js';
import { signRequest } from '../support/sdk-signer.js';

/*
 * Crash safety of one server process (issue 9, item 5), on the database the suite runs on.
 *
 * 1. A node is seeded through the API, put under load, and killed with SIGKILL in the middle of
 *    it. Restarted on the same database, everything it acknowledged must be there and work:
 *    accounts, consumers, API keys, AK/SK pairs, subscriptions, applications and their secrets,
 *    the signing keys (tokens issued before still verify), refresh tokens issued before the crash
 *    (once each: they rotate), and the usage counts the usage API had shown.
 * 2. The restarted node gets requests in flight (the server has read part of each) and a burst
 *    of ordinary ones, then SIGTERM: every request in flight is answered, the process exits 0,
 *    and the usage it counted is in the database exactly, with nothing left reserved.
 * 3. Clients that keep a keep-alive connection busy across SIGTERM (a gateway's upstream pool)
 *    are told `Connection: close` and are never cut off by the end of the grace period.
 *
 * The embedded database can be reopened by a restarted process: its DATA_DIR lock, left behind
 * by the killed process, is taken over once it is 10 s old, so there the restart waits for it.
 */

const onEmbedded = !process.env.DATABASE_URL;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CONSUMER_QUOTA = 100_000;
const APP_QUOTA = 5_000;
const P1 = '/crash/models';
const P2 = '/crash/agents';

let database: TestDatabase;
let port: number;
let base: string;
let env: Record<string, string>;
let node: PorticoProcess | undefined;
let api: ApiClient;
let redirectUri: string;

/** A port that is free now: the restarted node must come back at the same address and issuer. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port: free } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return free;
}

/** Starts a node; after a crash on the embedded database, retries until the stale lock is taken over. */
async function startNode(afterCrash = false): Promise<PorticoProcess> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const started = spawnPortico(env);
    try {
      expect(await started.ready).toBe(base);
      return started;
    } catch (err) {
      const locked = /is in use by another Portico process/.test(started.stderr());
      if (!(afterCrash && onEmbedded && locked) || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** Signals the node and waits for it to exit; answers the exit code and how long it took. */
async function signal(proc: PorticoProcess, sig: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
  const at = Date.now();
  proc.child.kill(sig);
  const code = await proc.exited;
  return { code, ms: Date.now() - at };
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function tokenRequest(clientId: string, clientSecret: string, form: Record<string, string>) {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() as Record<string, any> };
}

async function clientCredentials(clientId: string, clientSecret: string): Promise<string> {
  const res = await tokenRequest(clientId, clientSecret, { grant_type: 'client_credentials' });
  if (res.status !== 200) throw new Error(`client_credentials of ${clientId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** The authorization-code flow through the real login and consent pages, with PKCE; answers the token response. */
async function authorizationCode(client: { clientId: string; clientSecret: string }, username: string, password: string) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const url = new URL(`${base}/oauth2/authorize`);
  url.search = new URLSearchParams({
    client_id: client.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }).toString();
  const b = browser();
  const loginPage = await b.open(url.href, redirectUri);
  const login = formWithButton(await loginPage.res.text(), 'Log in');
  let done = await b.submit(login.action, loginPage.url, { ...login.fields, username, password }, redirectUri);
  if (!done.url.startsWith(redirectUri)) {
    const consent = formWithButton(await done.res.text(), 'Allow');
    done = await b.submit(consent.action, done.url, consent.fields, redirectUri);
  }
  const callback = new URL(done.url);
  expect(callback.searchParams.get('state')).toBe(state);
  const res = await tokenRequest(client.clientId, client.clientSecret, {
    grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  expect(res.body.refresh_token).toEqual(expect.any(String));
  return res.body as { access_token: string; refresh_token: string };
}

const refresh = (client: { clientId: string; clientSecret: string }, refreshToken: string) =>
  tokenRequest(client.clientId, client.clientSecret, { grant_type: 'refresh_token', refresh_token: refreshToken });

interface Decision { status: number; code: number; remaining: number }

/** Asks /gateway/check about a call under `prefix`, as a gateway would. */
async function check(headers: Record<string, string>, prefix = P1): Promise<Decision> {
  const res = await fetch(`${base}/gateway/check`, {
    headers: { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': `${prefix}/v1/run`, 'X-Forwarded-Host': 'api.example.com', ...headers },
  });
  const body = await res.json() as { code: number };
  return { status: res.status, code: body.code, remaining: Number(res.headers.get('x-ratelimit-remaining')) };
}

/** An AK/SK-signed call under P2, signed now (the signature's date must be fresh). */
function signedCheck(pair: { accessKey: string; secretKey: string }): Promise<Decision> {
  const uri = `${P2}/v1/run`;
  const { host, ...headers } = signRequest({ method: 'POST', url: `https://api.example.com${uri}`, accessKey: pair.accessKey, secretKey: pair.secretKey, payload: '{}' });
  return check({ ...headers, 'X-Forwarded-Host': host!, 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': uri }, P2);
}

async function openapiMe(token: string): Promise<number> {
  const res = await fetch(`${base}/openapi/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

async function created<T = any>(res: Promise<{ status: number; body: T; text: string }>): Promise<T> {
  const answer = await res;
  if (answer.status !== 201) throw new Error(`expected 201, got ${answer.status} ${answer.text}`);
  return answer.body;
}

async function login(username: string, password: string): Promise<string> {
  const res = await api.post('/api/v1/auth/login', { username, password });
  if (res.status !== 200) throw new Error(`login of ${username}: ${res.status} ${res.text}`);
  return res.body.token as string;
}

/** Every item of a paginated list. */
async function listAll(path: string, token: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res: { status: number; body: any } = await api.get(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}

/** The usage counters of a subject, read from the database (no server may hold the embedded one). */
async function counters(kind: 'application' | 'consumer', id: string): Promise<{ calls: number; reserved: number }> {
  const handle = await openDatabase({ dataDir: database.env.DATA_DIR, databaseUrl: database.env.DATABASE_URL });
  try {
    const rows = await handle.db.selectFrom('usage_counters').select(['calls', 'reserved'])
      .where('subject_kind', '=', kind).where('subject_id', '=', id).execute();
    return rows.reduce((sum, r) => ({ calls: sum.calls + Number(r.calls), reserved: sum.reserved + Number(r.reserved) }), { calls: 0, reserved: 0 });
  } finally {
    await handle.close();
  }
}

// What was seeded before the crash.
const DEV = { username: 'crash-dev', password: 'crash-dev-password-1' };
const USER = { username: 'crash-user', password: 'crash-user-password-1' };
let admin: string;
let dev: { id: string; session: string };
let userId: string;
let consumer1: string;
let consumer3: string;
let apiKey1: { id: string; apiKey: string };
let apiKey3: { id: string; apiKey: string };
let pair1: { id: string; accessKey: string; secretKey: string };
let products: { p1: string; p2: string };
let subscriptions: string[];
let app1: { id: string; clientId: string; clientSecret: string };
let preCrashToken: string;
let preCrashKids: string[];
let freshRefresh: string;
let rotated: { used: string; current: string };

beforeAll(async () => {
  database = await createTestDatabase();
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  redirectUri = `http://127.0.0.1:${port}/merchant/callback`;
  env = {
    ...database.env, PORT: String(port), ISSUER: base, PORTICO_SECRET: TEST_SECRET,
    PORTICO_ADMIN_USERNAME: ADMIN.username, PORTICO_ADMIN_PASSWORD: ADMIN.password,
    REGISTRATION_MAX_PER_IP: '1000',
  };
  node = await startNode();
  api = apiClient(base);
  admin = await login(ADMIN.username, ADMIN.password);

  // Developers register and wait for approval; one product's subscriptions wait for it too.
  expect((await api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin })).status).toBe(200);
  for (const who of [DEV, USER]) {
    const registered = await created(api.post('/api/v1/developers', who));
    expect(registered.status).toBe('pending');
    expect((await api.post(`/api/v1/admin/developers/${registered.id}/approve`, {}, { token: admin })).status).toBe(200);
    if (who === USER) userId = registered.id;
    else dev = { id: registered.id, session: '' };
  }
  dev.session = await login(DEV.username, DEV.password);
  const product = (slug: string, routePrefix: string, extra: Record<string, unknown> = {}) => created(api.post('/api/v1/admin/products', {
    slug, name: slug, type: 'model', category: 'text', description: '', overview: '', guide: '', sampleRequests: [], routePrefix, ...extra,
  }, { token: admin }));
  products = { p1: (await product('crash-models', P1)).id, p2: (await product('crash-agents', P2, { subscriptionApproval: 'manual' })).id };

  consumer1 = (await api.get('/api/v1/consumers', { token: dev.session })).body.items[0].id;
  consumer3 = (await created(api.post('/api/v1/consumers', { name: 'crash second consumer' }, { token: dev.session }))).id;
  apiKey1 = await created(api.post(`/api/v1/consumers/${consumer1}/credentials`, { type: 'api-key' }, { token: dev.session }));
  apiKey3 = await created(api.post(`/api/v1/consumers/${consumer3}/credentials`, { type: 'api-key' }, { token: dev.session }));
  pair1 = await created(api.post(`/api/v1/consumers/${consumer1}/credentials`, { type: 'ak-sk' }, { token: dev.session }));
  subscriptions = [];
  for (const [productId, consumerId] of [[products.p1, consumer1], [products.p2, consumer1], [products.p1, consumer3]] as const) {
    const sub = await created(api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.session }));
    if (productId === products.p2) {
      expect(sub.status).toBe('pending');
      expect((await api.post(`/api/v1/admin/subscriptions/${sub.id}/approve`, {}, { token: admin })).status).toBe(200);
    }
    subscriptions.push(sub.id);
  }

  app1 = await created(api.post('/api/v1/applications', { name: 'Crash merchant', redirectUris: [redirectUri] }, { token: dev.session }));
  preCrashToken = await clientCredentials(app1.clientId, app1.clientSecret);
  preCrashKids = ((await api.get('/oauth2/jwks')).body.keys as Array<{ kid: string }>).map((k) => k.kid);
  // Two grants of an end user: one refresh token never used, one already rotated once.
  freshRefresh = (await authorizationCode(app1, USER.username, USER.password)).refresh_token;
  const first = (await authorizationCode(app1, USER.username, USER.password)).refresh_token;
  const second = await refresh(app1, first);
  expect(second.status).toBe(200);
  rotated = { used: first, current: second.body.refresh_token };
}, 60_000);

afterAll(async () => {
  if (node && node.child.exitCode === null && node.child.signalCode === null) await signal(node, 'SIGKILL');
  await database?.drop();
});

describe('a node killed with SIGKILL under load', () => {
  // What the node acknowledged (a 2xx answer) or showed before it died.
  const acked = {
    keyCalls: 0, pairCalls: 0, tokenCalls: 0, consumers: [] as Array<{ id: string; key?: { id: string; apiKey: string }; subscription?: string }>,
    developers: [] as Array<{ id: string; username: string; password: string }>,
    applications: [] as Array<{ id: string; clientId: string; clientSecret: string }>,
  };
  let reportedCalls = 0;
  const failedBeforeKill: string[] = [];
  const unexpected: string[] = [];

  it('keeps every acknowledged account, credential, subscription, application, key, refresh token and reported count', async () => {
    let killed = false;
    // Bounded: the token calls stay well under the application's quota of 5,000.
    const budgets = { key: 20_000, pair: 600, gatewayToken: 1_500, openapi: 600, consumers: 40, developers: 8, applications: 10 };
    const sent = { key: 0 };
    /** Runs `call` until its budget is spent or the node is gone; a failure while the node is up is a finding. */
    const workers = (count: number, budget: keyof typeof budgets, call: () => Promise<void>) => Array.from({ length: count }, async () => {
      while (budgets[budget] > 0) {
        budgets[budget] -= 1;
        try {
          await call();
        } catch (err) {
          if (!killed) failedBeforeKill.push(`${budget}: ${(err as Error).message}`);
          return;
        }
      }
    });
    const allowed = (what: string, decision: Decision | number, onAllowed: () => void) => {
      const status = typeof decision === 'number' ? decision : decision.status;
      if (status === 200) onAllowed();
      else if (!killed) unexpected.push(`${what}: ${status}`);
    };

    const load = [
      ...workers(24, 'key', async () => { sent.key += 1; allowed('api key', await check({ 'X-API-Key': apiKey1.apiKey }), () => { acked.keyCalls += 1; }); }),
      ...workers(6, 'pair', async () => allowed('ak/sk', await signedCheck(pair1), () => { acked.pairCalls += 1; })),
      ...workers(12, 'gatewayToken', async () => allowed('token', await check({ Authorization: `Bearer ${preCrashToken}` }), () => { acked.tokenCalls += 1; })),
      ...workers(6, 'openapi', async () => allowed('openapi', await openapiMe(preCrashToken), () => { acked.tokenCalls += 1; })),
      ...workers(2, 'consumers', async () => {
        const consumer = await created(api.post('/api/v1/consumers', { name: `load consumer ${randomBytes(4).toString('hex')}` }, { token: dev.session }));
        const entry: (typeof acked.consumers)[number] = { id: consumer.id };
        acked.consumers.push(entry);
        entry.key = await created(api.post(`/api/v1/consumers/${consumer.id}/credentials`, { type: 'api-key' }, { token: dev.session }));
        entry.subscription = (await created(api.post('/api/v1/subscriptions', { productId: products.p1, consumerId: consumer.id }, { token: dev.session }))).id;
      }),
      ...workers(1, 'developers', async () => {
        const who = { username: `load-dev-${randomBytes(4).toString('hex')}`, password: 'load-developer-password' };
        acked.developers.push({ ...who, id: (await created(api.post('/api/v1/developers', who))).id });
      }),
      ...workers(1, 'applications', async () => {
        acked.applications.push(await created(api.post('/api/v1/applications', { name: `load app ${randomBytes(4).toString('hex')}` }, { token: dev.session })));
      }),
    ];
    // What the usage API shows while the load runs is "already reported".
    const poller = (async () => {
      while (!killed) {
        try {
          const usage = await api.get(`/api/v1/applications/${app1.id}/usage?days=1`, { token: dev.session });
          if (usage.status === 200) reportedCalls = Math.max(reportedCalls, usage.body.today as number);
          else if (!killed) unexpected.push(`usage: ${usage.status}`);
        } catch (err) {
          if (!killed) failedBeforeKill.push(`usage: ${(err as Error).message}`);
          return;
        }
        await sleep(50);
      }
    })();

    // Kill in the middle: half of the API-key calls sent and at least one of each creation acknowledged.
    const started = Date.now();
    while (!(sent.key >= 2_000 && acked.consumers.some((c) => c.subscription) && acked.developers.length && acked.applications.length && reportedCalls > 0)) {
      if (Date.now() - started > 40_000) throw new Error(`the load did not get going: ${JSON.stringify({ sent, acked, reportedCalls, failedBeforeKill, unexpected })}`);
      await sleep(5);
    }
    killed = true;
    const { code } = await signal(node!, 'SIGKILL');
    expect(code).toBeNull();
    expect(node!.child.signalCode).toBe('SIGKILL');
    await Promise.all([...load, poller]);
    expect(failedBeforeKill).toEqual([]);
    expect(unexpected).toEqual([]);
    expect(budgets.key).toBeGreaterThan(0); // the load was cut short
    expect(reportedCalls).toBeGreaterThan(0);

    if (!onEmbedded) {
      // Straight from the database: the reported calls are there, and every allowed call is
      // either counted or still reserved (so no call over the quota can be allowed).
      const app = await counters('application', app1.id);
      expect(app.calls).toBeGreaterThanOrEqual(reportedCalls);
      expect(app.calls + app.reserved).toBeGreaterThanOrEqual(acked.tokenCalls);
      const keys = await counters('consumer', consumer1);
      expect(keys.calls + keys.reserved).toBeGreaterThanOrEqual(acked.keyCalls + acked.pairCalls);
    }

    node = await startNode(true);

    // Accounts: the seeded ones log in; those registered under load wait for approval.
    admin = await login(ADMIN.username, ADMIN.password);
    dev.session = await login(DEV.username, DEV.password);
    expect((await api.get('/api/v1/me', { token: dev.session })).body.account).toMatchObject({ id: dev.id, status: 'active' });
    const pending = (await listAll('/api/v1/admin/developers?status=pending', admin)).map((d) => d.id);
    for (const registered of acked.developers) {
      expect(pending).toContain(registered.id);
      const res = await api.post('/api/v1/auth/login', { username: registered.username, password: registered.password });
      expect({ username: registered.username, status: res.status, code: res.body.code }).toEqual({ username: registered.username, status: 403, code: 'account_pending' });
    }

    // Credentials: the API keys and the AK/SK pair still pass the gateway; the usage they were
    // allowed is still counted or reserved (what is left is at most the quota less all of it).
    const key = await check({ 'X-API-Key': apiKey1.apiKey });
    expect(key).toMatchObject({ status: 200, code: 1000 });
    expect(key.remaining).toBeLessThanOrEqual(CONSUMER_QUOTA - acked.keyCalls - acked.pairCalls - 1);
    expect(await check({ 'X-API-Key': apiKey3.apiKey })).toMatchObject({ status: 200, code: 1000 });
    expect(await signedCheck(pair1)).toMatchObject({ status: 200, code: 1000 });
    const shown = (await api.get(`/api/v1/consumers/${consumer1}/credentials`, { token: dev.session })).body.items as Array<Record<string, string>>;
    expect(shown).toEqual(expect.arrayContaining([
      expect.objectContaining({ id: apiKey1.id, apiKey: apiKey1.apiKey }),
      expect.objectContaining({ id: pair1.id, accessKey: pair1.accessKey, secretKey: pair1.secretKey }),
    ]));

    // Subscriptions, seeded and made under load, are approved; the load's keys pass the gateway.
    const approved = (await listAll('/api/v1/subscriptions?status=approved', dev.session)).map((s) => s.id);
    expect(approved).toEqual(expect.arrayContaining(subscriptions));
    for (const consumer of acked.consumers) {
      expect((await api.get(`/api/v1/consumers/${consumer.id}`, { token: dev.session })).status).toBe(200);
      if (consumer.subscription) expect(approved).toContain(consumer.subscription);
      if (consumer.key) {
        const decision = await check({ 'X-API-Key': consumer.key.apiKey });
        // A key whose subscription was cut by the crash is still a valid key (1300, not 1101).
        expect({ consumer: consumer.id, code: decision.code }).toEqual({ consumer: consumer.id, code: consumer.subscription ? 1000 : expect.any(Number) });
        expect(decision.code).not.toBe(1101);
      }
    }

    // Applications: their secrets still get tokens; the signing keys are the same, so a token
    // issued before the crash still passes; the reported usage did not go down.
    for (const app of [app1, ...acked.applications]) await clientCredentials(app.clientId, app.clientSecret);
    expect(((await api.get('/oauth2/jwks')).body.keys as Array<{ kid: string }>).map((k) => k.kid)).toEqual(expect.arrayContaining(preCrashKids));
    const token = await check({ Authorization: `Bearer ${preCrashToken}` });
    expect(token).toMatchObject({ status: 200, code: 1000 });
    expect(token.remaining).toBeLessThanOrEqual(APP_QUOTA - acked.tokenCalls - 1);
    const usage = await api.get(`/api/v1/applications/${app1.id}/usage?days=1`, { token: dev.session });
    expect(usage.body.today).toBeGreaterThanOrEqual(reportedCalls);

    // Refresh tokens issued before the crash work once; a second use is invalid_grant.
    const renewed = await refresh(app1, freshRefresh);
    expect(renewed.status).toBe(200);
    expect(await check({ Authorization: `Bearer ${renewed.body.access_token}` })).toMatchObject({ status: 200, code: 1000 });
    expect(renewed.body.refresh_token).not.toBe(freshRefresh);
    expect(await refresh(app1, freshRefresh)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(app1, rotated.current)).toMatchObject({ status: 200 });
    expect(await refresh(app1, rotated.current)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(app1, rotated.used)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await api.get('/api/v1/me', { token: await login(USER.username, USER.password) })).body.account.id).toBe(userId);
  }, 120_000);
});

/** A raw HTTP/1.1 connection, to hold a request half sent while the server is told to stop. */
class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiting: Array<() => void> = [];
  private ended: Error | undefined;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (data) => { this.buffer = Buffer.concat([this.buffer, data]); this.wake(); });
    socket.on('error', (err) => { this.ended ??= err; this.wake(); });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.ended ??= new Error('the server closed the connection');
      this.wake();
      resolve();
    }));
  }

  static open(to: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(to, '127.0.0.1');
      socket.once('connect', () => { socket.off('error', reject); resolve(new RawConnection(socket)); });
      socket.once('error', reject);
    });
  }

  write(text: string): void { this.socket.write(text); }
  end(): void { this.socket.end(); }

  private wake(): void { for (const resolve of this.waiting.splice(0)) resolve(); }

  private async until<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const value = take();
      if (value !== undefined) return value;
      if (this.ended) throw this.ended;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private bytes(count: number): Promise<Buffer> {
    return this.until(() => {
      if (this.buffer.length < count) return undefined;
      const taken = this.buffer.subarray(0, count);
      this.buffer = this.buffer.subarray(count);
      return taken;
    });
  }

  private line(): Promise<string> {
    return this.until(() => {
      const at = this.buffer.indexOf('\r\n');
      if (at < 0) return undefined;
      const text = this.buffer.subarray(0, at).toString('latin1');
      this.buffer = this.buffer.subarray(at + 2);
      return text;
    });
  }

  /** Reads one whole response (Content-Length or chunked). */
  async response(): Promise<{ status: number; headers: Record<string, string>; body: any }> {
    const status = Number((await this.line()).split(' ')[1]);
    const headers: Record<string, string> = {};
    for (let header = await this.line(); header !== ''; header = await this.line()) {
      const colon = header.indexOf(':');
      headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    }
    let body: Buffer;
    if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = [];
      for (let size = parseInt(await this.line(), 16); size > 0; size = parseInt(await this.line(), 16)) {
        chunks.push(await this.bytes(size));
        await this.line();
      }
      await this.line();
      body = Buffer.concat(chunks);
    } else {
      body = await this.bytes(Number(headers['content-length'] ?? 0));
    }
    const text = body.toString('utf8');
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status, headers, body: parsed };
  }
}

function rawRequest(method: string, path: string, headers: Record<string, string>, body?: unknown, connection = 'keep-alive'): string {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, `Connection: ${connection}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
  return `${lines.join('\r\n')}\r\n\r\n${payload}`;
}

/**
 * Resolves once the node has read whatever was sent to it before: it answered a request sent
 * after (on loopback the earlier bytes were already waiting, and the server reads every socket
 * that is ready before it gets to answer).
 */
async function caughtUp(): Promise<void> {
  const connection = await RawConnection.open(port);
  connection.write(rawRequest('GET', '/healthz', {}, undefined, 'close'));
  expect((await connection.response()).status).toBe(200);
  connection.end();
}

/** Resolves once the node refuses new connections: it has begun to stop (and closed its idle connections). */
async function refusesConnections(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await RawConnection.open(port)).end();
    } catch (err) {
      const { code } = err as NodeJS.ErrnoException;
      if (code === 'ECONNREFUSED') return;
      // Taken just before the listener closed, then closed with the idle connections: try again.
      if (code !== 'ECONNRESET') throw err;
    }
    if (Date.now() > deadline) throw new Error('still accepting connections 10 s after SIGTERM');
    await sleep(20);
  }
}

describe('SIGTERM', () => {
  it('answers every request in flight, exits 0, and leaves the counted usage in the database', async () => {
    expect(node?.child.exitCode).toBeNull();
    // A subject of each kind that only this part calls: its usage must come out exact.
    const app2 = await created(api.post('/api/v1/applications', { name: 'Graceful merchant' }, { token: dev.session }));
    const token2 = await clientCredentials(app2.clientId, app2.clientSecret);
    const consumer2 = (await created(api.post('/api/v1/consumers', { name: 'graceful consumer' }, { token: dev.session }))).id as string;
    const key2 = (await created(api.post(`/api/v1/consumers/${consumer2}/credentials`, { type: 'api-key' }, { token: dev.session }))).apiKey as string;
    await created(api.post('/api/v1/subscriptions', { productId: products.p1, consumerId: consumer2 }, { token: dev.session }));
    const allowed = { key: 0, token: 0 };
    const keyCall = async () => { const d = await check({ 'X-API-Key': key2 }); if (d.status === 200) allowed.key += 1; return d.status; };
    const tokenCall = async () => { const d = await check({ Authorization: `Bearer ${token2}` }); if (d.status === 200) allowed.token += 1; return d.status; };

    // Counted calls before the signal.
    const warmUp = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const statuses: number[] = [];
      for (let n = 0; n < 15; n += 1) statuses.push(await (i % 2 ? keyCall() : tokenCall()));
      return statuses;
    }));
    expect(warmUp.flat().every((s) => s === 200)).toBe(true);

    const sessions: string[] = [];
    const inFlightConsumers: string[] = [];
    // Requests the server has begun to read: each connection first gets an answer (it was
    // accepted), then a request goes out but for its last bytes (headers or body unfinished).
    const gatewayHeaders = { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': `${P1}/v1/run` };
    const kinds: Array<{ kind: string; request: string; expect: (res: { status: number; body: any }) => void }> = [
      ...Array.from({ length: 20 }, () => ({
        kind: 'api-key check', request: rawRequest('GET', '/gateway/check', { ...gatewayHeaders, 'X-API-Key': key2 }),
        expect: (res: { status: number; body: any }) => { expect(res).toMatchObject({ status: 200, body: { code: 1000 } }); allowed.key += 1; },
      })),
      ...Array.from({ length: 16 }, () => ({
        kind: 'token check', request: rawRequest('GET', '/gateway/check', { ...gatewayHeaders, Authorization: `Bearer ${token2}` }),
        expect: (res: { status: number; body: any }) => { expect(res).toMatchObject({ status: 200, body: { code: 1000 } }); allowed.token += 1; },
      })),
      ...Array.from({ length: 10 }, () => ({
        kind: 'openapi me', request: rawRequest('GET', '/openapi/v1/me', { Authorization: `Bearer ${token2}` }),
        expect: (res: { status: number; body: any }) => { expect(res).toMatchObject({ status: 200, body: { code: 1000 } }); allowed.token += 1; },
      })),
      ...Array.from({ length: 8 }, () => ({
        kind: 'login', request: rawRequest('POST', '/api/v1/auth/login', {}, DEV),
        expect: (res: { status: number; body: any }) => { expect(res).toMatchObject({ status: 200, body: { token: expect.any(String) } }); sessions.push(res.body.token); },
      })),
      ...Array.from({ length: 8 }, (_, i) => ({
        kind: 'consumer creation', request: rawRequest('POST', '/api/v1/consumers', { Authorization: `Bearer ${dev.session}` }, { name: `in flight ${i}` }),
        expect: (res: { status: number; body: any }) => { expect(res).toMatchObject({ status: 201, body: { id: expect.any(String) } }); inFlightConsumers.push(res.body.id); },
      })),
    ];
    const connections = await Promise.all(kinds.map(async () => {
      const connection = await RawConnection.open(port);
      connection.write(rawRequest('GET', '/healthz', {}));
      expect((await connection.response()).status).toBe(200);
      return connection;
    }));
    kinds.forEach((k, i) => connections[i]!.write(k.request.slice(0, -6)));
    await caughtUp();

    // And a burst of ordinary clients around the signal: each is answered 200, or its connection
    // was never taken (refused, or reset unread); none counted without an answer (checked below).
    const burst = Array.from({ length: 100 }, (_, i) => (i % 2 ? keyCall() : tokenCall()).then(
      (status) => ({ status }),
      (err: Error) => ({ error: String((err.cause as { code?: string } | undefined)?.code ?? err.message) }),
    ));
    await sleep(5);
    const terminated = Date.now();
    node!.child.kill('SIGTERM');
    // It stops accepting connections while requests are still open.
    await refusesConnections();
    await sleep(100);
    expect(node!.child.exitCode).toBeNull();

    kinds.forEach((k, i) => connections[i]!.write(k.request.slice(-6)));
    const answers = await Promise.all(connections.map((c, i) => c.response().then(
      (res) => ({ kind: kinds[i]!.kind, res }),
      (err: Error) => ({ kind: kinds[i]!.kind, error: (err as NodeJS.ErrnoException).code ?? err.message }),
    )));
    expect(answers.filter((a) => 'error' in a)).toEqual([]);
    for (const [i, answer] of answers.entries()) if ('res' in answer) kinds[i]!.expect(answer.res);
    for (const connection of connections) connection.end();

    expect(await node!.exited).toBe(0);
    const stopMs = Date.now() - terminated;
    const burstResults = await Promise.all(burst);
    for (const result of burstResults) {
      if ('status' in result) expect(result.status).toBe(200);
      else expect(result.error).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|other side closed|fetch failed/);
    }
    expect(stopMs).toBeLessThan(10_000); // before the grace period would cut connections
    expect(node!.stderr()).not.toMatch(/reporting usage at stop failed/);

    // Every allowed call is counted, and nothing is left reserved by the stopped node.
    expect(await counters('application', app2.id)).toEqual({ calls: allowed.token, reserved: 0 });
    expect(await counters('consumer', consumer2)).toEqual({ calls: allowed.key, reserved: 0 });

    node = await startNode();
    const usage = await api.get(`/api/v1/applications/${app2.id}/usage?days=1`, { token: dev.session });
    expect(usage.body).toMatchObject({ dailyQuota: APP_QUOTA, today: allowed.token });
    const next = await check({ 'X-API-Key': key2 });
    expect(next).toMatchObject({ status: 200, remaining: CONSUMER_QUOTA - allowed.key - 1 });
    for (const id of inFlightConsumers) expect((await api.get(`/api/v1/consumers/${id}`, { token: dev.session })).status).toBe(200);
    for (const session of sessions) expect((await api.get('/api/v1/me', { token: session })).status).toBe(200);
  }, 60_000);

  it('tells clients that keep a keep-alive connection busy to close it, rather than cutting them when the grace period ends', async () => {
    expect(node?.child.exitCode).toBeNull();
    const consumer = (await created(api.post('/api/v1/consumers', { name: 'keep-alive consumer' }, { token: dev.session }))).id as string;
    const key = (await created(api.post(`/api/v1/consumers/${consumer}/credentials`, { type: 'api-key' }, { token: dev.session }))).apiKey as string;
    await created(api.post('/api/v1/subscriptions', { productId: products.p1, consumerId: consumer }, { token: dev.session }));

    // As a gateway's pool of upstream connections does (deploy/nginx keeps 16 alive): each
    // client has a request in flight at the signal, and sends the next one as soon as it has an
    // answer that lets it keep the connection, until an answer says `Connection: close`.
    const request = rawRequest('GET', '/gateway/check', { 'X-Forwarded-Method': 'POST', 'X-Forwarded-Uri': `${P1}/v1/run`, 'X-API-Key': key });
    const clients = await Promise.all(Array.from({ length: 4 }, async () => {
      const connection = await RawConnection.open(port);
      connection.write(rawRequest('GET', '/healthz', {}));
      expect((await connection.response()).status).toBe(200);
      connection.write(request.slice(0, -6));
      return connection;
    }));
    await caughtUp();
    const terminated = Date.now();
    node!.child.kill('SIGTERM');
    await refusesConnections();
    await sleep(100);
    expect(node!.child.exitCode).toBeNull();

    let allowed = 0;
    const outcomes = await Promise.all(clients.map(async (connection) => {
      connection.write(request.slice(-6));
      for (let answers = 0; ;) {
        let res: { status: number; headers: Record<string, string>; body: any };
        try {
          res = await connection.response();
        } catch (err) {
          return { answers, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message, afterMs: Date.now() - terminated };
        }
        if (res.status !== 200) return { answers, status: res.status };
        allowed += 1;
        answers += 1;
        if (res.headers.connection?.toLowerCase() === 'close') {
          await connection.closed;
          return { answers, closedAfterAnswer: true };
        }
        if (Date.now() - terminated > 15_000) return { answers, error: 'still kept alive 15 s after SIGTERM' };
        connection.write(request);
      }
    }));
    expect(outcomes).toEqual(Array(clients.length).fill({ answers: expect.any(Number), closedAfterAnswer: true }));
    expect(await node!.exited).toBe(0);
    expect(Date.now() - terminated).toBeLessThan(10_000);
    expect(await counters('consumer', consumer)).toEqual({ calls: allowed, reserved: 0 });
  }, 60_000);
});
