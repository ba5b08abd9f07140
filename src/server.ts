import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { buildApp, type RouteTable } from './app.js';
import { ConfigError, loadConfig, resolveIssuer, type Config } from './config/index.js';
import { systemClock, type AppContext, type Clock } from './context.js';
import { Conflict } from './http/errors.js';
import { createLogger } from './ops/logger.js';
import { createMetrics } from './ops/metrics/metrics.js';
import { createAppContext, openRuntime } from './runtime.js';
import { sweepExpiredOidcPayloads } from './oidc/adapter.js';
import { clientValidator, createProvider } from './oidc/provider.js';
import { loadSigningKeys } from './oidc/keys.js';
import { createLiveProvider } from './oidc/live-provider.js';
import { createRevokedGrants, type RevokedGrants } from './oidc/revoked-grants.js';
import { createAccessTokenVerifier } from './oidc/access-tokens.js';
import type { JWK } from 'jose';
import { createApplicationService } from './applications/service.js';
import { createServices, type Services } from './services.js';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logDestination?: DestinationStream;
}

export interface RunningPortico {
  url: string;
  issuer: string;
  config: Config;
  context: AppContext;
  services: Services;
  routes: RouteTable;
  /** Stops accepting, lets in-flight requests finish (10 s at most), closes the database. */
  close(): Promise<void>;
}

const SESSION_SWEEP_MS = 10 * 60 * 1000;
const SHUTDOWN_GRACE_MS = 10_000;

export async function startPortico(options: StartOptions = {}): Promise<RunningPortico> {
  const config = loadConfig(options.env ?? process.env);
  const log = createLogger(config.logLevel, options.logDestination);
  const runtime = await openRuntime(config, log);

  // Bind first: with PORT=0 the issuer depends on the port actually bound. Until the app is
  // built (milliseconds) requests are answered 503.
  let handler: http.RequestListener = (_req, res) => { res.statusCode = 503; res.end(); };
  // Once stopping, every answer says `Connection: close` and ends its connection, so a client that
  // keeps its connection busy (a gateway's keep-alive pool) moves on instead of being cut when the
  // grace period ends.
  let stopping = false;
  const server = http.createServer((req, res) => {
    if (stopping) res.shouldKeepAlive = false;
    handler(req, res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => { server.off('error', reject); resolve(); });
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const issuer = resolveIssuer(config, port);

  const context = createAppContext(runtime, { config, log, issuer, clock: options.clock ?? systemClock });
  let services: Services;
  let signingKeys: JWK[];
  let revokedGrants: RevokedGrants;
  try {
    services = await createServices(context);
    signingKeys = await loadSigningKeys(context.db, context.keys.seal, context.clock);
    revokedGrants = await createRevokedGrants(context);
    if (config.admin) {
      const created = await services.accounts.bootstrapAdmin(config.admin);
      if (created) log.info({ username: created.username }, 'created the admin account from PORTICO_ADMIN_USERNAME');
    }
  } catch (err) {
    await new Promise((resolve) => server.close(resolve));
    await runtime.close();
    throw err instanceof Conflict ? new ConfigError(`PORTICO_ADMIN_USERNAME: ${err.message}`) : err;
  }
  const verifyAccessToken = createAccessTokenVerifier(context, { ...services, signingKeys, revokedGrants });
  const { pool } = runtime.handle;
  const metrics = createMetrics({
    usage: services.usage,
    caches: {
      gateway_api_keys: services.gatewayCache.stats.apiKeys, gateway_access_keys: services.gatewayCache.stats.accessKeys,
      gateway_consumers: services.gatewayCache.stats.consumers, gateway_products: services.gatewayCache.stats.products,
      oauth_clients: services.clients.stats, verified_tokens: verifyAccessToken.stats, account_standing: services.accounts.standingStats,
    },
    poolStats: pool && (() => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 })),
  });
  // A provider per set of signing keys, swapped in when they change (keys rotate, activation, retirement).
  const provider = await createLiveProvider(context, {
    keys: signingKeys,
    build(keys) {
      // Refresh-token reuse, the revocation endpoint and logout revoke grants: their JWTs die with
      // them, recorded (revokedGrants) before the provider answers.
      const built = createProvider(context, { ...services, revokedGrants, signingKeys: keys });
      metrics.watchProvider(built);
      return built;
    },
    keysChanged: (keys) => verifyAccessToken.useKeys(keys),
  });
  const applications = createApplicationService(context, { ...services, validateClient: clientValidator(provider) });
  const { listener, routes } = buildApp(context, { ...services, applications, metrics }, { provider, revokedGrants, verifyAccessToken });
  handler = listener;

  const sweep = setInterval(() => {
    services.sessions.sweepExpired().catch((err) => log.warn({ err }, 'session sweep failed'));
    sweepExpiredOidcPayloads(context.db, context.clock.now()).catch((err) => log.warn({ err }, 'oidc sweep failed'));
    revokedGrants.sweep().catch((err) => log.warn({ err }, 'revoked grants sweep failed'));
    services.clientRegistration.sweepUnclaimed().catch((err) => log.warn({ err }, 'unclaimed clients sweep failed'));
    services.usage.sweep().catch((err) => log.warn({ err }, 'usage reports sweep failed'));
  }, SESSION_SWEEP_MS).unref();

  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  log.info({ url, issuer, database: runtime.handle.kind }, `Portico ready on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url, issuer, config, context, services, routes,
    close() {
      closing ??= (async () => {
        stopping = true;
        clearInterval(sweep);
        await provider.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
        await closed;
        clearTimeout(grace);
        // Counted calls reach the database and held quota goes back before the database closes.
        await services.usage.close().catch((err) => log.error({ err }, 'reporting usage at stop failed'));
        await runtime.close();
        log.info('Portico stopped');
      })();
      return closing;
    },
  };
}
