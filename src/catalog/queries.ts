import { sql, type Kysely } from 'kysely';
import type { Database, ProductStatus, ProductType, ProductsTable, SampleRequest } from '../db/types.js';
import type { Cursor } from '../http/pagination.js';
import { keysetPage } from '../db/keyset.js';

export interface ProductListFilter {
  type?: ProductType;
  category?: string;
  /** A PostgreSQL tsquery made of prefix terms only (see toPrefixQuery). */
  tsquery?: string;
  status?: ProductStatus;
  cursor?: Cursor;
  limit: number;
}

export interface ProductValues {
  slug: string; name: string; type: ProductType; category: string; description: string; overview: string; guide: string;
  sampleRequests: SampleRequest[]; routePrefix: string; resourceUri: string | null; status: ProductStatus;
  subscriptionApproval: ProductsTable['subscription_approval'];
}

function toColumns(values: Partial<ProductValues>) {
  const columns: Record<string, unknown> = {
    slug: values.slug, name: values.name, type: values.type, category: values.category, description: values.description,
    overview: values.overview, guide: values.guide, route_prefix: values.routePrefix, resource_uri: values.resourceUri,
    status: values.status, subscription_approval: values.subscriptionApproval,
    sample_requests: values.sampleRequests && JSON.stringify(values.sampleRequests),
  };
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined));
}

// Everything but the generated search vector.
const PRODUCT_COLUMNS = ['id', 'slug', 'name', 'type', 'category', 'description', 'overview', 'guide', 'sample_requests', 'route_prefix',
  'resource_uri', 'status', 'subscription_approval', 'created_at', 'updated_at'] as const;

export function createProductQueries(db: Kysely<Database>) {
  return {
    list(filter: ProductListFilter) {
      let query = db.selectFrom('products').select(PRODUCT_COLUMNS);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.type) query = query.where('type', '=', filter.type);
      if (filter.category) query = query.where('category', '=', filter.category);
      if (filter.tsquery) query = query.where(sql<boolean>`search @@ to_tsquery('simple', ${filter.tsquery})`);
      return keysetPage(query, filter, { at: 'created_at', id: 'id' }).execute();
    },
    categories(filter: { type?: ProductType; status?: ProductStatus }) {
      let query = db.selectFrom('products').select('category').distinct();
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.type) query = query.where('type', '=', filter.type);
      return query.orderBy('category').execute().then((rows) => rows.map((r) => r.category));
    },
    findBy(column: 'id' | 'slug', value: string) {
      return db.selectFrom('products').select(PRODUCT_COLUMNS).where(column, '=', value).executeTakeFirst();
    },
    summariesByIds(ids: string[]) {
      return ids.length ? db.selectFrom('products').select(['id', 'slug', 'name', 'type']).where('id', 'in', ids).execute() : Promise.resolve([]);
    },
    insert(values: ProductValues) {
      return db.insertInto('products').values(toColumns(values) as never).returning(PRODUCT_COLUMNS).executeTakeFirstOrThrow();
    },
    update(id: string, values: Partial<ProductValues>, now: Date) {
      return db.updateTable('products').set({ ...toColumns(values), updated_at: now }).where('id', '=', id).returning(PRODUCT_COLUMNS).executeTakeFirst();
    },
    delete(id: string) {
      return db.deleteFrom('products').where('id', '=', id).returning(['id', 'slug']).executeTakeFirst();
    },
  };
}
export type ProductRecord = NonNullable<Awaited<ReturnType<ReturnType<typeof createProductQueries>['findBy']>>>;
