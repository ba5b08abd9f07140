import fs from 'node:fs';
import { ConfigError, loadConfig, resolveIssuer } from '../config/index.js';
import { systemClock, type AppContext } from '../context.js';
import { Conflict, NotFound, PorticoError } from '../http/errors.js';
import { DEMO_PRODUCTS } from '../catalog/demo.js';
import { createLogger } from '../ops/logger.js';
import { createServices } from '../services.js';
import { createAppContext, openRuntime } from '../runtime.js';
import { password as passwordRule, username as usernameRule } from '../accounts/schemas.js';
import { createAuditService } from '../audit/service.js';
import { DEFAULT_ROTATION_GRACE_SECONDS, listSigningKeys, loadSigningKeys, rotateSigningKey, SIGNING_KEYS_TOPIC } from '../oidc/keys.js';

const HELP = `Usage: portico <command>

Commands:
  migrate                                  apply pending database migrations
  admin create <username> --password-stdin create an administrator (password read from standard input,
                                           or from PORTICO_ADMIN_PASSWORD without --password-stdin)
  keys list                                list the token signing keys and their states
  keys rotate [--grace-seconds N]          add a signing key: published at once, signing after N seconds
                                           (default ${DEFAULT_ROTATION_GRACE_SECONDS}; servers pick it up at their next start)
  seed demo                                add sample products of each type (skips slugs that exist)
  developers approve <username>            approve a pending (or rejected) developer
  developers ban <username> [--reason TEXT]
                                           ban a developer: their sessions end, their credentials,
                                           applications and tokens stop working on every server
  unlock <username>                        end a login lock (too many wrong passwords) at once
  help                                     show this help

Settings come from the environment (and a .env file), as for the server.
Exit status: 0 done; 1 refused (no such account, already in that state, a name taken) or failed;
2 bad usage or configuration.`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function withRuntime<T>(work: (ctx: AppContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // The CLI's own log goes to stderr, so stdout carries only results.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const runtime = await openRuntime(config, log);
  try {
    return await work(createAppContext(runtime, { config, log, issuer: resolveIssuer(config, config.port), clock: systemClock }));
  } finally {
    await runtime.close();
  }
}

async function adminCreate(args: string[]): Promise<void> {
  const [name, ...flags] = args;
  if (!name || flags.some((f) => f !== '--password-stdin')) throw new UsageError('usage: portico admin create <username> [--password-stdin]');
  const username = usernameRule.safeParse(name);
  if (!username.success) throw new UsageError(`username: ${username.error.issues[0]?.message}`);
  const secret = flags.includes('--password-stdin') ? await readStdin() : process.env.PORTICO_ADMIN_PASSWORD ?? '';
  const password = passwordRule.safeParse(secret);
  if (!password.success) throw new UsageError(`password: ${password.error.issues[0]?.message ?? 'invalid'} (10 to 256 characters)`);
  const account = await withRuntime(async (ctx) => {
    const services = await createServices(ctx);
    return services.accounts.createAdmin({ accountId: null, ip: null, requestId: 'cli' }, { username: username.data, password: password.data });
  });
  process.stdout.write(`created admin ${account.username} (${account.id})\n`);
}

async function keysCommand(args: string[]): Promise<void> {
  const [action, ...flags] = args;
  if (action === 'list' && flags.length === 0) {
    const rows = await withRuntime(async (ctx) => {
      await loadSigningKeys(ctx.db, ctx.keys.seal, ctx.clock); // brings states up to date, makes the first key
      return listSigningKeys(ctx.db);
    });
    for (const row of rows) {
      process.stdout.write(`${row.kid}  ${row.alg}  ${row.state.padEnd(7)}  created ${row.created_at.toISOString()}  signs from ${row.activates_at.toISOString()}\n`);
    }
    return;
  }
  if (action === 'rotate') {
    let grace = DEFAULT_ROTATION_GRACE_SECONDS;
    if (flags.length > 0) {
      if (flags.length !== 2 || flags[0] !== '--grace-seconds' || !/^\d{1,7}$/.test(flags[1]!)) {
        throw new UsageError('usage: portico keys rotate [--grace-seconds N]');
      }
      grace = Number(flags[1]);
    }
    const { kid, activatesAt } = await withRuntime(async (ctx) => {
      await loadSigningKeys(ctx.db, ctx.keys.seal, ctx.clock);
      const rotated = await rotateSigningKey(ctx.db, ctx.keys.seal, ctx.clock, grace);
      await createAuditService(ctx.db).record(ctx.db, { accountId: null, ip: null, requestId: 'cli' }, {
        action: 'signing_key.rotated', targetType: 'signing_key', targetId: rotated.kid, details: { activatesAt: rotated.activatesAt.toISOString() },
      });
      // Running servers publish the key now and switch to it at its activation, without a restart.
      await ctx.bus.publish(ctx.db, SIGNING_KEYS_TOPIC, { kid: rotated.kid });
      return rotated;
    });
    process.stdout.write(`added signing key ${kid}: published now, signing from ${activatesAt.toISOString()}\n`);
    return;
  }
  throw new UsageError('usage: portico keys list | portico keys rotate [--grace-seconds N]');
}

async function seedDemo(args: string[]): Promise<void> {
  if (args.length !== 1 || args[0] !== 'demo') throw new UsageError('usage: portico seed demo');
  const added = await withRuntime(async (ctx) => {
    const services = await createServices(ctx);
    const names: string[] = [];
    for (const product of DEMO_PRODUCTS) {
      try {
        names.push((await services.catalog.create({ accountId: null, ip: null, requestId: 'cli' }, product)).slug);
      } catch (err) {
        if (!(err instanceof Conflict)) throw err; // already seeded
      }
    }
    return names;
  });
  process.stdout.write(added.length ? `added ${added.length} products: ${added.join(', ')}\n` : 'the demo products are already there\n');
}

const DEVELOPERS_USAGE = 'usage: portico developers approve <username> | portico developers ban <username> [--reason TEXT]';

async function developersCommand(args: string[]): Promise<void> {
  const [action, name, ...flags] = args;
  if ((action !== 'approve' && action !== 'ban') || !name) throw new UsageError(DEVELOPERS_USAGE);
  let reason: string | undefined;
  if (flags.length > 0) {
    if (action !== 'ban' || flags.length !== 2 || flags[0] !== '--reason' || !flags[1]!.trim() || flags[1]!.length > 500) throw new UsageError(DEVELOPERS_USAGE);
    reason = flags[1];
  }
  const account = await withRuntime(async (ctx) => {
    const services = await createServices(ctx);
    const found = await services.accounts.findByUsername(name);
    if (!found || found.role !== 'developer') throw new NotFound(`developer "${name}"`);
    return services.accounts.moderate({ accountId: null, ip: null, requestId: 'cli' }, found.id, action, reason);
  });
  process.stdout.write(`${account.username} is now ${account.status}\n`);
}

async function unlock(args: string[]): Promise<void> {
  const [name, ...extra] = args;
  if (!name || extra.length > 0) throw new UsageError('usage: portico unlock <username>');
  const result = await withRuntime(async (ctx) => {
    const services = await createServices(ctx);
    return services.rateLimits.unlock({ accountId: null, ip: null, requestId: 'cli' }, name);
  });
  process.stdout.write(result.wasLocked ? `${result.username} is unlocked\n` : `${result.username} was not locked\n`);
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'migrate': {
        await withRuntime(async () => {});
        process.stdout.write('database is up to date\n');
        return 0;
      }
      case 'keys':
        await keysCommand(rest);
        return 0;
      case 'seed':
        await seedDemo(rest);
        return 0;
      case 'developers':
        await developersCommand(rest);
        return 0;
      case 'unlock':
        await unlock(rest);
        return 0;
      case 'admin':
        if (rest[0] !== 'create') throw new UsageError('usage: portico admin create <username> [--password-stdin]');
        await adminCreate(rest.slice(1));
        return 0;
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${HELP}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`portico: ${err.message}\n`);
      return 2;
    }
    // Refused by the rules (not found, already in that state, a name taken): the command was right, the state was not.
    if (err instanceof PorticoError) {
      process.stderr.write(`portico: ${err.message}\n`);
      return err.status === 404 || err.status === 409 ? 1 : 2;
    }
    process.stderr.write(`portico: ${(err as Error).message}\n`);
    return 1;
  }
}

if (fs.existsSync('.env')) process.loadEnvFile('.env');
process.exitCode = await runCli(process.argv.slice(2));
