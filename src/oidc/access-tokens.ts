import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { AccountService } from '../accounts/service.js';
import type { AppContext } from '../context.js';
import type { ClientRecord, ClientStore } from './clients.js';
import type { RevokedGrants } from './revoked-grants.js';

const PRIVATE_PARAMS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
const publicPart = (jwk: JWK) => Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_PARAMS.has(k))) as JWK;

/**
 * What a JWT access token is worth now. `invalid`: bad signature, wrong issuer, type or
 * audience, expired, its grant revoked, or its client gone. `refused`: genuine and live, but
 * the owner (or the signed-in user) is not active, or the application is suspended.
 */
export type AccessTokenCheck =
  | { status: 'valid'; payload: JWTPayload & Record<string, unknown>; client: ClientRecord }
  | { status: 'invalid' }
  | { status: 'refused'; reason: 'owner_inactive' | 'suspended' | 'user_inactive'; payload: JWTPayload & Record<string, unknown>; client: ClientRecord };

/**
 * Checks Portico's JWT access tokens locally: oidc-provider does not store them, so validity is
 * the signature and expiry plus the state of the grant, the client and the accounts, all read
 * from memory (revoked grants, the client cache, account standing).
 */
export function createAccessTokenVerifier(ctx: AppContext, deps: { signingKeys: JWK[]; clients: ClientStore; accounts: AccountService; revokedGrants: RevokedGrants }) {
  const keySet = createLocalJWKSet({ keys: deps.signingKeys.map(publicPart) });

  return async function verifyAccessToken(token: string, options: { audience?: string } = {}): Promise<AccessTokenCheck> {
    let payload: JWTPayload & Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keySet, { issuer: ctx.issuer, typ: 'at+jwt', audience: options.audience, currentDate: ctx.clock.now() }));
    } catch {
      return { status: 'invalid' };
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
    const grantId = typeof payload.grant_id === 'string' ? payload.grant_id : undefined;
    if (!clientId || (grantId && deps.revokedGrants.isRevoked(grantId))) return { status: 'invalid' };
    const found = await deps.clients.lookup(clientId);
    if (!found) return { status: 'invalid' };
    if (found.standing !== 'ok') return { status: 'refused', reason: found.standing, payload, client: found.record };
    const sub = String(payload.sub);
    if (sub !== clientId && !(await deps.accounts.isActive(sub))) return { status: 'refused', reason: 'user_inactive', payload, client: found.record };
    return { status: 'valid', payload, client: found.record };
  };
}
export type VerifyAccessToken = ReturnType<typeof createAccessTokenVerifier>;
