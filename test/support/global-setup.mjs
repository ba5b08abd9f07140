// Plain ESM: jest loads global setup outside its module registry (no TypeScript, no path mapping).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const CLI_JS = path.resolve('dist/src/cli/main.js');

/**
 * Migrates one template database per run, which every test file copies: a PGlite directory,
 * and, when DATABASE_URL is set, a PostgreSQL database used as CREATE DATABASE ... TEMPLATE.
 * Runs the built CLI (npm test builds first), which is also what `npm run cli -- migrate` runs.
 * The templates are sealed with PORTICO_TEST_SECRET, which test/support/constants.ts reads.
 */
export default async function globalSetup() {
  process.env.PORTICO_TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
  const templateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-template-'));
  const env = { ...process.env, DATA_DIR: templateDir, PORTICO_SECRET: process.env.PORTICO_TEST_SECRET, LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  execFileSync(process.execPath, [CLI_JS, 'migrate'], { env, stdio: 'pipe' });
  process.env.PORTICO_TEST_TEMPLATE_DIR = templateDir;

  if (process.env.DATABASE_URL) {
    const templateDb = `portico_tpl_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${templateDb}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${templateDb}`;
    execFileSync(process.execPath, [CLI_JS, 'migrate'], { env: { ...env, DATABASE_URL: url.toString() }, stdio: 'pipe' });
    process.env.PORTICO_TEST_TEMPLATE_DB = templateDb;
  }
}
