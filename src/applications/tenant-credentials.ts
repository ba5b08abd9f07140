import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { NotFound, PorticoError } from '../http/errors.js';
import type { ClientStore } from '../oidc/clients.js';
import { createApplicationQueries } from './queries.js';

/** The smallest RSA modulus a merchant key may have (product.md capability 9). */
export const MIN_RSA_BITS = 3072;

export class PublicKeyRejected extends PorticoError {
  constructor(reason: string) { super(422, 'public_key_rejected', 'Public key rejected', reason); }
}
export class PublicKeyRequired extends PorticoError {
  constructor() { super(409, 'public_key_required', 'Public key required', 'Register the application\'s RSA public key (PUT /api/v1/applications/:id/public-key) first: tenant secrets are only delivered encrypted to it.'); }
}

/** Reads a PEM (SPKI or PKCS#1) or a JWK; only a public RSA key of at least 3072 bits is kept, as a public JWK. */
export function parseMerchantKey(input: { pem: string } | { jwk: Record<string, unknown> }): Record<string, string> {
  if ('pem' in input && /PRIVATE KEY/.test(input.pem)) throw new PublicKeyRejected('This is a private key: send the public key only.');
  if ('jwk' in input && 'd' in input.jwk) throw new PublicKeyRejected('This JWK holds a private key: send the public key only.');
  let key: KeyObject;
  try {
    key = 'pem' in input ? createPublicKey(input.pem) : createPublicKey({ key: input.jwk as JsonWebKey, format: 'jwk' });
  } catch {
    throw new PublicKeyRejected('The key could not be read: send an RSA public key as PEM ("BEGIN PUBLIC KEY") or as a JWK.');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new PublicKeyRejected(`The key must be RSA (RSA-OAEP-256), not ${key.asymmetricKeyType ?? 'unknown'}.`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new PublicKeyRejected(`The key has ${bits} bits; at least ${MIN_RSA_BITS} are required.`);
  const { kty, n, e } = key.export({ format: 'jwk' });
  return { kty: kty!, n: n!, e: e! };
}

/** The key's RFC 7638 thumbprint (its `kid` in the JWE header) and size, to show the merchant which key is registered. */
export function describeMerchantKey(jwk: Record<string, string>) {
  const thumbprint = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return { thumbprint, bits: Buffer.from(jwk.n ?? '', 'base64url').length * 8 };
}

/** Who asks for a tenant's credentials: the application's owner, or the application itself (its client_credentials token). */
export type TenantCredentialsCaller = { accountId: string } | { applicationId: string };

/**
 * The merchant's public key, and each tenant's client credentials delivered encrypted to it: the
 * secret travels only as a compact JWE (RSA-OAEP-256, A256GCM), so it is readable by the holder
 * of the private key alone, whoever sees the answer.
 */
export function createTenantCredentials(ctx: AppContext, deps: { audit: AuditService; clients: ClientStore }) {
  const queries = createApplicationQueries(ctx.db);

  return {
    async setPublicKey(actor: Actor & { accountId: string }, id: string, input: { pem: string } | { jwk: Record<string, unknown> }) {
      const jwk = parseMerchantKey(input);
      const key = describeMerchantKey(jwk);
      await ctx.db.transaction().execute(async (trx) => {
        const updated = await createApplicationQueries(trx).setPublicKey(actor.accountId, id, jwk, ctx.clock.now());
        if (!updated) throw new NotFound('application');
        await deps.audit.record(trx, actor, { action: 'application.public_key_set', targetType: 'application', targetId: id, details: key });
      });
      return key;
    },

    /** `{tenantId, clientId, clientSecretJwe}` for an organization the application is installed in. */
    async get(caller: TenantCredentialsCaller, id: string, tenantId: string) {
      const app = 'accountId' in caller ? await queries.findOwned(caller.accountId, id) : caller.applicationId === id ? await queries.findById(id) : undefined;
      if (!app) throw new NotFound('application');
      const clientId = await deps.clients.tenantClientId(app.id, tenantId);
      const secret = clientId ? (await deps.clients.lookup(clientId))?.record.metadata.client_secret : undefined;
      if (!clientId || typeof secret !== 'string') throw new NotFound('installation of this application in this organization');
      if (!app.public_key) throw new PublicKeyRequired();
      const { thumbprint } = describeMerchantKey(app.public_key);
      const clientSecretJwe = await new CompactEncrypt(new TextEncoder().encode(secret))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: thumbprint, cty: 'text/plain' })
        .encrypt(createPublicKey({ key: app.public_key, format: 'jwk' }));
      return { tenantId, clientId, clientSecretJwe };
    },
  };
}
export type TenantCredentials = ReturnType<typeof createTenantCredentials>;
