import { Writable } from 'node:stream';
import type { Clock } from '../../src/context.js';
import { startPortico, type RunningPortico } from '../../src/server.js';
import { ADMIN, TEST_SECRET } from './constants.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { apiClient, type ApiClient } from './http.js';

export interface TestServer {
  portico: RunningPortico;
  api: ApiClient;
  /** Every log line the server wrote, parsed. */
  logs: string[];
  database: TestDatabase;
  /** Logs in and returns the session token. */
  login(username: string, password: string): Promise<string>;
  adminToken(): Promise<string>;
  /** Registers an active developer and returns its id and session token. */
  developer(username: string, password?: string): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
}

/** A movable clock for tests that need time to pass. */
export function manualClock(start = new Date()): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => { now += ms; } };
}

/** Starts the real server in process on an ephemeral port with a database of its own. */
export async function startTestServer(options: { env?: Record<string, string>; clock?: Clock } = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const logs: string[] = [];
  const logDestination = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const portico = await startPortico({
    env: {
      PORT: '0', LOG_LEVEL: 'info', PORTICO_SECRET: TEST_SECRET,
      PORTICO_ADMIN_USERNAME: ADMIN.username, PORTICO_ADMIN_PASSWORD: ADMIN.password,
      ...database.env, ...options.env,
    },
    clock: options.clock,
    logDestination: logDestination as unknown as NodeJS.WritableStream & { write(msg: string): void },
  });
  const api = apiClient(portico.url);

  async function login(username: string, password: string): Promise<string> {
    const res = await api.post('/api/v1/auth/login', { username, password });
    if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${res.text}`);
    return res.body.token as string;
  }
  let adminSession: string | undefined;
  return {
    portico, api, logs, database, login,
    async adminToken() {
      adminSession ??= await login(ADMIN.username, ADMIN.password);
      return adminSession;
    },
    async developer(username, password = `${username}-password-1`) {
      const res = await api.post('/api/v1/developers', { username, password });
      if (res.status !== 201) throw new Error(`registration of ${username} failed: ${res.status} ${res.text}`);
      return { id: res.body.id as string, token: await login(username, password) };
    },
    async stop() {
      await portico.close();
      await database.drop();
    },
  };
}
