import type { Kysely } from 'kysely';
import { keysetPage } from '../db/keyset.js';
import type { Database } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import type { LicenseStatus } from './schemas.js';

export interface LicenseListFilter { applicationId?: string; tenantId?: string; status?: LicenseStatus; cursor?: Cursor; limit: number }

/** The licenses table, nothing else. */
export function createLicenseQueries(db: Kysely<Database>) {
  return {
    insert(values: { codeHash: string; applicationId: string; organizationId: string; seats: number; expiresAt: Date }) {
      return db.insertInto('licenses').values({
        code_hash: values.codeHash, application_id: values.applicationId, organization_id: values.organizationId,
        seats: values.seats, expires_at: values.expiresAt,
      }).returningAll().executeTakeFirstOrThrow();
    },
    find(id: string) {
      return db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** Locks the row for the rest of the transaction: activations and revocations of one license take turns. */
    lock(id: string) {
      return db.selectFrom('licenses').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    },
    lockByCodeHash(codeHash: string) {
      return db.selectFrom('licenses').selectAll().where('code_hash', '=', codeHash).forUpdate().executeTakeFirst();
    },
    /** Newest first. Statuses as `renderLicense` derives them: revoked, then expired, then activated or issued. */
    list(filter: LicenseListFilter, now: Date) {
      let query = db.selectFrom('licenses').selectAll();
      if (filter.applicationId) query = query.where('application_id', '=', filter.applicationId);
      if (filter.tenantId) query = query.where('organization_id', '=', filter.tenantId);
      if (filter.status === 'revoked') query = query.where('revoked_at', 'is not', null);
      else if (filter.status) {
        query = query.where('revoked_at', 'is', null);
        if (filter.status === 'expired') query = query.where('expires_at', '<=', now);
        else query = query.where('expires_at', '>', now).where('activated_at', filter.status === 'activated' ? 'is not' : 'is', null);
      }
      return keysetPage(query, filter, { at: 'created_at', id: 'id' }).execute();
    },
    /** Only a license nobody holds and nobody revoked: the database has the last word, whatever was read before. */
    activate(id: string, instanceId: string, now: Date) {
      return db.updateTable('licenses').set({ activated_instance: instanceId, activated_at: now })
        .where('id', '=', id).where('activated_instance', 'is', null).where('revoked_at', 'is', null)
        .returningAll().executeTakeFirst();
    },
    revoke(id: string, now: Date) {
      return db.updateTable('licenses').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)
        .returningAll().executeTakeFirst();
    },
  };
}
