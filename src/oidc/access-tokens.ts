import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AccountService } from '../accounts/service.js';
import type { AppContext } from '../context.js';
import { cacheStats } from '../ops/metrics/stats.js';
import type { ClientRecord, ClientStanding, ClientStore } from './clients.js';
import type { RevokedGrants } from './revoked-grants.js';

const KEY_REFRESH_MS = 10_000;
const PRIVATE_PARAMS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
const publicPart = (jwk: JWK) => Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_PARAMS.has(k))) as JWK;

/**
 * What a JWT access token is worth now. `invalid`: bad signature, wrong issuer, type or
 * audience, expired, its grant revoked, or its client gone. `refused`: genuine and live, but
 * the owner (or the signed-in user) is not active, or the application is suspended.
 */
/** Why a valid token (or a client with the right secret) is refused, as told to its holder. */
export const REFUSALS: Record<Exclude<ClientStanding, 'ok'> | 'user_inactive', string> = {
  owner_inactive: 'the account that owns this application is banned or not active',
  suspended: 'this application is suspended',
  install_disabled: 'the organization has disabled this application',
  user_inactive: 'the account this token was issued to is banned or not active',
};

export type AccessTokenCheck =
  | { status: 'valid'; payload: JWTPayload & Record<string, unknown>; client: ClientRecord }
  | { status: 'invalid' }
  | { status: 'refused'; reason: keyof typeof REFUSALS; payload: JWTPayload & Record<string, unknown>; client: ClientRecord };

/**
 * Checks Portico's JWT access tokens locally: oidc-provider does not store them, so validity is
 * the signature and expiry plus the state of the grant, the client and the accounts, all read
 * from memory (revoked grants, the client cache, account standing).
 */
export function createAccessTokenVerifier(ctx: AppContext, deps: { signingKeys: JWK[]; clients: ClientStore; accounts: AccountService; revokedGrants: RevokedGrants }) {
  let keySet = createLocalJWKSet({ keys: deps.signingKeys.map(publicPart) });
  let keysReadAt = 0;
  /**
   * A token signed with a key this process has not seen (another node started after `keys
   * rotate`): the published keys are read again, at most every 10 s, so a forged kid cannot
   * make every call a query.
   */
  async function refreshKeys(): Promise<boolean> {
    if (Date.now() - keysReadAt < KEY_REFRESH_MS) return false;
    keysReadAt = Date.now();
    const rows = await ctx.db.selectFrom('signing_keys').select('public_jwk').where('state', 'in', ['active', 'next']).execute();
    keySet = createLocalJWKSet({ keys: rows.map((r) => r.public_jwk as JWK) });
    return true;
  }
  // Tokens whose signature and claims were verified, by hash, until they expire: a busy client's
  // token is verified once, not on every call. What can change (grant, client, accounts) is not cached.
  const verified = new LRUCache<string, JWTPayload & Record<string, unknown>>({ max: 50_000 });
  const stats = cacheStats(() => verified.size);

  async function verifiedPayload(token: string): Promise<(JWTPayload & Record<string, unknown>) | undefined> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = ctx.clock.now();
    const cached = verified.get(key);
    if (cached) {
      stats.hits += 1;
      return Number(cached.exp) * 1000 > now.getTime() ? cached : undefined;
    }
    stats.misses += 1;
    const verify = () => jwtVerify(token, keySet, { issuer: ctx.issuer, typ: 'at+jwt', currentDate: now });
    try {
      const { payload } = await verify().catch(async (err: { code?: string }) => {
        if (err.code === 'ERR_JWKS_NO_MATCHING_KEY' && (await refreshKeys())) return verify();
        throw err;
      });
      verified.set(key, payload, { ttl: Math.max(1, Number(payload.exp) * 1000 - now.getTime()) });
      return payload;
    } catch {
      return undefined;
    }
  }

  const audienceOf = (payload: JWTPayload) => (Array.isArray(payload.aud) ? payload.aud : [payload.aud]);

  // The cache's lookups ride on the function, read by /metrics.
  // `audience`: the one the caller accepts, or several (the gateway: the API's and the product's).
  return Object.assign(async function verifyAccessToken(token: string, options: { audience?: string | string[] } = {}): Promise<AccessTokenCheck> {
    const payload = await verifiedPayload(token);
    const accepted = options.audience === undefined ? undefined : [options.audience].flat();
    if (!payload || (accepted && !audienceOf(payload).some((aud) => accepted.includes(String(aud))))) return { status: 'invalid' };
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
    const grantId = typeof payload.grant_id === 'string' ? payload.grant_id : undefined;
    if (!clientId || (grantId && deps.revokedGrants.isRevoked(grantId))) return { status: 'invalid' };
    const found = await deps.clients.lookup(clientId);
    if (!found) return { status: 'invalid' };
    if (found.standing !== 'ok') return { status: 'refused', reason: found.standing, payload, client: found.record };
    const sub = String(payload.sub);
    if (sub !== clientId && !(await deps.accounts.isActive(sub))) return { status: 'refused', reason: 'user_inactive', payload, client: found.record };
    return { status: 'valid', payload, client: found.record };
  }, {
    stats,
    /** The keys of the provider now in service (a rotation took effect on this node). */
    useKeys(keys: JWK[]): void {
      keySet = createLocalJWKSet({ keys: keys.map(publicPart) });
    },
  });
}
export type VerifyAccessToken = ReturnType<typeof createAccessTokenVerifier>;
