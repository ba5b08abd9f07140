import { describe } from '@jest/globals';
import { ADMIN, TEST_SECRET } from './constants.js';
import { createTestDatabase } from './database.js';
import { spawnPortico } from './process.js';

/** Two server processes can share only a PostgreSQL database (the embedded one is locked to one). */
export const onPostgres = process.env.DATABASE_URL ? describe : describe.skip;

/** `env` is what the nodes were started with (database, secret), for a CLI run against them. */
export interface TwoNodes { urls: string[]; env: Record<string, string>; stop(): Promise<void> }

/**
 * Two built servers on one fresh database, with one issuer as behind one load balancer (a token
 * of one is valid on the other) and the test admin account.
 */
export async function startTwoNodes(issuer: string, extraEnv: Record<string, string> = {}): Promise<TwoNodes> {
  const database = await createTestDatabase();
  const env = {
    ...database.env, PORT: '0', PORTICO_SECRET: TEST_SECRET, ISSUER: issuer,
    PORTICO_ADMIN_USERNAME: ADMIN.username, PORTICO_ADMIN_PASSWORD: ADMIN.password, ...extraEnv,
  };
  // One after the other: the first creates the admin account.
  const nodes = [spawnPortico(env)];
  await nodes[0]!.ready;
  nodes.push(spawnPortico(env));
  const urls = await Promise.all(nodes.map((n) => n.ready));
  return {
    urls, env,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      await database.drop();
    },
  };
}

/** Runs calls `from` up to `to`, `concurrency` at a time, the i-th on node i % 2; returns their statuses. */
export async function callsSplitBetweenNodes(urls: string[], range: { from?: number; to: number }, concurrency: number, call: (url: string) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = range.from ?? 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < range.to) {
      const i = next++;
      statuses.push(await call(urls[i % 2]!));
    }
  }));
  return statuses;
}
