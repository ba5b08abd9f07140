import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { AccountService } from '../accounts/service.js';
import { isLoopbackRedirect, loopbackHttpAllowed } from '../applications/schemas.js';
import type { SettingsService } from '../settings/service.js';
import type { AppContext } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import { randomToken } from '../crypto/tokens.js';
import type { Database } from '../db/types.js';
import { createClientQueries } from './client-queries.js';

const TOPIC = 'oauth_clients';
const sealingContext = (clientId: string) => `oauth_clients:${clientId}`;

/**
 * What the provider is told of a client: an application may declare authorization_code (and
 * refresh_token) before it has a redirect URI; until it has one, those grants are not usable.
 * `http` redirect URIs (loopback only) count only while `allowLoopbackHttp` (development, or the
 * admin's exception): an application past development that kept one cannot use it.
 */
export function toProviderMetadata(metadata: Record<string, unknown>, allowLoopbackHttp = true): Record<string, unknown> {
  const redirectUris = ((metadata.redirect_uris as string[] | undefined) ?? [])
    .filter((uri) => allowLoopbackHttp || !isLoopbackRedirect(uri));
  const declared = (metadata.grant_types as string[] | undefined) ?? [];
  const grantTypes = redirectUris.length > 0 ? declared : declared.filter((g) => g === 'client_credentials');
  return { ...metadata, redirect_uris: redirectUris, grant_types: grantTypes, response_types: grantTypes.includes('authorization_code') ? ['code'] : [] };
}

/** A client as the provider and the token claims need it, secret unsealed (in memory only). */
export interface ClientRecord {
  metadata: Record<string, unknown>;
  accountId: string | null;
  consumerId: string | null;
  applicationId: string | null;
  firstParty: boolean;
  /** The application's stage and daily quota; null for a client without an application. */
  stage: string | null;
  dailyQuota: number | null;
  suspended: boolean;
}

/** Why a known client may not act: its owner is not active, or an admin suspended its application. */
export type ClientStanding = 'ok' | 'owner_inactive' | 'suspended';

export interface NewClient {
  applicationId: string | null;
  accountId: string | null;
  consumerId: string | null;
  metadata: Record<string, unknown>;
}

/**
 * The OAuth clients oidc-provider serves. `find` runs on every token request, so clients are
 * held in memory and dropped on every node when one changes (NOTIFY). A client whose owner is
 * not active (banned, pending) or whose application is suspended is not found: it gets no new
 * tokens.
 */
export function createClientStore(ctx: AppContext, deps: { accounts: AccountService; settings: SettingsService }) {
  const cache = new LRUCache<string, ClientRecord | 'missing'>({ max: 10_000 });
  // Bumped on every change: a load that raced with a change is not cached (it may be stale).
  let generation = 0;
  const drop = (clientId: string) => { generation += 1; cache.delete(clientId); };
  const dropAll = () => { generation += 1; cache.clear(); };
  // Settings decide which redirect URIs count (the loopback exception).
  const ready = Promise.all([ctx.bus.subscribe(TOPIC, (payload) => drop(String(payload.clientId))), ctx.bus.subscribe('settings', dropAll)]);
  ctx.bus.onReset(dropAll);

  async function load(clientId: string): Promise<ClientRecord | 'missing'> {
    const row = await createClientQueries(ctx.db).find(clientId);
    if (!row) return 'missing';
    const allowLoopbackHttp = loopbackHttpAllowed(row.stage, (await deps.settings.get()).allowLoopbackHttpRedirects);
    const metadata: Record<string, unknown> = { ...toProviderMetadata(row.metadata, allowLoopbackHttp), client_id: row.client_id };
    if (row.sealed_secret) metadata.client_secret = unseal(ctx.keys.seal, row.sealed_secret, sealingContext(row.client_id));
    return {
      metadata, accountId: row.account_id, consumerId: row.consumer_id, applicationId: row.application_id, firstParty: row.first_party,
      stage: row.stage, dailyQuota: row.daily_quota, suspended: row.suspended_at !== null,
    };
  }

  /** Tells every node (this one at once) that a client changed. */
  async function changed(trx: Kysely<Database>, clientId: string) {
    await ctx.bus.publish(trx, TOPIC, { clientId });
    drop(clientId);
  }

  return {
    ready,
    /** The client whatever its standing, and its standing; undefined for an unknown client. */
    async lookup(clientId: string): Promise<{ record: ClientRecord; standing: ClientStanding } | undefined> {
      if (clientId.length > 200 || clientId.includes('\u0000')) return undefined;
      let record = cache.get(clientId);
      if (record === undefined) {
        const loadedAt = generation;
        record = await load(clientId);
        if (loadedAt === generation) cache.set(clientId, record);
      }
      if (record === 'missing') return undefined;
      if (record.accountId && !(await deps.accounts.isActive(record.accountId))) return { record, standing: 'owner_inactive' };
      return { record, standing: record.suspended ? 'suspended' : 'ok' };
    },

    /** The client with its owner in good standing and its application not suspended, or undefined. */
    async find(clientId: string): Promise<ClientRecord | undefined> {
      const found = await this.lookup(clientId);
      return found?.standing === 'ok' ? found.record : undefined;
    },

    /** Tells every node that a client's application changed (stage, quota, suspension). */
    changed,

    /** Creates a client with a fresh id and secret; the secret is returned once, stored sealed. */
    async create(trx: Kysely<Database>, client: NewClient, options: { withSecret: boolean }) {
      const clientId = randomToken('', 16);
      const clientSecret = options.withSecret ? randomToken('', 32) : null;
      await createClientQueries(trx).insert({
        clientId, applicationId: client.applicationId, accountId: client.accountId, consumerId: client.consumerId,
        metadata: client.metadata, sealedSecret: clientSecret ? seal(ctx.keys.seal, clientSecret, sealingContext(clientId)) : null,
      });
      return { clientId, clientSecret };
    },

    async update(trx: Kysely<Database>, clientId: string, changes: { metadata?: Record<string, unknown>; consumerId?: string; firstParty?: boolean }) {
      await createClientQueries(trx).update(clientId, changes, ctx.clock.now());
      await changed(trx, clientId);
    },

    async rotateSecret(trx: Kysely<Database>, clientId: string): Promise<string> {
      const clientSecret = randomToken('', 32);
      await createClientQueries(trx).update(clientId, { sealedSecret: seal(ctx.keys.seal, clientSecret, sealingContext(clientId)) }, ctx.clock.now());
      await changed(trx, clientId);
      return clientSecret;
    },

    async remove(trx: Kysely<Database>, clientId: string) {
      await createClientQueries(trx).delete(clientId);
      await changed(trx, clientId);
    },
  };
}
export type ClientStore = ReturnType<typeof createClientStore>;
