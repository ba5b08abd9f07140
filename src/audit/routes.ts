import type Router from '@koa/router';
import { pageQuery } from '../http/pagination.js';
import { text, uuid, validate } from '../http/validate.js';
import type { AuditService } from './service.js';

const auditQuery = pageQuery.extend({ action: text(1, 100).optional(), actorId: uuid.optional(), targetId: text(1, 200).optional() });

/** /api/v1/admin/audit, newest first. Mounted behind requireSession + requireAdmin. */
export function mountAuditRoutes(router: Router, audit: AuditService): void {
  router.get('/api/v1/admin/audit', async (ctx) => {
    const { query } = validate(ctx, { query: auditQuery });
    ctx.body = await audit.list(query);
  });
}
