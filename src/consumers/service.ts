import type { Kysely } from 'kysely';
import type { AuditService } from '../audit/service.js';
import type { SettingsService } from '../settings/service.js';
import type { Actor, AppContext } from '../context.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import type { ConsumerRow, Database } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import { createConsumerQueries, createCredentialQueries } from './queries.js';
import type { ConsumerChanges } from './schemas.js';

export const DEFAULT_CONSUMER_NAME = 'default';

/** Published when a consumer or one of its credentials goes, so every node drops what it cached. */
export const CONSUMER_TOPIC = 'consumers';

export function renderConsumer(row: ConsumerRow) {
  return { id: row.id, name: row.name, description: row.description, isDefault: row.is_default, createdAt: row.created_at.toISOString() };
}
export type Consumer = ReturnType<typeof renderConsumer>;

const nameTaken = () => new Conflict('You already have a consumer with this name.');

/** Runs inside the transaction that deletes a consumer (subscriptions cancel theirs). */
export type ConsumerRemovalHook = (trx: Kysely<Database>, actor: Actor, consumerId: string) => Promise<void>;

export function createConsumerService(ctx: AppContext, deps: { audit: AuditService; settings: SettingsService }) {
  const queries = createConsumerQueries(ctx.db);
  const removalHooks: ConsumerRemovalHook[] = [];

  async function owned(accountId: string, id: string): Promise<ConsumerRow> {
    const row = await queries.findOwned(accountId, id);
    if (!row) throw new NotFound('consumer');
    return row;
  }

  /** Runs a write; a second consumer of the same name (any case) is a conflict. */
  async function guardName<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err, 'consumers_account_name_key')) throw nameTaken();
      throw err;
    }
  }

  return {
    /** Every account gets one, in the transaction that creates the account. */
    createDefault(trx: Kysely<Database>, accountId: string) {
      return createConsumerQueries(trx).insert({ accountId, name: DEFAULT_CONSUMER_NAME, isDefault: true });
    },

    /** The owner's consumer by id, or the owner's default consumer; another owner's is not found. */
    async resolveOwned(accountId: string, id?: string): Promise<Consumer> {
      const row = id ? await queries.findOwned(accountId, id) : await queries.defaultOf(accountId);
      if (!row) throw new NotFound('consumer');
      return renderConsumer(row);
    },

    async listOfAccount(accountId: string): Promise<Consumer[]> {
      return (await queries.listOfAccount(accountId)).map(renderConsumer);
    },

    async list(accountId: string, page: { cursor?: Cursor; limit: number }) {
      const rows = await queries.listOfAccount(accountId, page);
      return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), renderConsumer);
    },

    /** Names of consumers by id, for lists that show them beside other records. */
    async namesByIds(ids: string[]): Promise<Map<string, string>> {
      return new Map((await queries.namesByIds([...new Set(ids)])).map((r) => [r.id, r.name]));
    },

    async create(actor: Actor & { accountId: string }, input: { name: string; description?: string }): Promise<Consumer> {
      const row = await guardName(() => ctx.db.transaction().execute(async (trx) => {
        const created = await createConsumerQueries(trx).insert({ accountId: actor.accountId, name: input.name, description: input.description ?? null, isDefault: false });
        await deps.audit.record(trx, actor, { action: 'consumer.created', targetType: 'consumer', targetId: created.id, details: { name: created.name } });
        return created;
      }));
      return renderConsumer(row);
    },

    async update(actor: Actor & { accountId: string }, id: string, changes: ConsumerChanges): Promise<Consumer> {
      const current = await owned(actor.accountId, id);
      const row = await guardName(() => ctx.db.transaction().execute(async (trx) => {
        const updated = await createConsumerQueries(trx).update(id, changes);
        await deps.audit.record(trx, actor, { action: 'consumer.updated', targetType: 'consumer', targetId: id, details: { fields: Object.keys(changes), ...(changes.name ? { from: current.name, to: changes.name } : {}) } });
        return updated;
      }));
      return renderConsumer(row);
    },

    /**
     * Deletes a consumer with its credentials (revoked at once) and subscriptions (cancelled, by the
     * removal hooks), in one transaction. The last consumer of an account stays; a consumer with applications stays
     * until they are deleted. Deleting the default consumer makes the oldest other one the default.
     */
    async remove(actor: Actor & { accountId: string }, id: string): Promise<void> {
      try {
        await ctx.db.transaction().execute(async (trx) => {
          const consumers = createConsumerQueries(trx);
          const all = await consumers.lockAllOfAccount(actor.accountId);
          const target = all.find((c) => c.id === id);
          if (!target) throw new NotFound('consumer');
          if (all.length === 1) throw new Conflict('This is your only consumer; create another before deleting it.');
          const revoked = await createCredentialQueries(trx).deleteAllOfConsumer(id);
          for (const credential of revoked) {
            await deps.audit.record(trx, actor, { action: 'credential.deleted', targetType: 'credential', targetId: credential.id, details: { consumerId: id, type: credential.type, because: 'consumer deleted' } });
          }
          for (const hook of removalHooks) await hook(trx, actor, id);
          await consumers.delete(id);
          const successor = target.is_default ? all.find((c) => c.id !== id) : undefined;
          if (successor) await consumers.makeDefault(successor.id);
          await deps.audit.record(trx, actor, {
            action: 'consumer.deleted', targetType: 'consumer', targetId: id,
            details: { revokedCredentials: revoked.map((c) => c.id), ...(successor ? { newDefault: successor.id } : {}) },
          });
          await ctx.bus.publish(trx, CONSUMER_TOPIC, { consumerId: id });
        });
      } catch (err) {
        if (isForeignKeyViolation(err, 'applications_consumer_id_fkey')) {
          throw new Conflict('Applications use this consumer; delete them first.');
        }
        throw err;
      }
    },

    /** Admin: the daily quota of a consumer's API-key and AK/SK calls, its own or the setting's. */
    async quotaOf(id: string) {
      const row = await queries.findById(id);
      if (!row) throw new NotFound('consumer');
      const dailyQuota = row.daily_quota ?? (await deps.settings.get()).consumerDailyQuota;
      return { consumerId: id, dailyQuota, source: row.daily_quota === null ? 'setting' : 'consumer' };
    },

    /** Admin: sets a consumer's own daily quota, or (null) returns it to the setting. Every node follows at once. */
    async setQuota(actor: Actor, id: string, dailyQuota: number | null) {
      const before = await this.quotaOf(id);
      await ctx.db.transaction().execute(async (trx) => {
        await createConsumerQueries(trx).setDailyQuota(id, dailyQuota);
        await deps.audit.record(trx, actor, { action: 'consumer.quota_changed', targetType: 'consumer', targetId: id, details: { from: before.dailyQuota, to: dailyQuota } });
        await ctx.bus.publish(trx, CONSUMER_TOPIC, { consumerId: id });
      });
      return this.quotaOf(id);
    },

    /** Adds work to the transaction that deletes a consumer. */
    onRemove(hook: ConsumerRemovalHook): void {
      removalHooks.push(hook);
    },
  };
}
export type ConsumerService = ReturnType<typeof createConsumerService>;
