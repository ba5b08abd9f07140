import path from 'node:path';
import { envSchema } from './schema.js';

export interface Config {
  production: boolean;
  port: number;
  host: string;
  /** Set when ISSUER is given; otherwise derived from the bound port (see resolveIssuer). */
  issuer: string | undefined;
  apiAudience: string;
  /** Lifetime of access tokens in seconds (api.md: 7200). */
  accessTokenTtl: number;
  /** False only to measure what counting costs (USAGE_COUNTING=off); refused in production. */
  usageCounting: boolean;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  admin: { username: string; password: string } | undefined;
  /** Undefined outside production when not given: generated into DATA_DIR at start. */
  secret: string | undefined;
  trustProxy: boolean;
  gatewaySecret: string | undefined;
  /** When set, GET /metrics needs it as a bearer token; unset, /metrics is open (keep it off the internet). */
  metricsToken: string | undefined;
  logLevel: string;
  /** Login, registration and token endpoint limits (src/rate-limits/). */
  rateLimits: RateLimitConfig;
}

export interface RateLimitConfig {
  /** Key prefix in the shared store (Redis). */
  prefix: string;
  /** Failed logins of one username within `loginWindowSeconds` that start a lock. */
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** The first lock; each further lock within a day lasts twice the one before, up to `loginMaxLockSeconds`. */
  loginLockSeconds: number;
  loginMaxLockSeconds: number;
  /** Failed logins from one IP address within `loginWindowSeconds`. */
  loginIpMaxFailures: number;
  registrationMaxPerIp: number;
  registrationWindowSeconds: number;
  /** Client registrations (RFC 7591, POST /oauth2/register) from one IP address within `clientRegistrationWindowSeconds`. */
  clientRegistrationMaxPerIp: number;
  clientRegistrationWindowSeconds: number;
  /** invalid_client / invalid_grant answers of the token endpoint per client id within `tokenWindowSeconds`. */
  tokenMaxFailures: number;
  tokenWindowSeconds: number;
}

/** Thrown for any invalid or refused setting; main prints the message and exits non-zero. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/** Parses and validates the environment; every problem is named by its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if ((e.PORTICO_ADMIN_USERNAME === undefined) !== (e.PORTICO_ADMIN_PASSWORD === undefined)) {
    throw new ConfigError('invalid configuration:\n  PORTICO_ADMIN_USERNAME and PORTICO_ADMIN_PASSWORD must be set together');
  }
  const config: Config = {
    production,
    port: e.PORT,
    host: e.HOST,
    issuer: e.ISSUER?.replace(/\/+$/, ''),
    apiAudience: e.API_AUDIENCE,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    usageCounting: e.USAGE_COUNTING === 'on',
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    redisUrl: e.REDIS_URL,
    admin: e.PORTICO_ADMIN_USERNAME && e.PORTICO_ADMIN_PASSWORD
      ? { username: e.PORTICO_ADMIN_USERNAME, password: e.PORTICO_ADMIN_PASSWORD }
      : undefined,
    secret: e.PORTICO_SECRET,
    trustProxy: e.TRUST_PROXY,
    gatewaySecret: e.GATEWAY_SECRET,
    metricsToken: e.METRICS_TOKEN,
    logLevel: e.LOG_LEVEL,
    rateLimits: {
      prefix: e.RATE_LIMIT_PREFIX,
      loginMaxFailures: e.LOGIN_MAX_FAILURES,
      loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
      loginLockSeconds: e.LOGIN_LOCK_SECONDS,
      loginMaxLockSeconds: Math.max(e.LOGIN_MAX_LOCK_SECONDS, e.LOGIN_LOCK_SECONDS),
      loginIpMaxFailures: e.LOGIN_IP_MAX_FAILURES,
      registrationMaxPerIp: e.REGISTRATION_MAX_PER_IP,
      registrationWindowSeconds: e.REGISTRATION_WINDOW_SECONDS,
      clientRegistrationMaxPerIp: e.CLIENT_REGISTRATION_MAX_PER_IP,
      clientRegistrationWindowSeconds: e.CLIENT_REGISTRATION_WINDOW_SECONDS,
      tokenMaxFailures: e.TOKEN_MAX_FAILURES,
      tokenWindowSeconds: e.TOKEN_WINDOW_SECONDS,
    },
  };
  if (production) assertProductionReady(config);
  return config;
}

/** The production guard (api.md section 2): refuse settings that are only fit for development. */
function assertProductionReady(config: Config): void {
  const problems: string[] = [];
  if (!config.secret) problems.push('PORTICO_SECRET: required when NODE_ENV=production');
  if (!config.usageCounting) problems.push('USAGE_COUNTING: must be on when NODE_ENV=production (quotas would not hold)');
  if (!config.databaseUrl) problems.push('DATABASE_URL: required when NODE_ENV=production (the embedded database is for development)');
  if (config.issuer) {
    const url = new URL(config.issuer);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      problems.push('ISSUER: must be https when NODE_ENV=production (http is allowed only for localhost, 127.0.0.1 and [::1])');
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`refusing to start in production:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** The issuer: ISSUER when set, else http://localhost:<port actually bound>. */
export function resolveIssuer(config: Config, boundPort: number): string {
  return config.issuer ?? `http://localhost:${boundPort}`;
}
