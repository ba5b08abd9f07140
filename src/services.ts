import { createAccountService } from './accounts/service.js';
import { createSessionService } from './accounts/sessions.js';
import { createAuditService } from './audit/service.js';
import { createConsumerService } from './consumers/service.js';
import type { AppContext } from './context.js';
import { createSettingsService } from './settings/service.js';
import { createClientStore } from './oidc/clients.js';

/** The composition root: every domain service, wired once per process. */
export async function createServices(ctx: AppContext) {
  const audit = createAuditService(ctx.db);
  const settings = await createSettingsService(ctx, audit);
  const consumers = createConsumerService(ctx.db);
  const accounts = await createAccountService(ctx, { audit, consumers, settings });
  const sessions = createSessionService(ctx, { audit });
  const clients = createClientStore(ctx, accounts);
  await clients.ready;
  return { audit, settings, consumers, accounts, sessions, clients };
}
export type Services = Awaited<ReturnType<typeof createServices>>;
