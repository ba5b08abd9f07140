import type { AuditService } from '../audit/service.js';
import type { Actor, AppContext } from '../context.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Kysely } from 'kysely';
import type { Database, ProductStatus } from '../db/types.js';
import { Conflict, NotFound, ValidationFailed } from '../http/errors.js';
import { toPage } from '../http/pagination.js';
import { uuid } from '../http/validate.js';
import { createProductQueries, type ProductRecord, type ProductValues } from './queries.js';
import type { CreateProduct, ProductFilter, UpdateProduct } from './schemas.js';

/** Published when a product changes, so every node drops what it cached (the gateway's route map). */
export const PRODUCT_TOPIC = 'products';

export function renderProductSummary(row: ProductRecord) {
  return {
    id: row.id, slug: row.slug, name: row.name, type: row.type, category: row.category, description: row.description,
    routePrefix: row.route_prefix, resourceUri: row.resource_uri, status: row.status, subscriptionApproval: row.subscription_approval,
    createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}
export function renderProduct(row: ProductRecord) {
  return { ...renderProductSummary(row), overview: row.overview, guide: row.guide, sampleRequests: row.sample_requests };
}
export type Product = ReturnType<typeof renderProduct>;

/** Prefix terms of a search text ("chat mod" finds "Chat model"), letters and digits only, so the tsquery is always valid. */
export function toPrefixQuery(text: string): string | undefined {
  const terms = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 8);
  return terms.length ? terms.map((t) => `${t}:*`).join(' & ') : undefined;
}

const UNIQUE_FIELDS: Record<string, string> = {
  products_slug_key: 'slug', products_route_prefix_key: 'routePrefix', products_resource_uri_key: 'resourceUri',
};

/** Runs a write; a taken slug, route prefix or resource URI is a conflict naming the field. */
async function guardUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    const field = Object.entries(UNIQUE_FIELDS).find(([constraint]) => isUniqueViolation(err, constraint))?.[1];
    if (field) throw new Conflict(`Another product already has this ${field}.`, { field });
    throw err;
  }
}

/** Runs inside the transaction that deletes a product (subscriptions cancel theirs). */
export type ProductRemovalHook = (trx: Kysely<Database>, actor: Actor, productId: string) => Promise<void>;

export function createCatalogService(ctx: AppContext, deps: { audit: AuditService }) {
  const queries = createProductQueries(ctx.db);
  const removalHooks: ProductRemovalHook[] = [];

  async function find(idOrSlug: string, options: { includeDrafts: boolean }): Promise<ProductRecord> {
    const row = await queries.findBy(uuid.safeParse(idOrSlug).success ? 'id' : 'slug', idOrSlug);
    if (!row || (!options.includeDrafts && row.status !== 'published')) throw new NotFound('product');
    return row;
  }

  return {
    /** The catalog: published products only, unless an admin asks for a status. */
    async list(filter: ProductFilter & { status?: ProductStatus }, options: { includeDrafts: boolean } = { includeDrafts: false }) {
      const rows = await queries.list({
        type: filter.type, category: filter.category, tsquery: filter.q ? toPrefixQuery(filter.q) : undefined,
        status: options.includeDrafts ? filter.status : 'published', cursor: filter.cursor, limit: filter.limit,
      });
      return toPage(rows, filter.limit, (r) => ({ at: r.created_at, id: r.id }), renderProductSummary);
    },

    /** Categories in use among published products (of one type), for the catalog's filter. */
    categories(type?: ProductFilter['type']): Promise<string[]> {
      return queries.categories({ type, status: 'published' });
    },

    async get(idOrSlug: string, options: { includeDrafts: boolean } = { includeDrafts: false }): Promise<Product> {
      return renderProduct(await find(idOrSlug, options));
    },

    /** Names of products by id, for lists that show them beside other records. */
    async summariesByIds(ids: string[]) {
      return new Map((await queries.summariesByIds([...new Set(ids)])).map((r) => [r.id, r]));
    },

    async create(actor: Actor, input: CreateProduct): Promise<Product> {
      const values: ProductValues = { ...input, resourceUri: input.resourceUri ?? null, subscriptionApproval: input.subscriptionApproval ?? null };
      const row = await guardUnique(() => ctx.db.transaction().execute(async (trx) => {
        const created = await createProductQueries(trx).insert(values);
        await deps.audit.record(trx, actor, { action: 'product.created', targetType: 'product', targetId: created.id, details: { slug: created.slug, status: created.status } });
        await ctx.bus.publish(trx, PRODUCT_TOPIC, { productId: created.id });
        return created;
      }));
      return renderProduct(row);
    },

    async update(actor: Actor, id: string, changes: UpdateProduct): Promise<Product> {
      const current = await find(id, { includeDrafts: true });
      const type = changes.type ?? current.type;
      const resourceUri = changes.resourceUri === undefined ? current.resource_uri : changes.resourceUri;
      if (resourceUri && type !== 'mcp') throw new ValidationFailed([{ path: 'body.resourceUri', message: 'only an mcp product has a resourceUri' }]);
      const row = await guardUnique(() => ctx.db.transaction().execute(async (trx) => {
        const updated = await createProductQueries(trx).update(current.id, changes, ctx.clock.now());
        if (!updated) throw new NotFound('product');
        await deps.audit.record(trx, actor, { action: 'product.updated', targetType: 'product', targetId: current.id, details: { slug: updated.slug, fields: Object.keys(changes) } });
        await ctx.bus.publish(trx, PRODUCT_TOPIC, { productId: current.id });
        return updated;
      }));
      return renderProduct(row);
    },

    /** Adds work to the transaction that deletes a product. */
    onRemove(hook: ProductRemovalHook): void {
      removalHooks.push(hook);
    },

    /** Deletes a product; its subscriptions are cancelled in the same transaction (removal hooks). */
    async remove(actor: Actor, id: string): Promise<void> {
      await ctx.db.transaction().execute(async (trx) => {
        for (const hook of removalHooks) await hook(trx, actor, id);
        const deleted = await createProductQueries(trx).delete(id);
        if (!deleted) throw new NotFound('product');
        await deps.audit.record(trx, actor, { action: 'product.deleted', targetType: 'product', targetId: id, details: { slug: deleted.slug } });
        await ctx.bus.publish(trx, PRODUCT_TOPIC, { productId: id });
      });
    },
  };
}
export type CatalogService = ReturnType<typeof createCatalogService>;
