import { Redis } from 'ioredis';
import type { Config } from './config/index.js';
import type { AppContext, Clock } from './context.js';
import { createNotifyBus } from './db/bus.js';
import { resolveSecret } from './config/secret.js';
import { deriveKeys } from './crypto/keys.js';
import { openDatabase, type DatabaseHandle } from './db/connect.js';
import { assertSameSecret, recordSecret } from './db/instance.js';
import { lockDataDir } from './db/lock.js';
import { migrateToLatest } from './db/migrate.js';
import type { Logger } from './ops/logger.js';

/** Opens what the server and the CLI both need: the lock, the secret, the migrated database. */
export async function openRuntime(config: Config, log: Logger) {
  const releaseLock = config.databaseUrl
    ? async () => {}
    : await lockDataDir(config.dataDir, (err) => {
      log.fatal({ err: { message: err.message } }, 'lost the DATA_DIR lock; stopping to protect the embedded database');
      process.exit(1);
    });
  let handle: DatabaseHandle | undefined;
  try {
    const { secret, generated } = await resolveSecret(config);
    if (generated) log.warn({ dataDir: config.dataDir }, 'PORTICO_SECRET not set: generated one into DATA_DIR (set PORTICO_SECRET in production)');
    const keys = deriveKeys(secret);
    handle = await openDatabase(config);
    await assertSameSecret(handle.db, keys.check);
    await migrateToLatest(handle.db);
    await recordSecret(handle.db, keys.check);
    const opened = handle;
    // Connected by the rate limits (createServices; a CLI command without services opens nothing).
    // Commands fail at once while it is down, so the limits fall back to this node's memory.
    const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) : undefined;
    return {
      handle, keys, redis,
      async close() {
        redis?.disconnect();
        await opened.close();
        await releaseLock();
      },
    };
  } catch (err) {
    await handle?.close().catch(() => {});
    await releaseLock().catch(() => {});
    throw err;
  }
}

export type Runtime = Awaited<ReturnType<typeof openRuntime>>;

/** The context every service factory receives, over an opened runtime. */
export function createAppContext(runtime: Runtime, values: { config: Config; log: Logger; issuer: string; clock: Clock }): AppContext {
  return {
    ...values, keys: runtime.keys, db: runtime.handle.db,
    stores: { pgPool: runtime.handle.pool, redis: runtime.redis },
    bus: createNotifyBus(runtime.handle, (err) => values.log.error({ err }, 'notification handler failed')),
  };
}
