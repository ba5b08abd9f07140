import { createApplicationQueries, deleteApplication } from '../applications/queries.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { seal } from '../crypto/seal.js';
import { keyedHash, randomToken } from '../crypto/tokens.js';
import type { RegistrationTokenRow } from '../db/types.js';
import { NotFound } from '../http/errors.js';
import { createClientQueries } from '../oidc/client-queries.js';
import { sweepOrphanedRegistrationAccessTokens } from './queries.js';
import { sealingContext, type ClientStore } from '../oidc/clients.js';
import type { RateLimits } from '../rate-limits/service.js';
import type { SettingsService } from '../settings/service.js';

const DAY_MS = 24 * 3600 * 1000;
/** A registered client nobody has authorized is deleted after this long. */
const UNCLAIMED_CLIENT_TTL_MS = DAY_MS;
const TOKEN_PREFIX = 'rat_';

export function renderRegistrationToken(row: RegistrationTokenRow) {
  return { id: row.id, name: row.name, expiresAt: row.expires_at.toISOString(), registrations: row.registrations, createdAt: row.created_at.toISOString() };
}

/** Whether a registration request may go on, and under which rule (see `admission`). */
export type Admission = { allowConfidential: boolean; tokenId?: string } | { refused: 'token_required' } | { refused: 'rate_limited'; retryAfter: number };

/** An application's name from a client's own (names are at most 100 characters, like the console's). */
const applicationName = (metadata: Record<string, unknown>) => String(metadata.client_name ?? 'Registered client').slice(0, 100);

const clientTarget = (clientId: string) => ({ targetType: 'oauth_client', targetId: clientId });

/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592), behind oidc-provider's
 * registration endpoints: who may register (`admitRegistration`), where registered clients are
 * kept (`save`, `remove`, the provider's Client adapter), and how one becomes an application
 * (`claim`, when a developer first authorizes it). Initial access tokens are administrators'.
 */
export function createClientRegistration(ctx: AppContext, deps: {
  audit: AuditService; clients: ClientStore; settings: SettingsService; rateLimits: RateLimits;
}) {
  const tokenHash = (token: string) => keyedHash(ctx.keys.lookup, `registration-token:${token}`);

  /** The id of the live initial access token the request carries, if it does. */
  async function liveToken(bearer: string | undefined): Promise<string | undefined> {
    if (!bearer?.startsWith(TOKEN_PREFIX) || bearer.length > 200) return undefined;
    const row = await ctx.db.selectFrom('registration_tokens').select('id')
      .where('token_hash', '=', tokenHash(bearer)).where('expires_at', '>', ctx.clock.now()).executeTakeFirst();
    return row?.id;
  }

  return {
    /**
     * Whether a registration may go on: with a live initial access token always; without one only
     * while registration is open, and within the per-address limit.
     */
    async admission(bearer: string | undefined, ip: string | null): Promise<Admission> {
      const settings = await deps.settings.get();
      const tokenId = await liveToken(bearer);
      if (tokenId) return { allowConfidential: settings.confidentialClientRegistration, tokenId };
      if (settings.clientRegistration !== 'open') return { refused: 'token_required' };
      const retryAfter = await deps.rateLimits.clientRegistrationRetryAfter(ip);
      if (retryAfter !== undefined) return { refused: 'rate_limited', retryAfter };
      return { allowConfidential: settings.confidentialClientRegistration };
    },

    /**
     * The Client adapter's upsert: a new registration (counted against the initial access token it
     * came with, if any), or a registered client's own update (RFC 7592).
     */
    async save(actor: Actor, clientId: string, payload: Record<string, unknown>, tokenId?: string): Promise<void> {
      const { client_secret: secret, ...metadata } = payload;
      await ctx.db.transaction().execute(async (trx) => {
        const existing = await createClientQueries(trx).findForUpdate(clientId);
        if (existing && !existing.registered_at) throw new Error('only registered clients are saved through the provider');
        const details = { clientName: metadata.client_name ?? null, redirectUris: metadata.redirect_uris };
        if (existing) {
          // The secret stays: an update cannot change the authentication method (policy.ts).
          await deps.clients.update(trx, clientId, { metadata });
          if (existing.application_id && typeof metadata.client_name === 'string') {
            await createApplicationQueries(trx).update(existing.application_id, { name: applicationName(metadata) }, ctx.clock.now());
          }
          await deps.audit.record(trx, actor, { action: 'client.registration_updated', ...clientTarget(clientId), details });
          return;
        }
        await createClientQueries(trx).insert({
          clientId, applicationId: null, accountId: null, consumerId: null, metadata, registeredAt: ctx.clock.now(),
          sealedSecret: typeof secret === 'string' ? seal(ctx.keys.seal, secret, sealingContext(clientId)) : null,
        });
        if (tokenId) await trx.updateTable('registration_tokens').set((eb) => ({ registrations: eb('registrations', '+', 1) })).where('id', '=', tokenId).execute();
        await deps.audit.record(trx, actor, { action: 'client.registered', ...clientTarget(clientId), details: { ...details, registrationTokenId: tokenId ?? null } });
      });
    },

    /** The Client adapter's destroy: a registered client deletes itself (RFC 7592), with its application. */
    async remove(actor: Actor, clientId: string): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        const row = await createClientQueries(trx).findForUpdate(clientId);
        if (!row?.registered_at) return;
        if (row.application_id) await deleteApplication(trx, deps.clients, { id: row.application_id, clientId });
        else await deps.clients.remove(trx, clientId);
        await deps.audit.record(trx, actor, { action: 'client.deregistered', ...clientTarget(clientId), details: { applicationId: row.application_id } });
      });
    },

    /**
     * A developer authorizes a registered client: the first one to do so owns it from then on (an
     * application in their console, paid for by `consumerId`); every user's choice of consumer
     * is remembered for their own tokens. Nothing happens for other clients.
     */
    async claim(actor: Actor & { accountId: string }, clientId: string, consumerId: string): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        const row = await createClientQueries(trx).findForUpdate(clientId);
        if (!row?.registered_at) return;
        if (!row.application_id) {
          const name = applicationName(row.metadata as Record<string, unknown>);
          const app = await createApplicationQueries(trx).insert({ accountId: actor.accountId, consumerId, name });
          await createClientQueries(trx).setOwner(clientId, { applicationId: app.id, accountId: actor.accountId, consumerId }, ctx.clock.now());
          await deps.audit.record(trx, actor, { action: 'application.claimed', targetType: 'application', targetId: app.id, details: { clientId, name } });
          await deps.clients.changed(trx, clientId);
        }
        await trx.insertInto('client_consumers').values({ client_id: clientId, account_id: actor.accountId, consumer_id: consumerId })
          .onConflict((oc) => oc.columns(['client_id', 'account_id']).doUpdateSet({ consumer_id: consumerId })).execute();
      });
    },

    /**
     * The sweep: registered clients nobody authorized within a day are deleted, and registration
     * access tokens (which never expire) of clients that are gone, however they went.
     */
    async sweepUnclaimed(): Promise<number> {
      const cutoff = new Date(ctx.clock.now().getTime() - UNCLAIMED_CLIENT_TTL_MS);
      return ctx.db.transaction().execute(async (trx) => {
        const gone = await createClientQueries(trx).deleteUnclaimed(cutoff);
        if (gone.length) await deps.clients.publish(trx, gone.map((r) => r.client_id));
        await sweepOrphanedRegistrationAccessTokens(trx);
        return gone.length;
      });
    },

    /** Admin: a new initial access token, shown only in this answer. */
    async issueToken(actor: Actor, input: { name: string; expiresInDays: number }) {
      const token = randomToken(TOKEN_PREFIX, 32);
      const row = await ctx.db.transaction().execute(async (trx) => {
        const inserted = await trx.insertInto('registration_tokens').values({
          name: input.name, token_hash: tokenHash(token), expires_at: new Date(ctx.clock.now().getTime() + input.expiresInDays * DAY_MS),
        }).returningAll().executeTakeFirstOrThrow();
        await deps.audit.record(trx, actor, { action: 'registration_token.issued', targetType: 'registration_token', targetId: inserted.id, details: { name: input.name, expiresAt: inserted.expires_at.toISOString() } });
        return inserted;
      });
      return { ...renderRegistrationToken(row), token };
    },

    async listTokens() {
      const rows = await ctx.db.selectFrom('registration_tokens').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
      return { items: rows.map(renderRegistrationToken) };
    },

    async revokeToken(actor: Actor, id: string): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        const gone = await trx.deleteFrom('registration_tokens').where('id', '=', id).returning(['id', 'name']).executeTakeFirst();
        if (!gone) throw new NotFound('registration token');
        await deps.audit.record(trx, actor, { action: 'registration_token.revoked', targetType: 'registration_token', targetId: id, details: { name: gone.name } });
      });
    },
  };
}
export type ClientRegistration = ReturnType<typeof createClientRegistration>;
