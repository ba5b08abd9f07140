import fs from 'node:fs/promises';
import path from 'node:path';
import { randomToken } from '../crypto/tokens.js';
import type { Config } from './index.js';

export const GENERATED_SECRET_FILE = 'portico-secret';

/**
 * PORTICO_SECRET, or outside production a secret generated once into DATA_DIR (mode 0600),
 * so a developer's first `npm start` needs no setup and restarts keep sessions valid.
 */
export async function resolveSecret(config: Config): Promise<{ secret: string; generated: boolean }> {
  if (config.secret) return { secret: config.secret, generated: false };
  const file = path.join(config.dataDir, GENERATED_SECRET_FILE);
  await fs.mkdir(config.dataDir, { recursive: true });
  try {
    return { secret: (await fs.readFile(file, 'utf8')).trim(), generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = randomToken('', 48);
  try {
    await fs.writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process wrote it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: (await fs.readFile(file, 'utf8')).trim(), generated: false };
    throw err;
  }
  return { secret, generated: true };
}
