import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  /** DATA_DIR, and DATABASE_URL when the suite runs against PostgreSQL. */
  env: { DATA_DIR: string; DATABASE_URL?: string };
  drop(): Promise<void>;
}

async function onServer(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try { await admin.query(sql); } finally { await admin.end(); }
}

/**
 * A fresh, migrated database of its own for one test file: a copy of the PGlite template, or a
 * PostgreSQL database created from the template database when DATABASE_URL is set.
 * `fresh: true` gives an empty DATA_DIR instead (a first start).
 */
export async function createTestDatabase(options: { fresh?: boolean } = {}): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-test-'));
  const templateDir = process.env.PORTICO_TEST_TEMPLATE_DIR;
  if (!options.fresh && templateDir) fs.cpSync(templateDir, dataDir, { recursive: true });
  fs.rmSync(path.join(dataDir, 'portico-secret'), { force: true });

  const templateDb = process.env.PORTICO_TEST_TEMPLATE_DB;
  let databaseUrl: string | undefined;
  let dbName: string | undefined;
  if (process.env.DATABASE_URL) {
    dbName = `portico_test_${randomBytes(6).toString('hex')}`;
    await onServer(options.fresh || !templateDb ? `CREATE DATABASE ${dbName}` : `CREATE DATABASE ${dbName} TEMPLATE ${templateDb}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
  }
  return {
    env: databaseUrl ? { DATA_DIR: dataDir, DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir },
    async drop() {
      if (dbName) await onServer(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
