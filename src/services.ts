import { createAccountService } from './accounts/service.js';
import { createSessionService } from './accounts/sessions.js';
import { createAuditService } from './audit/service.js';
import { createCatalogService } from './catalog/service.js';
import { createCredentialService } from './consumers/credentials.js';
import { createConsumerService } from './consumers/service.js';
import type { AppContext } from './context.js';
import { createSettingsService } from './settings/service.js';
import { createClientStore } from './oidc/clients.js';
import { createSubscriptionService } from './subscriptions/service.js';
import { createUsageCounter } from './usage/counter.js';
import { createGatewayCache } from './gateway/cache.js';
import { createFederationService } from './federation/service.js';
import { createApplicationDirectory } from './applications/directory.js';
import { createOrganizationService } from './organizations/service.js';
import { createLicenseService } from './licenses/service.js';
import { createRateLimits } from './rate-limits/service.js';
import { createClientRegistration } from './client-registration/service.js';

/** The composition root: every domain service, wired once per process. */
export async function createServices(ctx: AppContext) {
  const audit = createAuditService(ctx.db);
  const settings = await createSettingsService(ctx, audit);
  const consumers = createConsumerService(ctx, { audit, settings });
  const credentials = createCredentialService(ctx, { audit, consumers });
  const accounts = await createAccountService(ctx, { audit, consumers, settings });
  const rateLimits = await createRateLimits(ctx, { audit });
  const sessions = createSessionService(ctx, { audit, rateLimits });
  const catalog = createCatalogService(ctx, { audit });
  const subscriptions = createSubscriptionService(ctx, { audit, settings, consumers, catalog, accounts });
  const clients = createClientStore(ctx, { accounts, settings });
  const clientRegistration = createClientRegistration(ctx, { audit, clients, settings, rateLimits });
  // The embedded database writes durably on this very thread: fewer, larger writes (one node only,
  // so neither the report delay nor the chunk size can strand units another node needs).
  const usage = createUsageCounter(ctx, ctx.config.databaseUrl ? {} : { flushMs: 1_000, chunkMax: 5_000 });
  const gatewayCache = createGatewayCache(ctx, { credentials });
  const federation = await createFederationService(ctx, { audit, accounts });
  const organizations = createOrganizationService(ctx, { audit, accounts, clients, applications: createApplicationDirectory(ctx.db) });
  const licenses = createLicenseService(ctx, { audit, organizations, applications: createApplicationDirectory(ctx.db) });
  await Promise.all([clients.ready, usage.ready, gatewayCache.ready]);
  return { audit, settings, consumers, credentials, accounts, sessions, catalog, subscriptions, clients, usage, gatewayCache, federation, organizations, licenses, rateLimits, clientRegistration };
}
export type Services = Awaited<ReturnType<typeof createServices>>;
