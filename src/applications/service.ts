import type { Kysely } from 'kysely';
import type { AccountService } from '../accounts/service.js';
import type { AuditService } from '../audit/service.js';
import type { ConsumerService } from '../consumers/service.js';
import type { Actor, AppContext } from '../context.js';
import type { Database } from '../db/types.js';
import { Conflict, NotFound, ValidationFailed } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { ClientStore } from '../oidc/clients.js';
import type { SettingsService } from '../settings/service.js';
import type { SubscriptionService } from '../subscriptions/service.js';
import type { UsageCounter } from '../usage/counter.js';
import { usageReport } from '../usage/report.js';
import { createApplicationQueries, deleteApplication, type ApplicationFilter, type ApplicationWithClient } from './queries.js';
import { createQuotaRequestService } from './quota-requests.js';
import { createTenantCredentials, describeMerchantKey } from './tenant-credentials.js';
import { GRANT_TYPES, isLoopbackRedirect, loopbackHttpAllowed, type CreateApplication, type UpdateApplication } from './schemas.js';

interface ClientFields {
  name: string;
  redirectUris: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: string;
  jwksUri?: string | null;
}

function toClientMetadata(fields: ClientFields): Record<string, unknown> {
  return {
    client_name: fields.name,
    redirect_uris: fields.redirectUris,
    grant_types: fields.grantTypes,
    token_endpoint_auth_method: fields.tokenEndpointAuthMethod,
    ...(fields.jwksUri ? { jwks_uri: fields.jwksUri } : {}),
  };
}

export function renderApplication(row: ApplicationWithClient) {
  const m = row.metadata as { redirect_uris: string[]; grant_types: string[]; token_endpoint_auth_method: string; jwks_uri?: string };
  return {
    id: row.id, clientId: row.client_id, name: row.name, stage: row.stage, dailyQuota: row.daily_quota,
    firstParty: row.first_party, consumerId: row.consumer_id, redirectUris: m.redirect_uris, grantTypes: m.grant_types,
    tokenEndpointAuthMethod: m.token_endpoint_auth_method, jwksUri: m.jwks_uri ?? null,
    suspended: row.suspended_at !== null, suspensionReason: row.suspension_reason, reviewNote: row.review_note,
    publicKey: row.public_key ? describeMerchantKey(row.public_key) : null,
    // The client registered itself (RFC 7591) and keeps its own metadata (RFC 7592); its owner may delete it.
    registered: row.registered_at !== null,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
export type Application = ReturnType<typeof renderApplication>;

const isHttp = (uri: string) => new URL(uri).protocol === 'http:';

/** The redirect URIs and JWKS URI an application must change to https before it leaves development. */
function httpUris(app: Application): string[] {
  return [...app.redirectUris, ...(app.jwksUri ? [app.jwksUri] : [])].filter(isHttp);
}

/**
 * Rules of section 3 that depend on more than one field, or on the stage: `allowLoopbackHttp`
 * while in development, or past it under the admin's exception.
 */
function checkClientFields(fields: ClientFields, allowLoopbackHttp: boolean): void {
  const errors: Array<{ path: string; message: string }> = [];
  fields.redirectUris.forEach((uri, i) => {
    if (isHttp(uri) && (!allowLoopbackHttp || !isLoopbackRedirect(uri))) {
      errors.push({ path: `body.redirectUris.${i}`, message: 'must be https (http only for localhost, 127.0.0.1 or [::1] while in development)' });
    }
  });
  // The server fetches jwks_uri itself: http only for a loopback host, like redirect URIs.
  if (fields.jwksUri && isHttp(fields.jwksUri) && (!allowLoopbackHttp || !isLoopbackRedirect(fields.jwksUri))) {
    errors.push({ path: 'body.jwksUri', message: 'must be https (http only for localhost, 127.0.0.1 or [::1] while in development)' });
  }
  if (fields.tokenEndpointAuthMethod === 'private_key_jwt' && !fields.jwksUri) {
    errors.push({ path: 'body.jwksUri', message: 'is required with private_key_jwt' });
  }
  if (errors.length) throw new ValidationFailed(errors);
}

/** A client that registered itself changes its own metadata and secret (RFC 7592), so they agree with what it holds. */
function refuseRegistered(app: Application): void {
  if (app.registered) throw new Conflict('This application registered itself: it changes its own settings through its registration (RFC 7592). You may delete it.');
}

/** A go-live review's decisions: from which stage, to which, and the audit action. */
const REVIEW = {
  approve: { from: 'review', to: 'online', action: 'application.approved' },
  reject: { from: 'review', to: 'development', action: 'application.rejected' },
} as const;

/** The quota of an application that went live (api.md section 4), unless it already has more. */
const ONLINE_DAILY_QUOTA = 100_000;

/** What a transition changes, and how the audit log tells it. */
interface Transition {
  action: string;
  changes: Parameters<ReturnType<typeof createApplicationQueries>['update']>[1];
  details: Record<string, unknown>;
}

export function createApplicationService(ctx: AppContext, deps: {
  audit: AuditService; consumers: ConsumerService; clients: ClientStore; settings: SettingsService; usage: UsageCounter;
  accounts: AccountService; subscriptions: SubscriptionService;
  /** oidc-provider's own validation of client metadata; throws ValidationFailed. */
  validateClient: (metadata: Record<string, unknown>) => Promise<void>;
}) {
  const queries = createApplicationQueries(ctx.db);

  async function owned(accountId: string, id: string): Promise<ApplicationWithClient> {
    const row = await queries.findOwned(accountId, id);
    if (!row) throw new NotFound('application');
    return row;
  }

  /** Leaving development (go-live, approval) needs https everywhere, unless the admin's exception is on. */
  async function requireHttps(app: Application): Promise<void> {
    const uris = httpUris(app);
    if (uris.length > 0 && !(await deps.settings.get()).allowLoopbackHttpRedirects) {
      throw new Conflict(`Past development, redirect URIs and the JWKS URI must be https; change these first: ${uris.join(', ')}.`, { httpUris: uris });
    }
  }

  /**
   * Locks the application, lets `decide` check it and say what changes, then writes the change
   * with its audit event, and tells every node's client cache (it holds stage, quota, suspension).
   */
  async function transition(actor: Actor, id: string, ownerId: string | null, decide: (current: ApplicationWithClient) => Promise<Transition> | Transition) {
    await ctx.db.transaction().execute(async (trx) => {
      const inTrx = createApplicationQueries(trx);
      const current = await inTrx.findForUpdate(id);
      if (!current || (ownerId !== null && current.account_id !== ownerId)) throw new NotFound('application');
      const { action, changes, details } = await decide(current);
      await inTrx.update(id, changes, ctx.clock.now());
      await deps.audit.record(trx, actor, { action, targetType: 'application', targetId: id, details });
      await deps.clients.changed(trx, current.client_id);
    });
    return renderApplication((await queries.findById(id))!);
  }

  /** Rows with the owner's username, for administrators. */
  async function withOwners(rows: ApplicationWithClient[]) {
    const usernames = await deps.accounts.usernamesByIds(rows.map((r) => r.account_id));
    return (row: ApplicationWithClient) => ({ ...renderApplication(row), accountId: row.account_id, username: usernames.get(row.account_id) ?? null });
  }

  async function listAll(filter: ApplicationFilter) {
    const rows = await queries.list(filter);
    return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), await withOwners(rows));
  }

  /** Sets the daily quota in the caller's transaction (a granted quota request). */
  async function setDailyQuota(trx: Kysely<Database>, id: string, dailyQuota: number): Promise<void> {
    const current = await createApplicationQueries(trx).findForUpdate(id);
    if (!current) throw new NotFound('application');
    await createApplicationQueries(trx).update(id, { daily_quota: dailyQuota }, ctx.clock.now());
    await deps.clients.changed(trx, current.client_id);
  }

  const quotaRequests = createQuotaRequestService(ctx, { ...deps, owned, setDailyQuota });

  return {
    async create(actor: Actor & { accountId: string }, input: CreateApplication) {
      const fields: ClientFields = {
        name: input.name,
        redirectUris: input.redirectUris ?? [],
        grantTypes: input.grantTypes ?? [...GRANT_TYPES],
        tokenEndpointAuthMethod: input.tokenEndpointAuthMethod ?? 'client_secret_basic',
        jwksUri: input.jwksUri,
      };
      checkClientFields(fields, true); // a new application is in development
      const metadata = toClientMetadata(fields);
      await deps.validateClient(metadata);
      const consumer = await deps.consumers.resolveOwned(actor.accountId, input.consumerId);
      const { id, secret } = await ctx.db.transaction().execute(async (trx) => {
        const app = await createApplicationQueries(trx).insert({ accountId: actor.accountId, consumerId: consumer.id, name: fields.name });
        const client = await deps.clients.create(trx, { applicationId: app.id, accountId: actor.accountId, consumerId: consumer.id, metadata },
          { withSecret: fields.tokenEndpointAuthMethod !== 'private_key_jwt' });
        await deps.audit.record(trx, actor, { action: 'application.created', targetType: 'application', targetId: app.id, details: { clientId: client.clientId, name: fields.name } });
        return { id: app.id, secret: client.clientSecret };
      });
      return { ...renderApplication(await owned(actor.accountId, id)), clientSecret: secret };
    },

    async get(accountId: string, id: string): Promise<Application> {
      return renderApplication(await owned(accountId, id));
    },

    async list(accountId: string, filter: { cursor?: Cursor; limit: number }) {
      const rows = await queries.listOwned(accountId, filter);
      return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), renderApplication);
    },

    async update(actor: Actor & { accountId: string }, id: string, changes: UpdateApplication): Promise<Application> {
      const current = renderApplication(await owned(actor.accountId, id));
      refuseRegistered(current);
      const secretBased = (method: string) => method !== 'private_key_jwt';
      if (changes.tokenEndpointAuthMethod && secretBased(changes.tokenEndpointAuthMethod) !== secretBased(current.tokenEndpointAuthMethod)) {
        throw new Conflict('Switching between a client secret and private_key_jwt needs a new application.');
      }
      const fields: ClientFields = {
        name: changes.name ?? current.name,
        redirectUris: changes.redirectUris ?? current.redirectUris,
        grantTypes: changes.grantTypes ?? current.grantTypes,
        tokenEndpointAuthMethod: changes.tokenEndpointAuthMethod ?? current.tokenEndpointAuthMethod,
        jwksUri: changes.jwksUri === undefined ? current.jwksUri : changes.jwksUri,
      };
      checkClientFields(fields, loopbackHttpAllowed(current.stage, (await deps.settings.get()).allowLoopbackHttpRedirects));
      const metadata = toClientMetadata(fields);
      await deps.validateClient(metadata);
      await ctx.db.transaction().execute(async (trx) => {
        if (changes.name) await createApplicationQueries(trx).update(id, { name: changes.name }, ctx.clock.now());
        await deps.clients.update(trx, current.clientId, { metadata });
        await deps.audit.record(trx, actor, { action: 'application.updated', targetType: 'application', targetId: id, details: { fields: Object.keys(changes) } });
      });
      return renderApplication(await owned(actor.accountId, id));
    },

    /** The owner asks for the go-live review; https is required from here on (api.md section 3). */
    requestGoLive(actor: Actor & { accountId: string }, id: string): Promise<Application> {
      return transition(actor, id, actor.accountId, async (current) => {
        if (current.suspended_at) throw new Conflict('This application is suspended; it cannot go live until an administrator reinstates it.');
        if (current.stage !== 'development') throw new Conflict(`Only an application in development can ask to go live; this one is in ${current.stage}.`, { stage: current.stage });
        await requireHttps(renderApplication(current));
        return { action: 'application.go_live_requested', changes: { stage: 'review', review_note: null }, details: { from: current.stage, to: 'review' } };
      });
    },

    /** Admin: applications by stage and suspension, with their owners' usernames. */
    listAll,

    /**
     * Admin: everything waiting for a decision, 50 of each, newest first: developers and
     * subscriptions (from their service), applications in review and pending quota requests.
     */
    async adminQueue() {
      const [queue, applications, pendingQuotaRequests] = await Promise.all([
        deps.subscriptions.adminQueue(),
        listAll({ stage: 'review', limit: 50 }),
        quotaRequests.list({ status: 'pending', limit: 50 }),
      ]);
      return { ...queue, applications, quotaRequests: pendingQuotaRequests };
    },

    /**
     * Admin: approve or reject a go-live review, suspend or reinstate. A suspension is not a stage
     * (reinstating returns to the stage the application had); its audit event says from and to
     * 'suspended'. The reason shows to the owner on a rejection or a suspension.
     */
    moderate(actor: Actor, id: string, action: 'approve' | 'reject' | 'suspend' | 'reinstate', reason?: string): Promise<Application> {
      const because = reason ? { reason } : {};
      return transition(actor, id, null, async (current) => {
        if (action === 'suspend') {
          if (current.suspended_at) throw new Conflict('This application is already suspended.');
          return { action: 'application.suspended', changes: { suspended_at: ctx.clock.now(), suspension_reason: reason ?? null }, details: { from: current.stage, to: 'suspended', ...because } };
        }
        if (action === 'reinstate') {
          if (!current.suspended_at) throw new Conflict('This application is not suspended.');
          return { action: 'application.reinstated', changes: { suspended_at: null, suspension_reason: null }, details: { from: 'suspended', to: current.stage, ...because } };
        }
        const step = REVIEW[action];
        if (current.stage !== step.from) throw new Conflict(`Only an application in review can be ${action}d; this one is in ${current.stage}.`, { stage: current.stage });
        // The exception may have been turned off since the owner asked.
        if (action === 'approve') await requireHttps(renderApplication(current));
        const changes = action === 'approve'
          ? { stage: step.to, daily_quota: Math.max(current.daily_quota, ONLINE_DAILY_QUOTA) }
          : { stage: step.to, review_note: reason ?? null };
        return { action: step.action, changes, details: { from: current.stage, to: step.to, ...because } };
      });
    },

    /** The owner's view of the application's audit events, newest first (without the actors' addresses). */
    async events(accountId: string, id: string, page: { cursor?: Cursor; limit: number }) {
      await owned(accountId, id);
      const events = await deps.audit.list({ ...page, targetType: 'application', targetId: id });
      return {
        ...events,
        items: events.items.map((e) => ({ id: e.id, occurredAt: e.occurredAt, action: e.action, by: e.actorId === accountId ? 'owner' : 'administrator', details: e.details })),
      };
    },

    /** Calls per UTC day over the last `days` days, today last. */
    async usage(accountId: string, id: string, days: number) {
      const app = await owned(accountId, id);
      return usageReport(deps.usage, { kind: 'application', id }, app.daily_quota, days, ctx.clock.now());
    },

    quotaRequests,
    tenantCredentials: createTenantCredentials(ctx, deps),

    /** Admin: a first-party application skips the consent page. */
    async setFirstParty(actor: Actor, id: string, firstParty: boolean): Promise<Application> {
      const current = await queries.findById(id);
      if (!current) throw new NotFound('application');
      await ctx.db.transaction().execute(async (trx) => {
        await deps.clients.update(trx, current.client_id, { firstParty });
        await deps.audit.record(trx, actor, { action: 'application.first_party_changed', targetType: 'application', targetId: id, details: { from: current.first_party, to: firstParty } });
      });
      return renderApplication((await queries.findById(id))!);
    },

    async rotateSecret(actor: Actor & { accountId: string }, id: string) {
      const current = renderApplication(await owned(actor.accountId, id));
      refuseRegistered(current);
      if (current.tokenEndpointAuthMethod === 'private_key_jwt') throw new Conflict('This application authenticates with private_key_jwt and has no secret.');
      const clientSecret = await ctx.db.transaction().execute(async (trx) => {
        const secret = await deps.clients.rotateSecret(trx, current.clientId);
        await deps.audit.record(trx, actor, { action: 'application.secret_rotated', targetType: 'application', targetId: id });
        return secret;
      });
      return { ...current, clientSecret };
    },

    async remove(actor: Actor & { accountId: string }, id: string): Promise<void> {
      const current = await owned(actor.accountId, id);
      await ctx.db.transaction().execute(async (trx) => {
        await deleteApplication(trx, deps.clients, { id, clientId: current.client_id });
        await deps.audit.record(trx, actor, { action: 'application.deleted', targetType: 'application', targetId: id, details: { clientId: current.client_id } });
      });
    },
  };
}
export type ApplicationService = ReturnType<typeof createApplicationService>;
