import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ConfigError } from '../config/index.js';

/**
 * Two processes on one PGlite directory lose writes silently, so the embedded database is
 * locked for the process's lifetime. The lock is refreshed every 5 s; a lock left by a crashed
 * process is taken over once it is 10 s old.
 */
export async function lockDataDir(dataDir: string, onCompromised: (err: Error) => void): Promise<() => Promise<void>> {
  await fs.mkdir(dataDir, { recursive: true });
  try {
    return await lockfile.lock(dataDir, {
      lockfilePath: path.join(dataDir, 'portico.lock'),
      stale: 10_000,
      update: 5_000,
      retries: 0,
      realpath: false,
      onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new ConfigError(
        `DATA_DIR ${dataDir} is in use by another Portico process (the embedded database allows one process). ` +
        'Stop it first, or set DATABASE_URL to share a PostgreSQL server between processes.',
      );
    }
    throw err;
  }
}
