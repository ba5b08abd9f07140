import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { pageQuery } from '../http/pagination.js';
import { text, uuid } from '../http/validate.js';
import type { AuditService } from './service.js';

export const auditQuery = pageQuery.extend({
  action: text(1, 100).optional(),
  actorId: uuid.optional(),
  targetType: text(1, 100).optional(),
  targetId: text(1, 200).optional(),
  since: z.iso.datetime({ offset: true }).transform((v) => new Date(v)).optional(),
  until: z.iso.datetime({ offset: true }).transform((v) => new Date(v)).optional(),
});

/** /api/v1/admin/audit, newest first. Mounted behind requireSession + requireAdmin. */
export function mountAuditRoutes(api: ApiRegistrar, audit: AuditService): void {
  api.get('/api/v1/admin/audit', { summary: 'Audit events, newest first, filtered by action, actor, target and time (since inclusive, until exclusive)', query: auditQuery },
    ({ query }) => audit.list(query));
}
