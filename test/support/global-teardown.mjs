import fs from 'node:fs';
import pg from 'pg';

export default async function globalTeardown() {
  const dir = process.env.PORTICO_TEST_TEMPLATE_DIR;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  const templateDb = process.env.PORTICO_TEST_TEMPLATE_DB;
  if (templateDb && process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${templateDb} WITH (FORCE)`);
    await admin.end();
  }
}
