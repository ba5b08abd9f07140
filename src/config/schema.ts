import { z } from 'zod';
import { password, username } from '../accounts/schemas.js';

// An unset variable and an empty one mean the same: take the default.
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const booleanFlag = z.preprocess(
  (v) => (v === '' || v === undefined ? 'false' : String(v).toLowerCase()),
  z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }),
).transform((v) => v === 'true' || v === '1' || v === 'yes');

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, message: `must be an absolute http(s) URL (${what})` });

/** A whole number within bounds, `fallback` when unset or empty. */
const count = (fallback: number, min: number, max: number) => z.preprocess(
  (v) => (v === '' || v === undefined ? String(fallback) : v),
  z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
    .pipe(z.number().int().min(min).max(max, `must be between ${min} and ${max}`)),
);

/** Every environment variable Portico reads, with its default. The single source of truth. */
export const envSchema = z.object({
  NODE_ENV: optionalText,
  PORT: z.preprocess(
    (v) => (v === '' || v === undefined ? '3000' : v),
    z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
      .pipe(z.number().int().min(0).max(65535, 'must be between 0 and 65535')),
  ),
  HOST: z.preprocess((v) => (v === '' || v === undefined ? '127.0.0.1' : v), z.string()),
  ISSUER: z.preprocess((v) => (v === '' ? undefined : v), httpUrl('the issuer')
    .refine((v) => !URL.canParse(v) || (!new URL(v).search && !new URL(v).hash), 'must have no query or fragment')
    .optional()),
  API_AUDIENCE: z.preprocess((v) => (v === '' || v === undefined ? 'urn:portico:api' : v), z.string().max(2000)),
  DATABASE_URL: z.preprocess((v) => (v === '' ? undefined : v),
    z.url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// or postgresql:// URL' }).optional()),
  DATA_DIR: z.preprocess((v) => (v === '' || v === undefined ? './data' : v), z.string()),
  REDIS_URL: z.preprocess((v) => (v === '' ? undefined : v),
    z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional()),
  // The same rules as registration: the bootstrap admin is an account like any other.
  PORTICO_ADMIN_USERNAME: z.preprocess((v) => (v === '' ? undefined : v), username.optional()),
  PORTICO_ADMIN_PASSWORD: z.preprocess((v) => (v === '' ? undefined : v), password.optional()),
  PORTICO_SECRET: z.preprocess((v) => (v === '' ? undefined : v),
    z.string().min(32, 'must be at least 32 characters (use e.g. `openssl rand -base64 32`)').optional()),
  // The contract's 2 hours; shorter only to test expiry without waiting.
  ACCESS_TOKEN_TTL: z.preprocess(
    (v) => (v === '' || v === undefined ? '7200' : v),
    z.string().regex(/^\d+$/, 'must be a whole number of seconds').transform(Number)
      .pipe(z.number().int().min(1).max(86_400, 'must be between 1 and 86400 seconds')),
  ),
  // off: every gateway and /openapi/v1 call is allowed without counting (benchmarks; refused in production).
  USAGE_COUNTING: z.preprocess((v) => (v === '' || v === undefined ? 'on' : String(v).toLowerCase()), z.enum(['on', 'off'])),
  TRUST_PROXY: booleanFlag,
  GATEWAY_SECRET: optionalText,
  // When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`.
  METRICS_TOKEN: optionalText,
  // Rate limits and brute-force protection (README "Rate limits").
  LOGIN_MAX_FAILURES: count(10, 1, 1_000),
  LOGIN_WINDOW_SECONDS: count(60, 1, 86_400),
  LOGIN_LOCK_SECONDS: count(60, 1, 86_400),
  LOGIN_MAX_LOCK_SECONDS: count(3_600, 1, 604_800),
  LOGIN_IP_MAX_FAILURES: count(100, 1, 1_000_000),
  REGISTRATION_MAX_PER_IP: count(20, 1, 1_000_000),
  REGISTRATION_WINDOW_SECONDS: count(600, 1, 86_400),
  CLIENT_REGISTRATION_MAX_PER_IP: count(10, 1, 1_000_000),
  CLIENT_REGISTRATION_WINDOW_SECONDS: count(3_600, 1, 86_400),
  TOKEN_MAX_FAILURES: count(30, 1, 1_000_000),
  TOKEN_WINDOW_SECONDS: count(60, 1, 86_400),
  // Keeps deployments (or test runs) that share one Redis apart.
  RATE_LIMIT_PREFIX: z.preprocess((v) => (v === '' || v === undefined ? 'portico' : v),
    z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"')),
  LOG_LEVEL: z.preprocess((v) => (v === '' || v === undefined ? 'info' : v),
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
});

export type Env = z.infer<typeof envSchema>;
