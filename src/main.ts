import fs from 'node:fs';
import { ConfigError } from './config/index.js';
import { startPortico } from './server.js';

// A .env file in the working directory is read when present; real environment variables win.
if (fs.existsSync('.env')) process.loadEnvFile('.env');

try {
  const portico = await startPortico();
  const stop = (signal: string) => {
    portico.context.log.info({ signal }, 'shutting down');
    portico.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
} catch (err) {
  const message = err instanceof ConfigError ? err.message : `failed to start: ${(err as Error).message}`;
  process.stderr.write(`portico: ${message}\n`);
  process.exit(1);
}
