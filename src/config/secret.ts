import fs from 'node:fs/promises';
import path from 'node:path';
import { randomToken } from '../crypto/tokens.js';
import { ConfigError, type Config } from './index.js';

export const GENERATED_SECRET_FILE = 'portico-secret';
const MIN_LENGTH = 32;

async function readSecretFile(file: string): Promise<string> {
  const secret = (await fs.readFile(file, 'utf8')).trim();
  if (secret.length < MIN_LENGTH) {
    throw new ConfigError(`PORTICO_SECRET: ${file} holds fewer than ${MIN_LENGTH} characters; restore it, or set PORTICO_SECRET`);
  }
  return secret;
}

/**
 * PORTICO_SECRET, or outside production a secret generated once into DATA_DIR (mode 0600),
 * so a developer's first `npm start` needs no setup and restarts keep sessions valid.
 */
export async function resolveSecret(config: Config): Promise<{ secret: string; generated: boolean }> {
  if (config.secret) return { secret: config.secret, generated: false };
  const file = path.join(config.dataDir, GENERATED_SECRET_FILE);
  await fs.mkdir(config.dataDir, { recursive: true });
  try {
    return { secret: await readSecretFile(file), generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Written whole to a temporary file, then linked into place: a reader never sees a partial
  // file, and of two processes racing, the second one uses the first one's secret.
  const secret = randomToken('', 48);
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, `${secret}\n`, { mode: 0o600 });
  try {
    await fs.link(temporary, file);
    return { secret, generated: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { secret: await readSecretFile(file), generated: false };
    throw err;
  } finally {
    await fs.rm(temporary, { force: true });
  }
}
