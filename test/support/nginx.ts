import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './constants.js';

/** Debian's package (CI installs it with apt-get when missing). */
export const NGINX_PATH = '/usr/sbin/nginx';
export const NGINX_TEMPLATE_DIR = path.join(REPO_ROOT, 'deploy/nginx');

export interface RunningNginx {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** nginx's error log so far (to add to a failure). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** Fails the way the chromium helper does: a missing package is a failure, not a skip. */
export function requireNginx(): void {
  if (!fs.existsSync(NGINX_PATH)) throw new Error(`${NGINX_PATH} is missing: apt-get install --no-install-recommends nginx`);
}

/** A port nobody listens on right now (nginx cannot listen on port 0 and tell which it got). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Replaces `from` in `text`, which must occur exactly once: the template's marked lines moved otherwise. */
function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`deploy/nginx/portico-gateway.conf: expected "${from}" once, found it ${parts.length - 1} times`);
  return parts.join(to);
}

/**
 * deploy/nginx as shipped, with only its EDIT lines changed (Portico's and the API's addresses,
 * the listen address, the gateway secret), under a main nginx.conf that keeps everything (pid,
 * logs, temp files) in a temporary directory: Debian's nginx runs as the current user, in the
 * foreground, as one process.
 */
export async function startNginx(options: { porticoUrl: string; upstreamUrl: string; gatewaySecret: string }): Promise<RunningNginx> {
  requireNginx();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-nginx-'));
  const port = await freePort();
  let site = fs.readFileSync(path.join(NGINX_TEMPLATE_DIR, 'portico-gateway.conf'), 'utf8');
  site = replaceOnce(site, 'server 127.0.0.1:3000;', `server ${new URL(options.porticoUrl).host};`);
  site = replaceOnce(site, 'server 127.0.0.1:8080;', `server ${new URL(options.upstreamUrl).host};`);
  site = replaceOnce(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  site = replaceOnce(site, 'set $portico_gateway_secret "";', `set $portico_gateway_secret "${options.gatewaySecret}";`);
  fs.writeFileSync(path.join(dir, 'portico-gateway.conf'), site);
  fs.cpSync(path.join(NGINX_TEMPLATE_DIR, 'snippets'), path.join(dir, 'snippets'), { recursive: true });
  const errorLog = path.join(dir, 'error.log');
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} info;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include portico-gateway.conf;
}
`);
  // -e: the log before the configuration is read (Debian's default is stderr anyway).
  const child = spawn(NGINX_PATH, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += String(d); });
  child.stderr!.on('data', (d) => { output += String(d); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const readLog = () => { try { return fs.readFileSync(errorLog, 'utf8'); } catch { return ''; } };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };

  // Ready once the port accepts a connection; an exit first (a bad configuration) fails with its log.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = `${output}${readLog()}`;
      await stop();
      throw new Error(`nginx exited with ${child.exitCode ?? child.signalCode} at start:\n${log}`);
    }
    const listening = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (listening) break;
    if (Date.now() > deadline) {
      const log = `${output}${readLog()}`;
      await stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { url: `http://127.0.0.1:${port}`, errorLog: () => `${output}${readLog()}`, stop };
}

export interface EchoRequest { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

export interface EchoUpstream {
  url: string;
  /** Every request received, in order. */
  requests: EchoRequest[];
  close(): Promise<void>;
}

/** The protected API: answers every request with the request it received, as JSON. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: EchoRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += String(chunk); });
    req.on('end', () => {
      const received = { method: req.method!, url: req.url!, headers: req.headers, body };
      requests.push(received);
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': 'from-the-api' }).end(JSON.stringify(received));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    // nginx keeps idle upstream connections open (keepalive), which would hold close() up.
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
