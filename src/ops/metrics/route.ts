import type Router from '@koa/router';
import { safeEqual } from '../../crypto/tokens.js';
import { Unauthenticated } from '../../http/errors.js';
import type { Metrics } from './metrics.js';

/**
 * GET /metrics (Prometheus text format). With METRICS_TOKEN set, only `Authorization: Bearer
 * <token>` may read it (compared in constant time); without, it is open and must be kept off the
 * internet by the network (see the README). Not part of the management API's OpenAPI document.
 */
export function mountMetricsRoute(router: Router, metrics: Metrics, token: string | undefined): void {
  router.get('/metrics', async (ctx) => {
    if (token) {
      // fetch and proxies trim `Bearer ` to `Bearer`: no credential then, not a token named "Bearer".
      const presented = /^Bearer\s+(\S+)$/i.exec(ctx.get('Authorization').trim())?.[1] ?? '';
      if (!safeEqual(presented, token)) {
        ctx.set('WWW-Authenticate', 'Bearer realm="portico-metrics"');
        throw new Unauthenticated('GET /metrics needs Authorization: Bearer with the METRICS_TOKEN.');
      }
    }
    const body = await metrics.render();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', metrics.contentType);
    ctx.body = body;
  });
}
