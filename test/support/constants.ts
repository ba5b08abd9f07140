/** The PORTICO_SECRET of every test database (the migrated templates are sealed with it). */
export const TEST_SECRET = process.env.PORTICO_TEST_SECRET ?? 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const ADMIN = { username: 'root', password: 'admin-password-1' };
export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
export const MAIN_JS = `${REPO_ROOT}dist/src/main.js`;
export const CLI_JS = `${REPO_ROOT}dist/src/cli/main.js`;
