import type { AuditService } from '../audit/service.js';
import type { ConsumerService } from '../consumers/service.js';
import type { Actor, AppContext } from '../context.js';
import { Conflict, NotFound, ValidationFailed } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { ClientStore } from '../oidc/clients.js';
import { createApplicationQueries, type ApplicationWithClient } from './queries.js';
import { GRANT_TYPES, isLoopbackRedirect, type CreateApplication, type UpdateApplication } from './schemas.js';

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
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
export type Application = ReturnType<typeof renderApplication>;

/** Rules of section 3 that depend on more than one field, or on the stage. */
function checkClientFields(fields: ClientFields, stage: string): void {
  const errors: Array<{ path: string; message: string }> = [];
  fields.redirectUris.forEach((uri, i) => {
    const http = new URL(uri).protocol === 'http:';
    if (http && (stage !== 'development' || !isLoopbackRedirect(uri))) {
      errors.push({ path: `body.redirectUris.${i}`, message: 'must be https (http only for localhost, 127.0.0.1 or [::1] while in development)' });
    }
  });
  // The server fetches jwks_uri itself: http only for a loopback host, and only in development.
  if (fields.jwksUri && new URL(fields.jwksUri).protocol === 'http:' && (stage !== 'development' || !isLoopbackRedirect(fields.jwksUri))) {
    errors.push({ path: 'body.jwksUri', message: 'must be https (http only for localhost, 127.0.0.1 or [::1] while in development)' });
  }
  if (fields.tokenEndpointAuthMethod === 'private_key_jwt' && !fields.jwksUri) {
    errors.push({ path: 'body.jwksUri', message: 'is required with private_key_jwt' });
  }
  if (errors.length) throw new ValidationFailed(errors);
}

export function createApplicationService(ctx: AppContext, deps: {
  audit: AuditService; consumers: ConsumerService; clients: ClientStore;
  /** oidc-provider's own validation of client metadata; throws ValidationFailed. */
  validateClient: (metadata: Record<string, unknown>) => Promise<void>;
}) {
  const queries = createApplicationQueries(ctx.db);

  async function owned(accountId: string, id: string): Promise<ApplicationWithClient> {
    const row = await queries.findOwned(accountId, id);
    if (!row) throw new NotFound('application');
    return row;
  }

  return {
    async create(actor: Actor & { accountId: string }, input: CreateApplication) {
      const fields: ClientFields = {
        name: input.name,
        redirectUris: input.redirectUris ?? [],
        grantTypes: input.grantTypes ?? [...GRANT_TYPES],
        tokenEndpointAuthMethod: input.tokenEndpointAuthMethod ?? 'client_secret_basic',
        jwksUri: input.jwksUri,
      };
      checkClientFields(fields, 'development');
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
      checkClientFields(fields, current.stage);
      const metadata = toClientMetadata(fields);
      await deps.validateClient(metadata);
      await ctx.db.transaction().execute(async (trx) => {
        if (changes.name) await createApplicationQueries(trx).rename(id, changes.name, ctx.clock.now());
        await deps.clients.update(trx, current.clientId, { metadata });
        await deps.audit.record(trx, actor, { action: 'application.updated', targetType: 'application', targetId: id, details: { fields: Object.keys(changes) } });
      });
      return renderApplication(await owned(actor.accountId, id));
    },

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
        await deps.clients.remove(trx, current.client_id);
        await createApplicationQueries(trx).delete(id);
        await deps.audit.record(trx, actor, { action: 'application.deleted', targetType: 'application', targetId: id, details: { clientId: current.client_id } });
      });
    },
  };
}
export type ApplicationService = ReturnType<typeof createApplicationService>;
