import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { createAccountQueries } from '../accounts/queries.js';
import type { AuditEntry, AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { keyedHash } from '../crypto/tokens.js';
import type { AccountRow } from '../db/types.js';
import { NotFound, RateLimited } from '../http/errors.js';
import type { Logger } from '../ops/logger.js';

/** Where the counters live: Redis (REDIS_URL), PostgreSQL (DATABASE_URL), else this process (PGlite admits one). */
export type RateLimitStore = 'redis' | 'postgres' | 'memory';

type Limiter = RateLimiterMemory | RateLimiterPostgres | RateLimiterRedis;

/** Published when a client is limited at the token endpoint, so every node refuses it from memory. */
const TOKEN_LIMIT_TOPIC = 'rate_limits';
const LIMITED_CLIENTS_MAX = 100_000;

/** How long the locks of one username are remembered to make the next one longer. */
const LOCK_HISTORY_SECONDS = 86_400;
const REDIS_CONNECT_WAIT_MS = 2_000;

/**
 * What one caller's address is, for per-address limits: an IPv4 address itself, but an IPv6
 * address's /64 (a host usually holds a whole /64 and could take a new address per request).
 * An IPv4-mapped IPv6 address is its IPv4 address.
 */
export function addressBlock(ip: string): string {
  const address = ip.split('%')[0]!; // without a zone id
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(':')}::/64`;
}

/** Whole seconds to wait, at least one (a store that keeps no expiry gives -1: the whole window). */
const secondsOf = (msBeforeNext: number, windowSeconds: number) =>
  msBeforeNext > 0 ? Math.max(1, Math.ceil(msBeforeNext / 1000)) : windowSeconds;

/** One login attempt, admitted by the limits: tell how it ended. */
export interface LoginAttempt {
  /** The password was right: the username's failures are forgotten and the address's attempt is given back. */
  succeeded(): Promise<void>;
  /** The password was wrong (or there is no such account: `accountId` undefined, counted the same). */
  failed(actor: Actor, accountId: string | undefined): Promise<void>;
}

/**
 * Rate limits and brute-force protection (README "Rate limits"), with rate-limiter-flexible:
 * failed logins per username (a lock that grows with each lock of the day) and per IP address,
 * registrations per IP address, token endpoint failures per client id. Counters are shared by
 * every node through Redis or PostgreSQL; on the embedded database they live in this process.
 */
export async function createRateLimits(ctx: AppContext, deps: { audit: AuditService }) {
  const settings = ctx.config.rateLimits;
  const { pgPool, redis } = ctx.stores ?? {};
  const store: RateLimitStore = redis ? 'redis' : pgPool ? 'postgres' : 'memory';
  if (redis) await connectRedis(redis, ctx.log);
  const accounts = createAccountQueries(ctx.db);
  let cleaner = true;

  function limiter(name: string, points: number, duration: number): Limiter {
    const keyPrefix = `${settings.prefix}:${name}`;
    // A failing store (Redis or the database down) hands over to this node's memory: limits per
    // node for a while rather than none, and never an error for the caller.
    const insuranceLimiter = new RateLimiterMemory({ keyPrefix, points, duration });
    if (redis) return new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, insuranceLimiter });
    if (pgPool) {
      // One limiter deletes the table's expired rows (every 5 minutes); they all share the table.
      const clearExpiredByTimeout = cleaner;
      cleaner = false;
      return new RateLimiterPostgres({ storeClient: pgPool, storeType: 'pool', tableName: 'rate_limits', tableCreated: true, clearExpiredByTimeout, keyPrefix, points, duration, insuranceLimiter });
    }
    return new RateLimiterMemory({ keyPrefix, points, duration });
  }

  const loginUser = limiter('login-user', settings.loginMaxFailures, settings.loginWindowSeconds);
  const loginIp = limiter('login-ip', settings.loginIpMaxFailures, settings.loginWindowSeconds);
  const lockHistory = limiter('login-locks', 1_000_000, LOCK_HISTORY_SECONDS);
  const registrations = limiter('registration-ip', settings.registrationMaxPerIp, settings.registrationWindowSeconds);
  const clientRegistrations = limiter('client-registration-ip', settings.clientRegistrationMaxPerIp, settings.clientRegistrationWindowSeconds);
  const tokenFailures = limiter('token-client', settings.tokenMaxFailures, settings.tokenWindowSeconds);

  // Clients the token endpoint refuses, until when (epoch ms), on every node: a grant then asks no
  // store at all (the hot path). The failures themselves are counted in the store; a node that
  // missed the news learns it at its own next failure of that client.
  const limitedClients = new Map<string, number>();
  function limitClient(key: string, until: number): void {
    if (limitedClients.size >= LIMITED_CLIENTS_MAX) {
      const now = Date.now();
      for (const [k, end] of limitedClients) if (end <= now) limitedClients.delete(k);
      if (limitedClients.size >= LIMITED_CLIENTS_MAX) limitedClients.delete(limitedClients.keys().next().value!);
    }
    limitedClients.set(key, until);
  }
  await ctx.bus.subscribe(TOKEN_LIMIT_TOPIC, (payload) => {
    if (typeof payload.key === 'string' && typeof payload.until === 'number') limitClient(payload.key, payload.until);
  });

  // Keyed hashes: bounded length whatever was typed, and the store never holds a username or address.
  const keyOf = (kind: string, value: string) => keyedHash(ctx.keys.lookup, `rate-limit:${kind}:${value}`);
  const usernameKey = (username: string) => keyOf('user', username.toLowerCase());
  const ipKey = (ip: string | null) => keyOf('ip', ip ? addressBlock(ip) : 'unknown');

  /** A consume's result, whether within the limit or over it; undefined when the store failed (logged: let through). */
  async function consume(target: Limiter, key: string): Promise<RateLimiterRes | undefined> {
    try {
      return await target.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) return err;
      ctx.log.error({ err }, 'rate limit store failed');
      return undefined;
    }
  }

  /** Any other store operation; a failure is logged and ignored (the limits must never fail a request). */
  async function settle<T>(operation: Promise<T>): Promise<T | undefined> {
    try {
      return await operation;
    } catch (err) {
      if (err instanceof RateLimiterRes) return undefined;
      ctx.log.error({ err }, 'rate limit store failed');
      return undefined;
    }
  }

  /** An audit event written after the answer: a lock of a known account must take no longer to answer than one of an unknown name. */
  function recordLater(actor: Actor, entry: AuditEntry): void {
    ctx.db.transaction().execute((trx) => deps.audit.record(trx, actor, entry))
      .catch((err) => ctx.log.error({ err }, 'recording a rate limit event failed'));
  }

  async function unlockAccount(actor: Actor, account: AccountRow) {
    const key = usernameKey(account.username);
    const state = await settle(loginUser.get(key));
    const wasLocked = !!state && state.consumedPoints >= settings.loginMaxFailures;
    await Promise.all([settle(loginUser.delete(key)), settle(lockHistory.delete(key))]);
    await ctx.db.transaction().execute((trx) => deps.audit.record(trx, actor, {
      action: 'account.unlocked', targetType: 'account', targetId: account.id, details: { username: account.username, wasLocked },
    }));
    return { id: account.id, username: account.username, wasLocked };
  }

  return {
    store,

    /**
     * Admits a password login before the password is verified, or throws RateLimited. The attempt
     * is counted first (so concurrent guesses cannot slip past the limit) and given back on
     * success. Unknown usernames are counted exactly like known ones.
     */
    async beginLogin(actor: Actor, username: string): Promise<LoginAttempt> {
      const fromIp = ipKey(actor.ip);
      const byIp = await consume(loginIp, fromIp);
      if (byIp && byIp.consumedPoints > settings.loginIpMaxFailures) {
        throw new RateLimited(secondsOf(byIp.msBeforeNext, settings.loginWindowSeconds), 'Too many failed logins from this address.');
      }
      const key = usernameKey(username);
      const byUser = await consume(loginUser, key);
      if (byUser && byUser.consumedPoints > settings.loginMaxFailures) {
        throw new RateLimited(secondsOf(byUser.msBeforeNext, settings.loginWindowSeconds), 'Too many failed logins for this account.');
      }
      return {
        async succeeded() {
          await Promise.all([settle(loginUser.delete(key)), byIp ? settle(loginIp.reward(fromIp)) : undefined]);
        },
        async failed(failedActor, accountId) {
          // Only the failure that used up the window's budget starts a lock: exactly one per window.
          if (byUser?.consumedPoints !== settings.loginMaxFailures) return;
          const locks = (await consume(lockHistory, key))?.consumedPoints ?? 1;
          const lockSeconds = Math.min(settings.loginLockSeconds * 2 ** (locks - 1), settings.loginMaxLockSeconds);
          await settle(loginUser.block(key, lockSeconds));
          ctx.log.warn({ lockSeconds, locks }, 'login locked after repeated failures');
          if (accountId) {
            recordLater({ ...failedActor, accountId: null }, {
              action: 'account.locked', targetType: 'account', targetId: accountId,
              details: { failures: settings.loginMaxFailures, windowSeconds: settings.loginWindowSeconds, lockSeconds, locksToday: locks },
            });
          }
        },
      };
    },

    /** Counts a registration from the actor's address, or throws RateLimited. */
    async admitRegistration(actor: Actor): Promise<void> {
      const res = await consume(registrations, ipKey(actor.ip));
      if (res && res.consumedPoints > settings.registrationMaxPerIp) {
        throw new RateLimited(secondsOf(res.msBeforeNext, settings.registrationWindowSeconds), 'Too many registrations from this address.');
      }
    },

    /** Counts a client registration (RFC 7591) from an address; the seconds to wait when over the limit, else undefined. */
    async clientRegistrationRetryAfter(ip: string | null): Promise<number | undefined> {
      const res = await consume(clientRegistrations, ipKey(ip));
      if (!res || res.consumedPoints <= settings.clientRegistrationMaxPerIp) return undefined;
      return secondsOf(res.msBeforeNext, settings.clientRegistrationWindowSeconds);
    },

    /** Seconds a client must wait before the token endpoint serves it again; undefined when it may go on. From memory. */
    tokenRetryAfter(clientId: string): number | undefined {
      if (limitedClients.size === 0) return undefined;
      const key = keyOf('client', clientId);
      const until = limitedClients.get(key);
      if (until === undefined) return undefined;
      const ms = until - Date.now();
      if (ms > 0) return secondsOf(ms, settings.tokenWindowSeconds);
      limitedClients.delete(key);
      return undefined;
    },

    /** Counts an invalid_client or invalid_grant answer of the token endpoint against the client id. */
    async tokenFailed(clientId: string): Promise<void> {
      const key = keyOf('client', clientId);
      const res = await settle(tokenFailures.penalty(key));
      if (!res || res.consumedPoints < settings.tokenMaxFailures) return;
      const until = Date.now() + (res.msBeforeNext > 0 ? res.msBeforeNext : settings.tokenWindowSeconds * 1000);
      limitClient(key, until);
      await settle(ctx.bus.publish(ctx.db, TOKEN_LIMIT_TOPIC, { key, until }));
    },

    /** Lifts the login lock of a username and forgets its failures and past locks (the CLI's `unlock`); audited. */
    async unlock(actor: Actor, username: string) {
      const account = await accounts.findByUsername(username);
      if (!account) throw new NotFound('account');
      return unlockAccount(actor, account);
    },

    /** The same for an account id (the admin API). */
    async unlockById(actor: Actor, accountId: string) {
      const account = await accounts.findById(accountId);
      if (!account) throw new NotFound('account');
      return unlockAccount(actor, account);
    },
  };
}
export type RateLimits = Awaited<ReturnType<typeof createRateLimits>>;

/**
 * Connects the shared Redis client before the first limit is counted (counts made while it is
 * not ready go to this node's memory). Waits 2 s at most: Portico starts without Redis and
 * ioredis keeps reconnecting.
 */
async function connectRedis(redis: Redis, log: Logger): Promise<void> {
  let reported = false;
  redis.on('error', (err: Error) => {
    if (!reported) log.warn({ err: { message: err.message } }, 'Redis unreachable: rate limits are counted per node until it is back');
    reported = true;
  });
  redis.on('ready', () => { reported = false; });
  if (redis.status !== 'wait') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    redis.connect().catch(() => {}),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, REDIS_CONNECT_WAIT_MS); timer.unref(); }),
  ]);
  clearTimeout(timer);
}
