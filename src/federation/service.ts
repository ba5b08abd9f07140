import { randomUUID } from 'node:crypto';
import type * as oidc from 'openid-client';
import type { AccountService, Account } from '../accounts/service.js';
import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import type { IdentityProviderRow } from '../db/types.js';
import { Conflict, NotFound, PorticoError, ValidationFailed } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import { uuid } from '../http/validate.js';
import { createFederationQueries, type ProviderValues } from './queries.js';
import type { CreateProvider, UpdateProvider } from './schemas.js';
import { usernameBaseOf } from './usernames.js';
import { createUpstream } from './upstream.js';

/** Published when a provider changes, so every node drops the client it built from the old row. */
export const IDENTITY_PROVIDER_TOPIC = 'identity_providers';

/** Discovered metadata is refreshed at least this often, even if the row does not change. */
const CLIENT_MAX_AGE_MS = 60 * 60_000;

const sealingContext = (id: string) => `identity_providers:${id}`;

/** The address this provider sends users back to: what the admin registers upstream. */
export const callbackPath = (slug: string) => `/sso/${slug}/callback`;

/** A sign-in refused for the person (not the request): the callback's page says why. */
export class SsoRefused extends PorticoError {
  constructor(detail: string) { super(403, 'sso_refused', 'Sign-in refused', detail); }
}

export async function createFederationService(ctx: AppContext, deps: { audit: AuditService; accounts: AccountService }) {
  const queries = createFederationQueries(ctx.db);
  const upstream = createUpstream({ allowHttp: !ctx.config.production });
  const redirectUriOf = (slug: string) => `${ctx.issuer}${callbackPath(slug)}`;

  function render(row: IdentityProviderRow) {
    return {
      id: row.id, slug: row.slug, name: row.name, issuer: row.issuer, clientId: row.client_id, hasClientSecret: true,
      scopes: row.scopes, enabled: row.enabled, emailDomains: row.email_domains, redirectUri: redirectUriOf(row.slug),
      createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
    };
  }

  // One client per provider, built from its discovered metadata; dropped on every node when the row changes.
  const clients = new Map<string, { builtAt: number; config: Promise<oidc.Configuration> }>();
  await ctx.bus.subscribe(IDENTITY_PROVIDER_TOPIC, (payload) => { clients.delete(String(payload.id)); });
  ctx.bus.onReset(() => clients.clear());

  function clientOf(row: IdentityProviderRow): Promise<oidc.Configuration> {
    const cached = clients.get(row.id);
    if (cached && ctx.clock.now().getTime() - cached.builtAt < CLIENT_MAX_AGE_MS) return cached.config;
    const config = upstream.client({ issuer: row.issuer, clientId: row.client_id, clientSecret: unseal(ctx.keys.seal, row.sealed_client_secret, sealingContext(row.id)) });
    clients.set(row.id, { builtAt: ctx.clock.now().getTime(), config });
    config.catch(() => { if (clients.get(row.id)?.config === config) clients.delete(row.id); }); // failures are not kept
    return config;
  }

  async function find(id: string): Promise<IdentityProviderRow> {
    const row = uuid.safeParse(id).success ? await queries.findBy('id', id) : undefined;
    if (!row) throw new NotFound('identity provider');
    return row;
  }

  function checkIssuer(issuer: string): void {
    if (ctx.config.production && !issuer.startsWith('https:')) {
      throw new ValidationFailed([{ path: 'body.issuer', message: 'must be https in production' }]);
    }
  }

  /** An enabled provider must be usable when saved: its discovery is fetched and checked (422 otherwise). */
  async function checkDiscovery(values: { issuer: string; enabled: boolean }): Promise<void> {
    if (values.enabled) await upstream.discover(values.issuer);
  }

  async function write<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (isUniqueViolation(err, 'identity_providers_slug_key')) throw new Conflict('Another identity provider already has this slug.', { field: 'slug' });
      throw err;
    }
  }

  return {
    redirectUriOf,

    async list(page: { cursor?: Cursor; limit: number }) {
      return toPage(await queries.list(page), page.limit, (r) => ({ at: r.created_at, id: r.id }), render);
    },

    async get(id: string) {
      return render(await find(id));
    },

    /** The login pages' buttons. */
    enabledProviders(): Promise<Array<{ slug: string; name: string }>> {
      return queries.listEnabled();
    },

    async create(actor: Actor, input: CreateProvider) {
      checkIssuer(input.issuer);
      await checkDiscovery(input);
      const id = randomUUID();
      const { clientSecret, ...rest } = input;
      const values: ProviderValues = { ...rest, sealedClientSecret: seal(ctx.keys.seal, clientSecret, sealingContext(id)) };
      const row = await write(() => ctx.db.transaction().execute(async (trx) => {
        const created = await createFederationQueries(trx).insert(id, values);
        await deps.audit.record(trx, actor, { action: 'identity_provider.created', targetType: 'identity_provider', targetId: id,
          details: { slug: created.slug, issuer: created.issuer, enabled: created.enabled } });
        return created;
      }));
      return render(row);
    },

    async update(actor: Actor, id: string, changes: UpdateProvider) {
      const current = await find(id);
      if (changes.issuer) checkIssuer(changes.issuer);
      await checkDiscovery({ issuer: changes.issuer ?? current.issuer, enabled: changes.enabled ?? current.enabled });
      const { clientSecret, ...rest } = changes;
      const values: Partial<ProviderValues> = { ...rest, ...(clientSecret ? { sealedClientSecret: seal(ctx.keys.seal, clientSecret, sealingContext(id)) } : {}) };
      const row = await ctx.db.transaction().execute(async (trx) => {
        const updated = await createFederationQueries(trx).update(id, values, ctx.clock.now());
        if (!updated) throw new NotFound('identity provider');
        // The names of the fields only: a new secret never enters the log.
        await deps.audit.record(trx, actor, { action: 'identity_provider.updated', targetType: 'identity_provider', targetId: id,
          details: { slug: updated.slug, fields: Object.keys(changes) } });
        await ctx.bus.publish(trx, IDENTITY_PROVIDER_TOPIC, { id });
        return updated;
      });
      clients.delete(id); // at once on this node; the others on the notification
      return render(row);
    },

    /** Refused while accounts are linked to the provider (they would lose their only way in): disable it instead. */
    async remove(actor: Actor, id: string): Promise<void> {
      await find(id);
      try {
        await ctx.db.transaction().execute(async (trx) => {
          const deleted = await createFederationQueries(trx).delete(id);
          if (!deleted) throw new NotFound('identity provider');
          await deps.audit.record(trx, actor, { action: 'identity_provider.deleted', targetType: 'identity_provider', targetId: id, details: { slug: deleted.slug } });
          await ctx.bus.publish(trx, IDENTITY_PROVIDER_TOPIC, { id });
        });
      } catch (err) {
        if (!isForeignKeyViolation(err)) throw err;
        throw new Conflict(`${await queries.countLinks(id)} account(s) sign in with this identity provider; disable it instead.`);
      }
      clients.delete(id);
    },

    /** An enabled provider by slug, for a sign-in; 404 for an unknown or disabled one. */
    async enabledBySlug(slug: string): Promise<IdentityProviderRow> {
      const row = await queries.findBy('slug', slug);
      if (!row?.enabled) throw new NotFound('identity provider');
      return row;
    },

    clientOf,
    upstream,

    /**
     * The account of a verified upstream identity: the one linked to (provider, subject), else a new
     * one, active at once (federated accounts skip approval), never matched by email. A banned
     * account stays banned whatever the provider says.
     */
    async signIn(actor: Actor, provider: IdentityProviderRow, claims: Record<string, unknown> & { sub: string }): Promise<Account> {
      const email = typeof claims.email === 'string' && claims.email.length <= 254 ? claims.email : null;
      const domains = provider.email_domains;
      if (domains.length > 0 && (!email || claims.email_verified === false || !domains.includes(email.slice(email.lastIndexOf('@') + 1).toLowerCase()))) {
        throw new SsoRefused(`${provider.name} may sign in only addresses of ${domains.join(', ')}.`);
      }
      const linked = async () => (await queries.findLink(provider.id, claims.sub))?.account_id;
      const existing = await linked();
      if (existing) return deps.accounts.requireActive(existing);
      try {
        return await deps.accounts.createFederated(actor, {
          usernameBase: usernameBaseOf(claims), email, emailVerified: Boolean(email) && claims.email_verified === true,
          details: { via: 'sso', provider: provider.slug },
        }, async (trx, accountId) => { await createFederationQueries(trx).insertLink({ providerId: provider.id, subject: claims.sub, accountId }); });
      } catch (err) {
        // The same person's first login in two tabs at once: the other request made the account.
        const raced = isUniqueViolation(err, 'federated_identities_pkey') ? await linked() : undefined;
        if (raced) return deps.accounts.requireActive(raced);
        throw err;
      }
    },
  };
}
export type FederationService = Awaited<ReturnType<typeof createFederationService>>;
