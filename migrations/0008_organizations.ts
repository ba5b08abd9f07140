import { sql, type Kysely } from 'kysely';

// Organizations (tenants): members, a department tree, groups, application installs and their grants.
// Rows below an organization carry its id and reference each other by (id, organization_id), so a
// department, group, member or install of one organization can never be linked to another's.
export async function up(db: Kysely<unknown>): Promise<void> {
  const createdAt = sql`timestamptz(3)`;
  await db.schema.createTable('organizations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('organizations_created_idx').on('organizations').columns(['created_at', 'id']).execute();

  // Deleting an account or an organization removes the membership, and with it (cascades below)
  // the account's department and group memberships and the grants made to it.
  await db.schema.createTable('organization_members')
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member').check(sql`role in ('member', 'admin')`))
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('organization_members_pkey', ['organization_id', 'account_id'])
    .execute();
  await db.schema.createIndex('organization_members_account_idx').on('organization_members').column('account_id').execute();
  await db.schema.createIndex('organization_members_created_idx').on('organization_members').columns(['organization_id', 'created_at', 'account_id']).execute();

  // A tree. The parent link has no cascade: a department with sub-departments cannot be deleted
  // (deleting the organization removes the whole tree in one statement, which the check allows).
  await db.schema.createTable('departments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('parent_id', 'uuid')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('departments_id_organization_key', ['id', 'organization_id'])
    .addForeignKeyConstraint('departments_parent_fkey', ['parent_id', 'organization_id'], 'departments', ['id', 'organization_id'])
    .addCheckConstraint('departments_not_own_parent', sql`parent_id <> id`)
    .execute();
  // Sibling names are unique without regard to case; root departments are siblings too.
  await sql`create unique index departments_sibling_name_key on departments
    (organization_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name))`.execute(db);
  await db.schema.createIndex('departments_parent_idx').on('departments').column('parent_id').execute();
  await db.schema.createIndex('departments_created_idx').on('departments').columns(['organization_id', 'created_at', 'id']).execute();

  await db.schema.createTable('department_members')
    .addColumn('department_id', 'uuid', (c) => c.notNull())
    .addColumn('organization_id', 'uuid', (c) => c.notNull())
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('department_members_pkey', ['department_id', 'account_id'])
    // The service refuses to delete a department with members; the cascade serves the organization's deletion.
    .addForeignKeyConstraint('department_members_department_fkey', ['department_id', 'organization_id'], 'departments', ['id', 'organization_id'], (c) => c.onDelete('cascade'))
    .addForeignKeyConstraint('department_members_member_fkey', ['organization_id', 'account_id'], 'organization_members', ['organization_id', 'account_id'], (c) => c.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('department_members_member_idx').on('department_members').columns(['organization_id', 'account_id']).execute();

  await db.schema.createTable('organization_groups')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('organization_groups_id_organization_key', ['id', 'organization_id'])
    .execute();
  await sql`create unique index organization_groups_name_key on organization_groups (organization_id, lower(name))`.execute(db);
  await db.schema.createIndex('organization_groups_created_idx').on('organization_groups').columns(['organization_id', 'created_at', 'id']).execute();

  await db.schema.createTable('group_members')
    .addColumn('group_id', 'uuid', (c) => c.notNull())
    .addColumn('organization_id', 'uuid', (c) => c.notNull())
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('group_members_pkey', ['group_id', 'account_id'])
    .addForeignKeyConstraint('group_members_group_fkey', ['group_id', 'organization_id'], 'organization_groups', ['id', 'organization_id'], (c) => c.onDelete('cascade'))
    .addForeignKeyConstraint('group_members_member_fkey', ['organization_id', 'account_id'], 'organization_members', ['organization_id', 'account_id'], (c) => c.onDelete('cascade'))
    .execute();
  await db.schema.createIndex('group_members_member_idx').on('group_members').columns(['organization_id', 'account_id']).execute();

  // The "purchase": an application installed into an organization.
  await db.schema.createTable('app_installs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('organization_id', 'uuid', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('application_id', 'uuid', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    // Every member of the organization may use it, whatever the grants say.
    .addColumn('grant_all', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('app_installs_application_organization_key', ['application_id', 'organization_id'])
    .addUniqueConstraint('app_installs_id_organization_key', ['id', 'organization_id'])
    .execute();
  await db.schema.createIndex('app_installs_created_idx').on('app_installs').columns(['organization_id', 'created_at', 'id']).execute();

  // Who may use an install: one member, one department (and its sub-departments) or one group.
  // Exactly the column of the kind is set; removing the subject removes the grant.
  await db.schema.createTable('install_grants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('install_id', 'uuid', (c) => c.notNull())
    .addColumn('organization_id', 'uuid', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('member', 'department', 'group')`))
    .addColumn('account_id', 'uuid')
    .addColumn('department_id', 'uuid')
    .addColumn('group_id', 'uuid')
    .addColumn('created_at', createdAt, (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint('install_grants_install_fkey', ['install_id', 'organization_id'], 'app_installs', ['id', 'organization_id'], (c) => c.onDelete('cascade'))
    .addForeignKeyConstraint('install_grants_member_fkey', ['organization_id', 'account_id'], 'organization_members', ['organization_id', 'account_id'], (c) => c.onDelete('cascade'))
    .addForeignKeyConstraint('install_grants_department_fkey', ['department_id', 'organization_id'], 'departments', ['id', 'organization_id'], (c) => c.onDelete('cascade'))
    .addForeignKeyConstraint('install_grants_group_fkey', ['group_id', 'organization_id'], 'organization_groups', ['id', 'organization_id'], (c) => c.onDelete('cascade'))
    .addCheckConstraint('install_grants_one_subject', sql`(kind = 'member') = (account_id is not null)
      and (kind = 'department') = (department_id is not null) and (kind = 'group') = (group_id is not null)`)
    .execute();
  await sql`create unique index install_grants_subject_key on install_grants
    (install_id, kind, coalesce(account_id, department_id, group_id))`.execute(db);
  await db.schema.createIndex('install_grants_install_idx').on('install_grants').columns(['install_id', 'created_at', 'id']).execute();
  // The cascades from members, departments and groups look grants up by subject.
  await db.schema.createIndex('install_grants_member_idx').on('install_grants').columns(['organization_id', 'account_id']).execute();
  await db.schema.createIndex('install_grants_department_idx').on('install_grants').column('department_id').execute();
  await db.schema.createIndex('install_grants_group_idx').on('install_grants').column('group_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['install_grants', 'app_installs', 'group_members', 'organization_groups', 'department_members', 'departments', 'organization_members', 'organizations']) {
    await db.schema.dropTable(table).execute();
  }
}
