import type { AccountService } from '../accounts/service.js';
import type { AuditService } from '../audit/service.js';
import type { CatalogService } from '../catalog/service.js';
import type { ConsumerService } from '../consumers/service.js';
import type { Actor, AppContext } from '../context.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import type { Kysely } from 'kysely';
import type { Database, SubscriptionRow, SubscriptionStatus } from '../db/types.js';
import { Conflict, NotFound } from '../http/errors.js';
import { toPage, type Cursor } from '../http/pagination.js';
import type { SettingsService } from '../settings/service.js';
import { createSubscriptionQueries, type SubscriptionFilter } from './queries.js';

/** Published on every change of a subscription, so every node drops the consumer's cached set. */
export const SUBSCRIPTION_TOPIC = 'subscriptions';

const LIVE: SubscriptionStatus[] = ['pending', 'approved'];

function renderSubscription(row: SubscriptionRow) {
  return {
    id: row.id, productId: row.product_id, consumerId: row.consumer_id, status: row.status, reason: row.reason,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
export type Subscription = ReturnType<typeof renderSubscription>;

const DECISIONS = {
  approve: { to: 'approved', action: 'subscription.approved' },
  reject: { to: 'rejected', action: 'subscription.rejected' },
} as const;

export function createSubscriptionService(ctx: AppContext, deps: {
  audit: AuditService; settings: SettingsService; consumers: ConsumerService; catalog: CatalogService; accounts: AccountService;
}) {
  const queries = createSubscriptionQueries(ctx.db);
  /** More of what waits for an administrator, from services built after this one (applications). */

  /** When a consumer or a product goes, its live subscriptions are cancelled in the same transaction. */
  async function cancelAllOf(trx: Kysely<Database>, actor: Actor, of: { consumerId: string } | { productId: string }, because: string) {
    const cancelled = await createSubscriptionQueries(trx).cancelLive(of, ctx.clock.now());
    for (const row of cancelled) {
      await deps.audit.record(trx, actor, { action: 'subscription.cancelled', targetType: 'subscription', targetId: row.id, details: { because } });
      await ctx.bus.publish(trx, SUBSCRIPTION_TOPIC, { consumerId: row.consumer_id, productId: row.product_id });
    }
  }
  deps.consumers.onRemove((trx, actor, consumerId) => cancelAllOf(trx, actor, { consumerId }, 'consumer deleted'));
  deps.catalog.onRemove((trx, actor, productId) => cancelAllOf(trx, actor, { productId }, 'product deleted'));

  /** Rows with the names a person needs to read them: product, consumer and (for admins) the developer. */
  async function described(rows: SubscriptionRow[], withUsername: boolean) {
    const [products, consumers, usernames] = await Promise.all([
      deps.catalog.summariesByIds(rows.flatMap((r) => r.product_id ?? [])),
      deps.consumers.namesByIds(rows.flatMap((r) => r.consumer_id ?? [])),
      withUsername ? deps.accounts.usernamesByIds(rows.map((r) => r.account_id)) : Promise.resolve(new Map<string, string>()),
    ]);
    return (row: SubscriptionRow) => {
      const product = row.product_id ? products.get(row.product_id) : undefined;
      return {
        ...renderSubscription(row),
        product: product ? { slug: product.slug, name: product.name, type: product.type } : null,
        consumerName: (row.consumer_id && consumers.get(row.consumer_id)) ?? null,
        ...(withUsername ? { accountId: row.account_id, username: usernames.get(row.account_id) ?? null } : {}),
      };
    };
  }

  async function page(filter: SubscriptionFilter, withUsername: boolean) {
    const rows = await queries.list(filter);
    const render = await described(rows, withUsername);
    return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), render);
  }

  return {
    /** Approved at once under automatic approval, pending under manual (the product's mode, else the platform's). */
    async subscribe(actor: Actor & { accountId: string }, input: { productId: string; consumerId: string }): Promise<Subscription> {
      const consumer = await deps.consumers.resolveOwned(actor.accountId, input.consumerId);
      const product = await deps.catalog.get(input.productId);
      const mode = product.subscriptionApproval ?? (await deps.settings.get()).subscriptionApproval;
      try {
        const row = await ctx.db.transaction().execute(async (trx) => {
          const created = await createSubscriptionQueries(trx).insert({ accountId: actor.accountId, consumerId: consumer.id, productId: product.id, status: mode === 'auto' ? 'approved' : 'pending' });
          await deps.audit.record(trx, actor, { action: 'subscription.created', targetType: 'subscription', targetId: created.id, details: { productId: product.id, consumerId: consumer.id, status: created.status } });
          await ctx.bus.publish(trx, SUBSCRIPTION_TOPIC, { consumerId: consumer.id, productId: product.id });
          return created;
        });
        return renderSubscription(row);
      } catch (err) {
        if (isUniqueViolation(err, 'subscriptions_live_key')) {
          // The partial unique index holds one live subscription per (consumer, product), races included.
          const live = await queries.findLive(consumer.id, product.id);
          throw new Conflict('This consumer already has a subscription to this product.', live ? { subscription: renderSubscription(live) } : {});
        }
        if (isForeignKeyViolation(err, 'subscriptions_consumer_id_fkey')) throw new NotFound('consumer'); // deleted meanwhile
        if (isForeignKeyViolation(err, 'subscriptions_product_id_fkey')) throw new NotFound('product');
        throw err;
      }
    },

    listOwned(accountId: string, filter: { status?: SubscriptionStatus; consumerId?: string; cursor?: Cursor; limit: number }) {
      return page({ ...filter, accountId }, false);
    },

    /** Admin: pending developers and pending subscriptions, newest first (the applications service adds its own to the queue). */
    async adminQueue() {
      const [developers, subscriptions] = await Promise.all([
        deps.accounts.listDevelopers({ status: 'pending', limit: 50 }),
        page({ status: 'pending', limit: 50 }, true),
      ]);
      return { developers, subscriptions };
    },

    /** Admin: every subscription, by status. */
    list(filter: { status?: SubscriptionStatus; cursor?: Cursor; limit: number }) {
      return page(filter, true);
    },

    /** The owner cancels a pending or approved subscription. */
    async cancel(actor: Actor & { accountId: string }, id: string): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        const inTrx = createSubscriptionQueries(trx);
        const current = await inTrx.findForUpdate(id);
        if (!current || current.account_id !== actor.accountId) throw new NotFound('subscription');
        if (!LIVE.includes(current.status)) throw new Conflict(`This subscription is already ${current.status}.`);
        await inTrx.setStatus(id, 'cancelled', null, ctx.clock.now());
        await deps.audit.record(trx, actor, { action: 'subscription.cancelled', targetType: 'subscription', targetId: id, details: { from: current.status } });
        await ctx.bus.publish(trx, SUBSCRIPTION_TOPIC, { consumerId: current.consumer_id, productId: current.product_id });
      });
    },

    /** Admin: approve or reject a pending subscription; the rejection's reason is shown to the developer. */
    async decide(actor: Actor, id: string, decision: keyof typeof DECISIONS, reason?: string) {
      const { to, action } = DECISIONS[decision];
      const row = await ctx.db.transaction().execute(async (trx) => {
        const inTrx = createSubscriptionQueries(trx);
        const current = await inTrx.findForUpdate(id);
        if (!current) throw new NotFound('subscription');
        if (current.status !== 'pending') throw new Conflict(`Only a pending subscription can be decided; this one is ${current.status}.`, { subscriptionStatus: current.status });
        const updated = await inTrx.setStatus(id, to, decision === 'reject' ? reason ?? null : null, ctx.clock.now());
        await deps.audit.record(trx, actor, { action, targetType: 'subscription', targetId: id, details: { productId: current.product_id, consumerId: current.consumer_id, ...(reason ? { reason } : {}) } });
        await ctx.bus.publish(trx, SUBSCRIPTION_TOPIC, { consumerId: current.consumer_id, productId: current.product_id });
        return updated;
      });
      return (await described([row], true))(row);
    },
  };
}
export type SubscriptionService = ReturnType<typeof createSubscriptionService>;
