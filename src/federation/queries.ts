import type { Kysely } from 'kysely';
import { keysetPage } from '../db/keyset.js';
import type { Database } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';

export interface ProviderValues {
  slug: string; name: string; issuer: string; clientId: string; sealedClientSecret: string; scopes: string[]; enabled: boolean; emailDomains: string[];
}

function toColumns(values: Partial<ProviderValues>) {
  const columns: Record<string, unknown> = {
    slug: values.slug, name: values.name, issuer: values.issuer, client_id: values.clientId, sealed_client_secret: values.sealedClientSecret,
    scopes: values.scopes && JSON.stringify(values.scopes), enabled: values.enabled,
    email_domains: values.emailDomains && JSON.stringify(values.emailDomains),
  };
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined));
}

/** Statements over `db`: the pool, or a transaction when called with `trx`. */
export function createFederationQueries(db: Kysely<Database>) {
  return {
    list(page: { cursor?: Cursor; limit: number }) {
      return keysetPage(db.selectFrom('identity_providers').selectAll(), page, { at: 'created_at', id: 'id' }).execute();
    },
    listEnabled() {
      return db.selectFrom('identity_providers').select(['slug', 'name']).where('enabled', '=', true).orderBy('name').orderBy('slug').execute();
    },
    findBy(column: 'id' | 'slug', value: string) {
      return db.selectFrom('identity_providers').selectAll().where(column, '=', value).executeTakeFirst();
    },
    insert(id: string, values: ProviderValues) {
      return db.insertInto('identity_providers').values({ id, ...toColumns(values) } as never).returningAll().executeTakeFirstOrThrow();
    },
    update(id: string, values: Partial<ProviderValues>, now: Date) {
      return db.updateTable('identity_providers').set({ ...toColumns(values), updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst();
    },
    delete(id: string) {
      return db.deleteFrom('identity_providers').where('id', '=', id).returning(['id', 'slug']).executeTakeFirst();
    },
    countLinks(providerId: string) {
      return db.selectFrom('federated_identities').select((eb) => eb.fn.countAll().as('n')).where('provider_id', '=', providerId)
        .executeTakeFirstOrThrow().then((r) => Number(r.n));
    },
    findLink(providerId: string, subject: string) {
      return db.selectFrom('federated_identities').select('account_id').where('provider_id', '=', providerId).where('subject', '=', subject).executeTakeFirst();
    },
    insertLink(values: { providerId: string; subject: string; accountId: string }) {
      return db.insertInto('federated_identities').values({ provider_id: values.providerId, subject: values.subject, account_id: values.accountId }).execute();
    },
  };
}
