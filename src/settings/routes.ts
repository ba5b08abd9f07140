import type Router from '@koa/router';
import { validate } from '../http/validate.js';
import { actorOf } from '../http/session.js';
import { settingsUpdate } from './schemas.js';
import type { SettingsService } from './service.js';

/** /api/v1/admin/settings. Mounted behind requireSession + requireAdmin. */
export function mountSettingsRoutes(router: Router, settings: SettingsService): void {
  router.get('/api/v1/admin/settings', async (ctx) => {
    ctx.body = await settings.get();
  });
  router.put('/api/v1/admin/settings', async (ctx) => {
    const { body } = validate(ctx, { body: settingsUpdate });
    ctx.body = await settings.update(actorOf(ctx), body);
  });
}
