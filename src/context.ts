import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Config } from './config/index.js';
import type { DerivedKeys } from './crypto/keys.js';
import type { NotifyBus } from './db/bus.js';
import type { Database } from './db/types.js';
import type { Logger } from './ops/logger.js';

/** The one clock. Injected so tests can move time instead of sleeping. */
export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() };

/** What every domain's service factory receives. */
export interface AppContext {
  config: Config;
  /** The issuer actually in force (ISSUER, or derived from the bound port). */
  issuer: string;
  db: Kysely<Database>;
  bus: NotifyBus;
  log: Logger;
  clock: Clock;
  keys: DerivedKeys;
  /** Connections shared by every node, for rate limits: PostgreSQL's pool (DATABASE_URL) and Redis (REDIS_URL). */
  stores?: { pgPool?: pg.Pool; redis?: Redis };
}

/** Who did something, for the audit log. */
export interface Actor { accountId: string | null; ip: string | null; requestId: string | null }
