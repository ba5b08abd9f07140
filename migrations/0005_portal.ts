import { sql, type Kysely } from 'kysely';

// Credentials of consumers (API keys, AK/SK pairs), the product catalog and subscriptions.
export async function up(db: Kysely<unknown>): Promise<void> {
  // A consumer with applications cannot be deleted (it would take the applications with it).
  await sql`alter table applications drop constraint applications_consumer_id_fkey`.execute(db);
  await sql`alter table applications add constraint applications_consumer_id_fkey foreign key (consumer_id) references consumers (id) on delete restrict`.execute(db);

  await db.schema.createTable('credentials')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('consumer_id', 'uuid', (c) => c.notNull().references('consumers.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('api-key', 'ak-sk')`))
    // API keys are found by their HMAC; AK/SK pairs by the access key, which is an identifier, not a secret.
    .addColumn('key_hash', 'text', (c) => c.unique())
    .addColumn('access_key', 'text', (c) => c.unique())
    // The API key or the secret key, AES-GCM sealed and bound to this row, so the owner can view it again.
    .addColumn('sealed_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('credentials_lookup_check', sql`(type = 'api-key' and key_hash is not null) or (type = 'ak-sk' and access_key is not null)`)
    .execute();
  await db.schema.createIndex('credentials_consumer_idx').on('credentials').columns(['consumer_id', 'created_at']).execute();

  await db.schema.createTable('products')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('model', 'mcp', 'agent')`))
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('overview', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('guide', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('sample_requests', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('route_prefix', 'text', (c) => c.notNull().unique())
    .addColumn('resource_uri', 'text', (c) => c.unique())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('published').check(sql`status in ('published', 'draft')`))
    // Null: the platform's subscriptionApproval setting applies.
    .addColumn('subscription_approval', 'text', (c) => c.check(sql`subscription_approval in ('auto', 'manual')`))
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    // Full-text search over what a visitor reads in the list; 'simple' keeps product names unstemmed.
    .addColumn('search', sql`tsvector`, (c) => c.generatedAlwaysAs(
      sql`setweight(to_tsvector('simple', name), 'A') || setweight(to_tsvector('simple', category), 'B') || setweight(to_tsvector('simple', description), 'C')`,
    ).stored())
    .execute();
  await sql`create index products_search_idx on products using gin (search)`.execute(db);
  await db.schema.createIndex('products_listing_idx').on('products').columns(['status', 'type', 'created_at', 'id']).execute();
  await db.schema.createIndex('products_category_idx').on('products').columns(['category']).execute();

  await db.schema.createTable('subscriptions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    // Null once the consumer or the product is deleted: the subscription, cancelled first, stays as history.
    .addColumn('consumer_id', 'uuid', (c) => c.references('consumers.id').onDelete('set null'))
    .addColumn('product_id', 'uuid', (c) => c.references('products.id').onDelete('set null'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'approved', 'rejected', 'cancelled')`))
    // Why it was rejected, shown to the developer.
    .addColumn('reason', 'text')
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One live subscription per (consumer, product): the second request fails here, whatever the race.
  await sql`create unique index subscriptions_live_key on subscriptions (consumer_id, product_id) where status in ('pending', 'approved')`.execute(db);
  await db.schema.createIndex('subscriptions_account_idx').on('subscriptions').columns(['account_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('subscriptions_status_idx').on('subscriptions').columns(['status', 'created_at', 'id']).execute();
  await db.schema.createIndex('subscriptions_product_idx').on('subscriptions').column('product_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['subscriptions', 'products', 'credentials']) await db.schema.dropTable(table).execute();
  await sql`alter table applications drop constraint applications_consumer_id_fkey`.execute(db);
  await sql`alter table applications add constraint applications_consumer_id_fkey foreign key (consumer_id) references consumers (id) on delete cascade`.execute(db);
}
