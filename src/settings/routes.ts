import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { settingsUpdate } from './schemas.js';
import type { SettingsService } from './service.js';

/** /api/v1/admin/settings. Mounted behind requireSession + requireAdmin. */
export function mountSettingsRoutes(api: ApiRegistrar, settings: SettingsService): void {
  api.get('/api/v1/admin/settings', { summary: 'Platform settings' }, () => settings.get());
  api.put('/api/v1/admin/settings', { summary: 'Change any subset of the settings', body: settingsUpdate },
    ({ body }, ctx) => settings.update(actorOf(ctx), body));
}
