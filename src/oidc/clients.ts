import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { AccountService } from '../accounts/service.js';
import { isLoopbackRedirect, loopbackHttpAllowed } from '../applications/schemas.js';
import type { SettingsService } from '../settings/service.js';
import type { AppContext } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import { randomToken } from '../crypto/tokens.js';
import type { Database } from '../db/types.js';
import { cacheStats } from '../ops/metrics/stats.js';
import { createClientQueries } from './client-queries.js';

const TOPIC = 'oauth_clients';
/** Associated data of a sealed client secret (exported for the bench's scale seed). */
export const sealingContext = (clientId: string) => `oauth_clients:${clientId}`;

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
  /** A tenant client's organization; null for every other client. */
  tenantId: string | null;
  /** False while the organization has disabled a tenant client's install. */
  installEnabled: boolean;
  /** The client registered itself (RFC 7591): its users' tokens carry the consumer each of them chose. */
  registered: boolean;
}

/**
 * Why a known client may not act: its owner is not active, an admin suspended its application,
 * or (a tenant client) the organization disabled the install.
 */
export type ClientStanding = 'ok' | 'owner_inactive' | 'suspended' | 'install_disabled';

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
  const stats = cacheStats(() => cache.size);
  // Bumped on every change: a load that raced with a change is not cached (it may be stale).
  let generation = 0;
  const drop = (clientIds: string[]) => { generation += 1; for (const id of clientIds) cache.delete(id); };
  const dropAll = () => { generation += 1; cache.clear(); };
  // Settings decide which redirect URIs count (the loopback exception).
  const ready = Promise.all([
    // `{clientIds}`; `{clientId}` from a node of the version before tenant clients, during an upgrade.
    ctx.bus.subscribe(TOPIC, (payload) => drop(Array.isArray(payload.clientIds) ? payload.clientIds.map(String) : [String(payload.clientId)])),
    ctx.bus.subscribe('settings', dropAll),
  ]);
  ctx.bus.onReset(dropAll);

  async function load(clientId: string): Promise<ClientRecord | 'missing'> {
    const row = await createClientQueries(ctx.db).find(clientId);
    if (!row) return 'missing';
    // A registered client is a native app or agent: its loopback redirect URIs (RFC 8252) count at every stage.
    const registered = row.registered_at !== null;
    const allowLoopbackHttp = registered || loopbackHttpAllowed(row.stage, (await deps.settings.get()).allowLoopbackHttpRedirects);
    // A tenant client is its application's own client under another id and secret, for one organization.
    const tenant = row.install_id !== null;
    const shared = tenant
      ? { metadata: row.main_metadata ?? {}, accountId: row.main_account_id, consumerId: row.main_consumer_id, firstParty: row.main_first_party ?? false }
      : { metadata: row.metadata, accountId: row.account_id, consumerId: row.consumer_id, firstParty: row.first_party };
    const metadata: Record<string, unknown> = { ...toProviderMetadata(shared.metadata, allowLoopbackHttp), client_id: row.client_id };
    if (tenant) {
      // Its users' logins and their refreshes only: the application's own client does client_credentials.
      metadata.grant_types = (metadata.grant_types as string[]).filter((g) => g !== 'client_credentials');
      metadata.tenant_id = row.tenant_id;
    }
    if (row.sealed_secret) metadata.client_secret = unseal(ctx.keys.seal, row.sealed_secret, sealingContext(row.client_id));
    return {
      metadata, accountId: shared.accountId, consumerId: shared.consumerId, applicationId: row.application_id, firstParty: shared.firstParty,
      stage: row.stage, dailyQuota: row.daily_quota, suspended: row.suspended_at !== null,
      tenantId: row.tenant_id, installEnabled: row.install_enabled ?? true, registered,
    };
  }

  /**
   * Tells every node (this one at once) that clients changed. A change to an application's own
   * client reaches its tenant clients too, which share its settings.
   */
  async function changed(trx: Kysely<Database>, clientId: string) {
    const queries = createClientQueries(trx);
    const applicationId = (await queries.find(clientId))?.application_id;
    const clientIds = applicationId ? (await queries.clientIdsOf({ applicationId })).map((r) => r.client_id) : [clientId];
    await publish(trx, clientIds.includes(clientId) ? clientIds : [clientId, ...clientIds]);
  }

  async function publish(trx: Kysely<Database>, clientIds: string[]) {
    if (clientIds.length === 0) return;
    await ctx.bus.publish(trx, TOPIC, { clientIds });
    drop(clientIds);
  }

  return {
    ready,
    /** Lookups answered from memory or not, read by /metrics. */
    stats,
    /** The client whatever its standing, and its standing; undefined for an unknown client. */
    async lookup(clientId: string): Promise<{ record: ClientRecord; standing: ClientStanding } | undefined> {
      if (clientId.length > 200 || clientId.includes('\u0000')) return undefined;
      let record = cache.get(clientId);
      if (record !== undefined) stats.hits += 1;
      else {
        stats.misses += 1;
        const loadedAt = generation;
        record = await load(clientId);
        if (loadedAt === generation) cache.set(clientId, record);
      }
      if (record === 'missing') return undefined;
      if (record.accountId && !(await deps.accounts.isActive(record.accountId))) return { record, standing: 'owner_inactive' };
      return { record, standing: record.suspended ? 'suspended' : record.installEnabled ? 'ok' : 'install_disabled' };
    },

    /** The client with its owner in good standing and its application not suspended, or undefined. */
    async find(clientId: string): Promise<ClientRecord | undefined> {
      const found = await this.lookup(clientId);
      return found?.standing === 'ok' ? found.record : undefined;
    },

    /** Tells every node that a client's application changed (stage, quota, suspension). */
    changed,

    /** Tells every node that these clients changed or are gone. */
    publish,

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
      await changed(trx, clientId); // first: it finds the tenant clients that go with it
      await createClientQueries(trx).delete(clientId);
    },

    /** Creates the tenant client of an install; its secret is stored sealed only. */
    async createForInstall(trx: Kysely<Database>, install: { id: string; applicationId: string }) {
      const clientId = randomToken('', 16);
      await createClientQueries(trx).insert({
        clientId, applicationId: install.applicationId, accountId: null, consumerId: null, metadata: {}, installId: install.id,
        sealedSecret: seal(ctx.keys.seal, randomToken('', 32), sealingContext(clientId)),
      });
      return clientId;
    },

    /** The tenant client of an application in an organization, if it is installed there. */
    async tenantClientId(applicationId: string, organizationId: string): Promise<string | undefined> {
      return (await createClientQueries(ctx.db).tenantClientId(applicationId, organizationId))?.client_id;
    },

    /** Tells every node that installs changed (enabled, disabled, about to be deleted). */
    async installsChanged(trx: Kysely<Database>, installIds: string[]) {
      await publish(trx, (await createClientQueries(trx).clientIdsOf({ installIds })).map((r) => r.client_id));
    },
  };
}
export type ClientStore = ReturnType<typeof createClientStore>;
