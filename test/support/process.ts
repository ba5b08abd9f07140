import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_JS, MAIN_JS } from './constants.js';

export interface PorticoProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the base URL from the ready line; rejects if the process exits first. */
  ready: Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The built server (dist/src/main.js) as its own process, with exactly the given environment. */
export function spawnPortico(env: Record<string, string | undefined>): PorticoProcess {
  const child = spawn(process.execPath, [MAIN_JS], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => { out += String(d); });
  child.stderr!.on('data', (d) => { err += String(d); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 30 s:\n${out}\n${err}`)), 30_000);
    child.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('Portico ready on'));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line).url as string); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited with ${code} before ready:\n${err}`)); });
  });
  ready.catch(() => {});
  return {
    child, ready, exited, stdout: () => out, stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the built CLI to completion. */
export function runCli(args: string[], env: Record<string, string | undefined>, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_JS, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** PATH and HOME from this process; everything else only as given (undefined drops a variable). */
function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
}
