import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './types.js';

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** The pg pool behind `db` (PostgreSQL only), for libraries that take one (rate limits). */
  pool?: pg.Pool;
  /** Receives NOTIFY payloads of a channel; resolves once listening. Used by the bus only. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<void>;
  /** Called after a lost LISTEN connection is back: notifications may have been missed. */
  onListenReconnect(handler: () => void): void;
  close(): Promise<void>;
}

export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, 'pgdata');
}

/** PostgreSQL when a URL is given, otherwise the embedded PGlite under DATA_DIR. Same SQL on both. */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(embeddedDatabaseDir(options.dataDir));
}

// int8 (count(*), sums) as a JS number, as PGlite returns it, so queries read alike on both.
const pgTypes = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === pg.types.builtins.INT8) return Number;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

async function openPostgres(connectionString: string): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString, max: 10, types: pgTypes as pg.CustomTypesConfig });
  // An idle client's error (server restart) must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const listener = new PostgresListener(connectionString);
  return {
    db,
    kind: 'postgres',
    pool,
    listen: (channel, onPayload) => listener.listen(channel, onPayload),
    onListenReconnect: (handler) => listener.reconnectHandlers.push(handler),
    async close() {
      await listener.close();
      await db.destroy();
    },
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  await fs.mkdir(dir, { recursive: true });
  const pglite = await PGlite.create(dir);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    kind: 'pglite',
    // PGlite delivers NOTIFY in process, after commit, exactly like a LISTEN connection.
    listen: async (channel, onPayload) => { await pglite.listen(channel, onPayload); },
    onListenReconnect: () => {},
    close: () => db.destroy(),
  };
}

/** One dedicated connection for LISTEN, re-established with backoff when it drops. */
class PostgresListener {
  readonly reconnectHandlers: Array<() => void> = [];
  private readonly channels = new Map<string, Array<(payload: string) => void>>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private closed = false;
  private retryDelayMs = 250;
  private commands: Promise<unknown> = Promise.resolve();

  constructor(private readonly connectionString: string) {}

  async listen(channel: string, onPayload: (payload: string) => void): Promise<void> {
    const handlers = this.channels.get(channel) ?? [];
    handlers.push(onPayload);
    if (handlers.length > 1) return;
    this.channels.set(channel, handlers);
    const client = await this.connect();
    // One command at a time on this connection (pg deprecates overlapping queries on a client).
    const listening = this.commands.then(() => client.query(`LISTEN ${pg.escapeIdentifier(channel)}`));
    this.commands = listening.catch(() => {});
    await listening;
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.connectionString });
      client.on('notification', (msg) => {
        for (const handler of this.channels.get(msg.channel) ?? []) handler(msg.payload ?? '');
      });
      client.on('error', () => this.dropAndReconnect(client));
      client.on('end', () => this.dropAndReconnect(client));
      await client.connect();
      this.client = client;
      this.connecting = undefined;
      this.retryDelayMs = 250;
      return client;
    })().catch((err) => { this.connecting = undefined; throw err; });
    return this.connecting;
  }

  private dropAndReconnect(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    const retry = async (): Promise<void> => {
      if (this.closed) return;
      try {
        const fresh = await this.connect();
        for (const channel of this.channels.keys()) await fresh.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        for (const handler of this.reconnectHandlers) handler();
      } catch {
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, 10_000);
        setTimeout(() => void retry(), this.retryDelayMs).unref();
      }
    };
    setTimeout(() => void retry(), this.retryDelayMs).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
