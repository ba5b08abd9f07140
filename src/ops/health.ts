import type Router from '@koa/router';
import { sql, type Kysely } from 'kysely';
import { migrationsApplied } from '../db/migrate.js';
import type { Database } from '../db/types.js';

/** /healthz: the process answers. /readyz: the database answers and every migration is applied. */
export function mountHealthRoutes(router: Router, db: Kysely<Database>): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    try {
      await sql`select 1`.execute(db);
      if (!(await migrationsApplied(db))) {
        ctx.status = 503;
        ctx.body = { status: 'unavailable', reason: 'migrations pending' };
        return;
      }
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: 'database unreachable' };
    }
  });
}
