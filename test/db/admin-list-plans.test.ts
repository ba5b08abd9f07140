import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CompiledQuery, sql, type Kysely, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { createAccountQueries } from '../../src/accounts/queries.js';
import { createApplicationQueries } from '../../src/applications/queries.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.js';
import type { Database } from '../../src/db/types.js';
import { createSubscriptionQueries } from '../../src/subscriptions/queries.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// The administrator's unfiltered lists (migration 0015) are read in index order: the plan of each
// first page has no Sort, so a page costs the same at 100 rows as at 100,000.
let database: TestDatabase;
let handle: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
  handle = await openDatabase({ dataDir: database.env.DATA_DIR, databaseUrl: database.env.DATABASE_URL });
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

/** The plan PostgreSQL picks for the query `run` sends, were the tables large (they are nearly empty). */
async function planOf(run: (db: Kysely<Database>) => Promise<unknown>): Promise<string> {
  const nodes: RootOperationNode[] = [];
  const capture: KyselyPlugin = {
    transformQuery: (args) => { nodes.push(args.node); return args.node; },
    transformResult: async (args) => args.result,
  };
  const db = handle.db.withPlugin(capture);
  await run(db);
  const compiled = db.getExecutor().compileQuery(nodes[0]!, { queryId: 'plan' });
  return handle.db.transaction().execute(async (trx) => {
    // Priced out, so a plan still sorting (or scanning everything) has no index that gives the order.
    for (const setting of ['enable_seqscan', 'enable_sort', 'enable_bitmapscan']) await sql`select set_config(${setting}, 'off', true)`.execute(trx);
    const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]));
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('the admin lists', () => {
  it.each([
    ['every developer', (db: Kysely<Database>) => createAccountQueries(db).listDevelopers({ limit: 50 }), 'accounts_role_created_idx'],
    ['every application', (db: Kysely<Database>) => createApplicationQueries(db).list({ limit: 50 }), 'applications_created_idx'],
    ['every subscription', (db: Kysely<Database>) => createSubscriptionQueries(db).list({ limit: 50 }), 'subscriptions_created_idx'],
  ])('reads %s newest first from an index, without sorting', async (_name, run, index) => {
    const plan = await planOf(run);
    expect(plan).toContain(index);
    expect(plan).not.toMatch(/\bSort\b/);
  });
});
