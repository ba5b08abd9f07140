import { sql, type Kysely } from 'kysely';

// Application stages and suspension, quota raise requests, consumer quotas, and the daily usage counters.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('applications')
    // A suspension is not a stage: reinstating returns the application to the stage it had.
    .addColumn('suspended_at', sql`timestamptz(3)`)
    .addColumn('suspension_reason', 'text')
    // Why the last go-live review was rejected, shown to the owner until the next request.
    .addColumn('review_note', 'text')
    .execute();
  await db.schema.createIndex('applications_stage_idx').on('applications').columns(['stage', 'created_at', 'id']).execute();

  await db.schema.createTable('quota_requests')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('requested_quota', 'integer', (c) => c.notNull().check(sql`requested_quota > 0`))
    // The figures the request was made on, kept for the reviewer.
    .addColumn('previous_quota', 'integer', (c) => c.notNull())
    .addColumn('used_today', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'approved', 'rejected')`))
    .addColumn('granted_quota', 'integer')
    .addColumn('decision_reason', 'text')
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', sql`timestamptz(3)`)
    .execute();
  // One open request per application, also under a race.
  await sql`create unique index quota_requests_open_key on quota_requests (application_id) where status = 'pending'`.execute(db);
  await db.schema.createIndex('quota_requests_status_idx').on('quota_requests').columns(['status', 'created_at', 'id']).execute();
  await db.schema.createIndex('quota_requests_application_idx').on('quota_requests').columns(['application_id', 'created_at', 'id']).execute();

  // A consumer's own daily quota for API-key and AK/SK calls; null: the consumerDailyQuota setting.
  await db.schema.alterTable('consumers').addColumn('daily_quota', 'integer').execute();

  // Calls per subject per UTC day. `reserved` is what nodes hold in chunks and have not yet
  // reported as calls: calls + reserved never exceeds the quota, so no node can overshoot.
  await db.schema.createTable('usage_counters')
    .addColumn('subject_kind', 'text', (c) => c.notNull().check(sql`subject_kind in ('application', 'consumer')`))
    .addColumn('subject_id', 'uuid', (c) => c.notNull())
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('calls', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`calls >= 0`))
    .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`reserved >= 0`))
    .addPrimaryKeyConstraint('usage_counters_pkey', ['subject_kind', 'subject_id', 'day'])
    .execute();
  // Which reports each node has applied, so that one sent again after a lost answer is applied once.
  await db.schema.createTable('usage_reports')
    .addColumn('node_id', 'uuid', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('reported_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('usage_reports_pkey', ['node_id', 'seq'])
    .execute();
  await db.schema.createIndex('usage_reports_reported_at_idx').on('usage_reports').column('reported_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_reports').execute();
  await db.schema.dropTable('usage_counters').execute();
  await db.schema.dropTable('quota_requests').execute();
  await db.schema.alterTable('consumers').dropColumn('daily_quota').execute();
  await db.schema.dropIndex('applications_stage_idx').execute();
  await db.schema.alterTable('applications').dropColumn('suspended_at').dropColumn('suspension_reason').dropColumn('review_note').execute();
}
