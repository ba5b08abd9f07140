import type { Kysely, Updateable } from 'kysely';
import type { ApplicationStage, ApplicationsTable, Database, QuotaRequestStatus, QuotaRequestsTable } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';
import type { ClientStore } from '../oidc/clients.js';
import { createUsageQueries } from '../usage/queries.js';

export interface ApplicationFilter { stage?: ApplicationStage; suspended?: boolean; cursor?: Cursor; limit: number }
export interface QuotaRequestFilter { applicationId?: string; status?: QuotaRequestStatus; cursor?: Cursor; limit: number }

export function createApplicationQueries(db: Kysely<Database>) {
  const withClient = () => db.selectFrom('applications')
    // The application's own client, not its tenant clients.
    .innerJoin('oauth_clients', (join) => join.onRef('oauth_clients.application_id', '=', 'applications.id').on('oauth_clients.install_id', 'is', null))
    .selectAll('applications')
    .select(['oauth_clients.client_id', 'oauth_clients.metadata', 'oauth_clients.first_party', 'oauth_clients.registered_at']);
  return {
    insert(values: { accountId: string; consumerId: string; name: string }) {
      return db.insertInto('applications').values({ account_id: values.accountId, consumer_id: values.consumerId, name: values.name })
        .returningAll().executeTakeFirstOrThrow();
    },
    /** The application of an owner, with its client (another owner's is not found). */
    findOwned(accountId: string, id: string) {
      return withClient().where('applications.id', '=', id).where('applications.account_id', '=', accountId).executeTakeFirst();
    },
    listOwned(accountId: string, filter: { cursor?: Cursor; limit: number }) {
      const query = withClient().where('applications.account_id', '=', accountId);
      return keysetPage(query, filter, { at: 'applications.created_at', id: 'applications.id' }).execute();
    },
    /** Admin: every application, by stage and suspension. */
    list(filter: ApplicationFilter) {
      let query = withClient();
      if (filter.stage) query = query.where('applications.stage', '=', filter.stage);
      if (filter.suspended !== undefined) query = query.where('applications.suspended_at', filter.suspended ? 'is not' : 'is', null);
      return keysetPage(query, filter, { at: 'applications.created_at', id: 'applications.id' }).execute();
    },
    setPublicKey(accountId: string, id: string, jwk: Record<string, string>, now: Date) {
      return db.updateTable('applications').set({ public_key: JSON.stringify(jwk), updated_at: now })
        .where('id', '=', id).where('account_id', '=', accountId).returning('id').executeTakeFirst();
    },
    findById(id: string) {
      return withClient().where('applications.id', '=', id).executeTakeFirst();
    },
    namesByIds(ids: string[]) {
      return ids.length ? db.selectFrom('applications').select(['id', 'name']).where('id', 'in', ids).execute() : Promise.resolve([]);
    },
    /** Locks the application (not its client) until the transaction ends. */
    findForUpdate(id: string) {
      return withClient().where('applications.id', '=', id).forUpdate('applications').executeTakeFirst();
    },
    update(id: string, changes: Omit<Updateable<ApplicationsTable>, 'id' | 'updated_at'>, now: Date) {
      return db.updateTable('applications').set({ ...changes, updated_at: now }).where('id', '=', id).execute();
    },
    delete(id: string) {
      return db.deleteFrom('applications').where('id', '=', id).execute();
    },
  };
}
/** Deletes an application with its clients (every node told) and its usage counters, in the caller's transaction. */
export async function deleteApplication(trx: Kysely<Database>, clients: ClientStore, app: { id: string; clientId: string }): Promise<void> {
  await clients.remove(trx, app.clientId);
  await createApplicationQueries(trx).delete(app.id);
  await createUsageQueries(trx).deleteOf('application', app.id);
}

export type ApplicationWithClient = NonNullable<Awaited<ReturnType<ReturnType<typeof createApplicationQueries>['findOwned']>>>;

export function createQuotaRequestQueries(db: Kysely<Database>) {
  return {
    insert(values: { applicationId: string; requestedQuota: number; previousQuota: number; usedToday: number; reason: string }) {
      return db.insertInto('quota_requests').values({
        application_id: values.applicationId, requested_quota: values.requestedQuota, previous_quota: values.previousQuota,
        used_today: values.usedToday, reason: values.reason,
      }).returningAll().executeTakeFirstOrThrow();
    },
    findOpen(applicationId: string) {
      return db.selectFrom('quota_requests').selectAll().where('application_id', '=', applicationId).where('status', '=', 'pending').executeTakeFirst();
    },
    findForUpdate(id: string) {
      return db.selectFrom('quota_requests').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    /** With the application's name and owner, for the reviewer. */
    list(filter: QuotaRequestFilter) {
      let query = db.selectFrom('quota_requests')
        .innerJoin('applications', 'applications.id', 'quota_requests.application_id')
        .selectAll('quota_requests')
        .select(['applications.name as application_name', 'applications.account_id']);
      if (filter.applicationId) query = query.where('quota_requests.application_id', '=', filter.applicationId);
      if (filter.status) query = query.where('quota_requests.status', '=', filter.status);
      return keysetPage(query, filter, { at: 'quota_requests.created_at', id: 'quota_requests.id' }).execute();
    },
    decide(id: string, decision: Pick<Updateable<QuotaRequestsTable>, 'status' | 'granted_quota' | 'decision_reason'>, now: Date) {
      return db.updateTable('quota_requests').set({ ...decision, decided_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    },
  };
}
export type QuotaRequestRow = Awaited<ReturnType<ReturnType<typeof createQuotaRequestQueries>['insert']>>;
