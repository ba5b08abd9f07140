// Portico as a separate process for the benchmark (`node dist/src/main.js`), and the throw-away
// PostgreSQL database of a run against DATABASE_URL.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const READY = 'Portico ready on ';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

/** Every server process started and not yet known to have exited: killed on any way out. */
const running = new Set();
export function killAll() {
  for (const child of running) child.kill('SIGKILL');
}

function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A port nothing listens on right now (for a LOG_LEVEL that hides the ready line). */
async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The URL of the ready line, or (when the log level hides it) the server's once /readyz answers 200. */
async function readyUrl(logFile, fixedUrl, ready) {
  if (!fixedUrl) {
    // Whole lines only: the last one may still be being written.
    const line = fs.readFileSync(logFile, 'utf8').split('\n').slice(0, -1).find((l) => l.includes(ready));
    return line && JSON.parse(line).url;
  }
  const res = await fetch(`${fixedUrl}/readyz`).catch(() => undefined);
  await res?.arrayBuffer();
  return res?.status === 200 ? fixedUrl : undefined;
}

/**
 * Starts `node dist/src/main.js` with `env` (and nothing else of this process's environment but
 * PATH and HOME), its working directory `dataDir` (so no .env of the repository is read), stdout
 * and stderr into `logFile`. With PORT=0 it resolves once the ready line is logged, with the URL
 * it names; at a LOG_LEVEL above info (no ready line) the port is chosen here and /readyz polled.
 * `script` and `ready` start another server the same way (the bare oidc-provider of the ratio).
 */
export async function startServer({ env, dataDir, logFile, nodeArgs = [], script = MAIN, ready = READY }) {
  let fixedUrl;
  if (['warn', 'error', 'fatal', 'silent'].includes(env.LOG_LEVEL)) {
    const port = await freePort();
    env = { ...env, PORT: String(port) };
    fixedUrl = `http://${env.HOST ?? '127.0.0.1'}:${port}`;
  }
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: dataDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { running.delete(child); resolve({ code, signal }); }));
  let exitedEarly;
  exited.then((how) => { exitedEarly = how; });

  const deadline = Date.now() + START_TIMEOUT_MS;
  let url;
  while (!url) {
    if (exitedEarly) throw new Error(`Portico exited before it was ready (${JSON.stringify(exitedEarly)}):\n${tail(logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Portico was not ready within ${START_TIMEOUT_MS / 1000} s:\n${tail(logFile)}`);
    }
    url = await readyUrl(logFile, fixedUrl, ready);
    if (!url) await sleep(50);
  }

  return {
    url,
    pid: child.pid,
    /** SIGTERM (a graceful stop: counted calls are reported, the DATA_DIR lock released), SIGKILL after 20 s. */
    async stop() {
      if (exitedEarly) return exitedEarly;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const how = await exited;
      clearTimeout(timer);
      if (how.code !== 0) throw new Error(`Portico stopped with ${JSON.stringify(how)}:\n${tail(logFile)}`);
      return how;
    },
  };
}

async function onServer(databaseUrl, sql) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try { await client.query(sql); } finally { await client.end(); }
}

/** A new, empty database beside the one DATABASE_URL names; `drop()` removes it. */
export async function createPostgresDatabase(databaseUrl) {
  const name = `portico_bench_${randomBytes(6).toString('hex')}`;
  await onServer(databaseUrl, `CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => onServer(databaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export const logPath = (dir, name) => path.join(dir, `${name}.log`);
