import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import { keyedHash, randomToken } from '../crypto/tokens.js';
import type { CredentialRow, CredentialType } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { createConsumerQueries, createCredentialQueries } from './queries.js';
import { CONSUMER_TOPIC, type ConsumerService } from './service.js';

/** Enough for rotation without downtime (create the new one, switch, delete the old one). */
export const MAX_CREDENTIALS_PER_CONSUMER = 10;

export const API_KEY_PREFIX = 'pk_';
const ACCESS_KEY_PREFIX = 'PAK';
const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id: an identifier (not a secret), 20 upper-case characters after the prefix, as AK ids look. */
function newAccessKey(): string {
  return ACCESS_KEY_PREFIX + [...randomBytes(20)].map((b) => ACCESS_KEY_ALPHABET[b % 32]).join('');
}

/** Associated data of a sealed credential secret (exported for the bench's scale seed). */
export const sealingContext = (id: string) => `credentials:${id}`;

/** An owner's view of a credential: the values in full, as "View credential" shows them. */
export type CredentialView =
  | { id: string; type: 'api-key'; apiKey: string; createdAt: string }
  | { id: string; type: 'ak-sk'; accessKey: string; secretKey: string; createdAt: string };

/** The consumer and owner behind a presented API key or access key, for the gateway. */
export interface CredentialOwner { credentialId: string; consumerId: string; accountId: string }

/**
 * Credentials of consumers: API keys (256-bit, `pk_` prefix, found by their HMAC) and AK/SK pairs
 * (secret key for SDK-HMAC-SHA256 signatures). Secrets are sealed at rest and shown only to the owner.
 */
export function createCredentialService(ctx: AppContext, deps: { audit: AuditService; consumers: ConsumerService }) {
  const queries = createCredentialQueries(ctx.db);
  const hashApiKey = (apiKey: string) => keyedHash(ctx.keys.lookup, apiKey);

  function view(row: CredentialRow): CredentialView {
    const secret = unseal(ctx.keys.seal, row.sealed_secret, sealingContext(row.id));
    const createdAt = row.created_at.toISOString();
    return row.type === 'api-key'
      ? { id: row.id, type: 'api-key', apiKey: secret, createdAt }
      : { id: row.id, type: 'ak-sk', accessKey: row.access_key!, secretKey: secret, createdAt };
  }

  return {
    async list(accountId: string, consumerId: string) {
      await deps.consumers.resolveOwned(accountId, consumerId);
      return { items: (await queries.listOfConsumer(consumerId)).map(view), nextCursor: null };
    },

    /** Every credential of an owner by consumer id, in one query (the console shows them all). */
    async listOfAccount(accountId: string): Promise<Map<string, CredentialView[]>> {
      const byConsumer = new Map<string, CredentialView[]>();
      for (const row of await queries.listOfAccount(accountId)) byConsumer.set(row.consumer_id, [...byConsumer.get(row.consumer_id) ?? [], view(row)]);
      return byConsumer;
    },

    async create(actor: Actor & { accountId: string }, consumerId: string, type: CredentialType): Promise<CredentialView> {
      const id = randomUUID();
      const secret = type === 'api-key' ? randomToken(API_KEY_PREFIX) : randomToken();
      const row = await ctx.db.transaction().execute(async (trx) => {
        // The consumer stays locked until the insert commits: the limit holds under concurrent requests.
        if (!(await createConsumerQueries(trx).lockOwned(actor.accountId, consumerId))) throw new NotFound('consumer');
        const inTrx = createCredentialQueries(trx);
        if (await inTrx.countOfConsumer(consumerId) >= MAX_CREDENTIALS_PER_CONSUMER) {
          throw new Conflict(`A consumer holds at most ${MAX_CREDENTIALS_PER_CONSUMER} credentials; delete one first.`);
        }
        const created = await inTrx.insert({
          id, consumerId, type,
          keyHash: type === 'api-key' ? hashApiKey(secret) : null,
          accessKey: type === 'ak-sk' ? newAccessKey() : null,
          sealedSecret: seal(ctx.keys.seal, secret, sealingContext(id)),
        });
        await deps.audit.record(trx, actor, {
          action: 'credential.created', targetType: 'credential', targetId: id,
          details: { consumerId, type, ...(created.access_key ? { accessKey: created.access_key } : {}) },
        });
        return created;
      });
      return view(row);
    },

    /** Revoked at once: the row goes, and every node is told to drop what it cached of it. */
    async remove(actor: Actor & { accountId: string }, consumerId: string, id: string): Promise<void> {
      await deps.consumers.resolveOwned(actor.accountId, consumerId);
      await ctx.db.transaction().execute(async (trx) => {
        const deleted = await createCredentialQueries(trx).deleteOfConsumer(consumerId, id);
        if (!deleted) throw new NotFound('credential');
        await deps.audit.record(trx, actor, { action: 'credential.deleted', targetType: 'credential', targetId: id, details: { consumerId, type: deleted.type } });
        await ctx.bus.publish(trx, CONSUMER_TOPIC, { consumerId, credentialId: id });
      });
    },

    /** The owner of an API key, or undefined (unknown or deleted). */
    async findApiKeyOwner(apiKey: string): Promise<CredentialOwner | undefined> {
      if (!apiKey.startsWith(API_KEY_PREFIX) || apiKey.length > 100) return undefined;
      const row = await queries.findOwner({ keyHash: hashApiKey(apiKey) });
      return row && { credentialId: row.credentialId, consumerId: row.consumerId, accountId: row.accountId };
    },

    /** The owner and the secret key of an access key, or undefined, to verify a signature. */
    async findAccessKey(accessKey: string): Promise<(CredentialOwner & { secretKey: string }) | undefined> {
      if (accessKey.length > 100) return undefined;
      const row = await queries.findOwner({ accessKey });
      if (!row || row.type !== 'ak-sk') return undefined;
      return { credentialId: row.credentialId, consumerId: row.consumerId, accountId: row.accountId, secretKey: unseal(ctx.keys.seal, row.sealed_secret, sealingContext(row.credentialId)) };
    },
  };
}
export type CredentialService = ReturnType<typeof createCredentialService>;
