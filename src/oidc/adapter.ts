import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import Provider, { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Clock } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import type { Database } from '../db/types.js';
import type { ClientStore } from './clients.js';

/**
 * oidc-provider's storage on the `oidc_payloads` table: one row per (model, id). Expired rows
 * are never returned; `consume` is a conditional update, so of two concurrent uses of one code
 * or refresh token exactly one succeeds. Consumed rows stay until they expire: that is how a
 * second use of a rotated refresh token is recognised (and its grant revoked by the library).
 */
/** Ids come from the request: one that could never have been stored is simply not found. */
const lookable = (id: string) => id.length <= 1024 && !id.includes('\u0000');

/**
 * Models whose id is a bearer secret: the token or code itself, or the session cookie. Their rows
 * are keyed by the id's SHA-256 (the ids are random, 126 bits and more) and their payload keeps
 * no copy of it: `jti` is put back from the id asked for. A session (read by its uid too, for
 * interaction results) and a device code (by its user code) keep their id sealed for those reads.
 */
const SECRET_ID_MODELS = new Set(['Session', 'AccessToken', 'AuthorizationCode', 'RefreshToken', 'ClientCredentials',
  'DeviceCode', 'BackchannelAuthenticationRequest', 'RegistrationAccessToken', 'InitialAccessToken']);
const READ_BY_OTHER_KEYS = new Set(['Session', 'DeviceCode']);
const SEALED_JTI = 'sealedJti';
const jtiContext = (model: string) => `oidc_payloads:${model}:jti`;

/** The row id an artifact is stored under (exported for tests that look rows up). */
export function storageId(model: string, id: string): string {
  return SECRET_ID_MODELS.has(model) ? createHash('sha256').update(id, 'utf8').digest('hex') : id;
}

export interface AdapterHooks {
  /** Called with the id of every client the provider looks up; may throw a provider error to refuse the request. */
  guardClient?: (clientId: string) => void;
  /**
   * Awaited when the provider destroys a grant (refresh-token reuse, the revocation endpoint,
   * logout), before it answers: what the grant's JWT access tokens depend on is written first.
   */
  grantDestroyed?: (grantId: string) => Promise<void>;
  /** Where clients that register themselves (RFC 7591) are saved and deleted (RFC 7592). */
  registeredClients?: { save(clientId: string, metadata: Record<string, unknown>): Promise<void>; remove(clientId: string): Promise<void> };
}

export function createOidcAdapter(db: Kysely<Database>, clock: Clock, options: { sealKey: Buffer; clients?: ClientStore } & AdapterHooks) {
  const { sealKey, clients } = options;
  return (model: string): Adapter => {
    // Clients are not oidc-provider artifacts: they come from oauth_clients, through its cache.
    if (model === 'Client' && clients) return clientAdapter(clients, options);
    const secretIds = SECRET_ID_MODELS.has(model);
    const live = () => db.selectFrom('oidc_payloads').select(['payload', 'consumed_at'])
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', clock.now())]));

    /** The payload as stored: without the secret id (a session's sealed). */
    function toStored(id: string, payload: AdapterPayload): Record<string, unknown> {
      // An interaction keeps its session's id as `session.cookie`, which the provider never reads back.
      if (model === 'Interaction' && payload.session?.cookie) {
        const { cookie: _cookie, ...session } = payload.session;
        return { ...payload, session };
      }
      if (!secretIds) return payload;
      const { jti: _jti, ...rest } = payload;
      return READ_BY_OTHER_KEYS.has(model) ? { ...rest, [SEALED_JTI]: seal(sealKey, id, jtiContext(model)) } : rest;
    }

    /** The payload as the provider expects it, `jti` back (from the id asked for, or unsealed) and `consumed` from its column. */
    function toPayload(row: { payload: Record<string, unknown>; consumed_at: Date | null } | undefined, id?: string): AdapterPayload | undefined {
      if (!row) return undefined;
      const { [SEALED_JTI]: sealedJti, ...payload } = row.payload as AdapterPayload;
      if (secretIds && id !== undefined) payload.jti = id;
      else if (typeof sealedJti === 'string') payload.jti = unseal(sealKey, sealedJti, jtiContext(model));
      return row.consumed_at ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : payload;
    }

    return {
      async upsert(id, payload, expiresIn) {
        const json = JSON.stringify(toStored(id, payload));
        // jsonb cannot hold a NUL byte, which a client can put in any parameter the provider keeps
        // (state, nonce, login_hint, ...): refused as a bad request, not a 500. (A literal "\u0000"
        // typed as text is refused too; no parameter needs one.)
        if (json.includes('\\u0000')) throw new errors.InvalidRequest('parameters must not contain NUL bytes');
        const values = {
          payload: json,
          grant_id: payload.grantId ?? null,
          uid: payload.uid ?? null,
          user_code: payload.userCode ?? null,
          expires_at: expiresIn ? new Date(clock.now().getTime() + expiresIn * 1000) : null,
        };
        await db.insertInto('oidc_payloads').values({ model, id: storageId(model, id), ...values })
          .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(values))
          .execute();
      },
      async find(id) {
        if (!lookable(id)) return undefined;
        return toPayload(await live().where('id', '=', storageId(model, id)).executeTakeFirst(), id);
      },
      async findByUid(uid) {
        if (!lookable(uid)) return undefined;
        return toPayload(await live().where('uid', '=', uid).executeTakeFirst());
      },
      async findByUserCode(userCode) {
        if (!lookable(userCode)) return undefined;
        return toPayload(await live().where('user_code', '=', userCode).executeTakeFirst());
      },
      async consume(id) {
        const result = await db.updateTable('oidc_payloads').set({ consumed_at: clock.now() })
          .where('model', '=', model).where('id', '=', storageId(model, id)).where('consumed_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new errors.InvalidGrant('grant request is invalid');
      },
      async destroy(id) {
        if (model === 'Grant') await options.grantDestroyed?.(id);
        await db.deleteFrom('oidc_payloads').where('model', '=', model).where('id', '=', storageId(model, id)).execute();
      },
      async revokeByGrantId(grantId) {
        await db.deleteFrom('oidc_payloads').where('model', '=', model).where('grant_id', '=', grantId).execute();
      },
    };
  };
}

/** The provider's routes where a registered client reads, replaces or deletes its registration (RFC 7592). */
const MANAGEMENT_ROUTES = new Set(['client', 'client_update', 'client_delete']);

/** Applications' clients are managed through the applications API; the provider writes only clients that registered themselves. */
function clientAdapter(clients: ClientStore, hooks: AdapterHooks): Adapter {
  const readOnly = async () => { throw new Error('clients are managed through the applications API'); };
  return {
    async find(id) {
      hooks.guardClient?.(id);
      const found = await clients.lookup(id);
      // A registered client managing itself (RFC 7592) while suspended or its owner inactive: refused,
      // not "not found", which would make the provider destroy its registration access token.
      if (found && found.standing !== 'ok' && MANAGEMENT_ROUTES.has(String(Provider.ctx?.oidc?.route))) {
        throw new errors.InvalidRequest('this client cannot manage its registration while it is suspended', 403);
      }
      return found?.standing === 'ok' ? found.record.metadata as AdapterPayload : undefined;
    },
    upsert: hooks.registeredClients ? (id, payload) => hooks.registeredClients!.save(id, payload as Record<string, unknown>) : readOnly,
    destroy: hooks.registeredClients ? (id) => hooks.registeredClients!.remove(id) : readOnly,
    consume: readOnly, revokeByGrantId: readOnly,
    findByUid: async () => undefined, findByUserCode: async () => undefined,
  };
}

/** Deletes a grant and everything issued under it (codes, refresh tokens, ...). */
export async function revokeGrantArtifacts(db: Kysely<Database>, grantId: string): Promise<void> {
  await db.deleteFrom('oidc_payloads')
    .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
    .execute();
}

/** Removes expired artifacts (run in the background). */
export async function sweepExpiredOidcPayloads(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
