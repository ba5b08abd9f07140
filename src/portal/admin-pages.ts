import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { developerListQuery } from '../accounts/schemas.js';
import type { ModerationAction } from '../accounts/service.js';
import { auditQuery } from '../audit/routes.js';
import type { AppServices } from '../app.js';
import { adminApplicationActionParams, adminApplicationListQuery } from '../applications/schemas.js';
import { actorOf } from '../http/session.js';
import { idParams, text, validate } from '../http/validate.js';
import { dailyQuota, settingsUpdate } from '../settings/schemas.js';
import { decisionParams } from '../subscriptions/schemas.js';
import { mountAdminIdentityProviderPages } from './admin-identity-providers.js';
import { mountAdminProductPages } from './admin-products.js';
import { formError, formInput, formStatus } from './forms.js';
import type { NOTICES } from './notices.js';
import type { PageSessions } from './page-session.js';

const moderationParams = idParams.extend({ action: z.enum(['approve', 'reject', 'ban', 'unban']) });
const DONE: Record<ModerationAction | 'suspend' | 'reinstate', keyof typeof NOTICES> = {
  approve: 'approved', reject: 'rejected', ban: 'banned', unban: 'unbanned', suspend: 'suspended', reinstate: 'reinstated',
};
const STATUS_TABS = [['All', ''], ['Pending', 'pending'], ['Active', 'active'], ['Rejected', 'rejected'], ['Banned', 'banned']] as const;
const APPLICATION_TABS = [['All', ''], ['Development', 'stage=development'], ['In review', 'stage=review'], ['Online', 'stage=online'], ['Suspended', 'suspended=true']] as const;

/** An action's form: an optional reason, and the admin page to come back to. */
const actionForm = z.strictObject({ reason: text(1, 500).optional(), back: text(1, 500).optional() });
/** A quota request's decision: the admin may grant another figure than the one asked for. */
const quotaDecisionForm = actionForm.extend({ dailyQuota: z.coerce.number().pipe(dailyQuota).optional() });

/** Only the pages the action forms sit on (never a URL from elsewhere). */
function backTo(back: string | undefined): string {
  return back && /^\/admin(\/developers(\?status=(pending|active|rejected|banned))?|\/applications(\?(stage=(development|review|online)|suspended=true))?)?$/.test(back) ? back : '/admin';
}

/**
 * The settings form's texts as the API's body (the quota is a number there). An unchecked
 * checkbox sends nothing, so its absence from the (always whole) form means false.
 */
const settingsForm = z.preprocess((input) => {
  const { developerApproval, subscriptionApproval, consumerDailyQuota, allowLoopbackHttpRedirects, clientRegistration, confidentialClientRegistration } = input as Record<string, string | undefined>;
  return {
    developerApproval, subscriptionApproval, consumerDailyQuota: consumerDailyQuota === undefined ? undefined : Number(consumerDailyQuota),
    allowLoopbackHttpRedirects: allowLoopbackHttpRedirects === 'true',
    ...(clientRegistration === undefined ? {} : { clientRegistration }), confidentialClientRegistration: confidentialClientRegistration === 'true',
  };
}, settingsUpdate);

// An empty field of the audit filter form means "any", not an empty text.
const auditFilter = z.preprocess(
  (query) => Object.fromEntries(Object.entries(query as Record<string, unknown>).filter(([, v]) => v !== '')),
  auditQuery,
);
const AUDIT_FILTERS = ['action', 'targetType', 'targetId'] as const;

/** The administrator's pages: the approval queue, developers, applications, products, identity providers, settings and the audit log. */
export function mountAdminPages(router: Router, services: AppServices, pages: PageSessions): void {
  const admin = pages.requireAdmin();
  const { applications } = services;

  router.get('/admin', admin, async (koaCtx) => {
    const queue = await applications.adminQueue();
    await pages.render(koaCtx, 'admin-queue', {
      title: 'Approval queue', developers: queue.developers.items, subscriptions: queue.subscriptions.items, reviews: queue.applications.items, quotaRequests: queue.quotaRequests.items,
    });
  });

  router.post('/admin/developers/:id/:action', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: moderationParams });
    const { reason, back } = formInput(actionForm, await pages.form(koaCtx));
    await services.accounts.moderate(actorOf(koaCtx), params.id, params.action, reason);
    pages.redirect(koaCtx, backTo(back), DONE[params.action]);
  });

  router.post('/admin/subscriptions/:id/:action', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: decisionParams });
    const { reason, back } = formInput(actionForm, await pages.form(koaCtx));
    await services.subscriptions.decide(actorOf(koaCtx), params.id, params.action, reason);
    pages.redirect(koaCtx, backTo(back), DONE[params.action]);
  });

  router.get('/admin/developers', admin, async (koaCtx) => {
    const { query } = validate(koaCtx, { query: developerListQuery });
    const page = await services.accounts.listDevelopers({ ...query, limit: 50 });
    const filter = query.status ? `?status=${query.status}` : '';
    const tabs = STATUS_TABS.map(([label, status]) => ({ label, href: `/admin/developers${status ? `?status=${status}` : ''}`, current: (query.status ?? '') === status }));
    const more = page.nextCursor ? `/admin/developers?${new URLSearchParams({ ...(query.status ? { status: query.status } : {}), cursor: page.nextCursor })}` : null;
    await pages.render(koaCtx, 'admin-developers', { title: 'Developers', developers: page.items, tabs, back: `/admin/developers${filter}`, more });
  });

  router.get('/admin/applications', admin, async (koaCtx) => {
    const { query } = validate(koaCtx, { query: adminApplicationListQuery });
    const page = await applications.listAll({ ...query, limit: 50 });
    const filter = query.stage ? `stage=${query.stage}` : query.suspended ? 'suspended=true' : '';
    const tabs = APPLICATION_TABS.map(([label, tab]) => ({ label, href: `/admin/applications${tab ? `?${tab}` : ''}`, current: filter === tab }));
    const back = `/admin/applications${filter ? `?${filter}` : ''}`;
    const more = page.nextCursor ? `${back}${filter ? '&' : '?'}${new URLSearchParams({ cursor: page.nextCursor })}` : null;
    await pages.render(koaCtx, 'admin-applications', { title: 'Applications', applications: page.items, tabs, back, more });
  });

  router.post('/admin/applications/:id/:action', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: adminApplicationActionParams });
    const { reason, back } = formInput(actionForm, await pages.form(koaCtx));
    await applications.moderate(actorOf(koaCtx), params.id, params.action, reason);
    pages.redirect(koaCtx, backTo(back), DONE[params.action]);
  });

  router.post('/admin/quota-requests/:id/:action', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: decisionParams });
    const { reason, back, dailyQuota: granted } = formInput(quotaDecisionForm, await pages.form(koaCtx));
    if (params.action === 'approve') await applications.quotaRequests.approve(actorOf(koaCtx), params.id, granted);
    else await applications.quotaRequests.reject(actorOf(koaCtx), params.id, reason);
    pages.redirect(koaCtx, backTo(back), DONE[params.action]);
  });

  async function settingsPage(koaCtx: Koa.Context, extra: { error?: string; values?: Record<string, string> } = {}, status = 200) {
    const current = await services.settings.get();
    const values = {
      developerApproval: current.developerApproval, subscriptionApproval: current.subscriptionApproval,
      consumerDailyQuota: String(current.consumerDailyQuota), allowLoopbackHttpRedirects: String(current.allowLoopbackHttpRedirects),
      clientRegistration: current.clientRegistration, confidentialClientRegistration: String(current.confidentialClientRegistration),
    };
    await pages.render(koaCtx, 'admin-settings', { title: 'Settings', values, ...extra }, status);
  }

  router.get('/admin/settings', admin, (koaCtx) => settingsPage(koaCtx));

  router.post('/admin/settings', admin, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      await services.settings.update(actorOf(koaCtx), formInput(settingsForm, fields));
      pages.redirect(koaCtx, '/admin/settings', 'saved');
    } catch (err) {
      const { developerApproval = '', subscriptionApproval = '', consumerDailyQuota = '', clientRegistration = '' } = fields;
      const checked = (field: string) => String(fields[field] === 'true');
      await settingsPage(koaCtx, {
        error: formError(err),
        values: {
          developerApproval, subscriptionApproval, consumerDailyQuota, clientRegistration,
          allowLoopbackHttpRedirects: checked('allowLoopbackHttpRedirects'), confidentialClientRegistration: checked('confidentialClientRegistration'),
        },
      }, formStatus(err));
    }
  });

  router.get('/admin/audit', admin, async (koaCtx) => {
    const { query } = validate(koaCtx, { query: auditFilter });
    const page = await services.audit.list({ ...query, limit: 50 });
    const filters = Object.fromEntries(AUDIT_FILTERS.map((key) => [key, query[key] ?? '']));
    const kept = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ''));
    const more = page.nextCursor ? `/admin/audit?${new URLSearchParams({ ...kept, cursor: page.nextCursor })}` : null;
    const events = page.items.map((e) => ({ ...e, detailsJson: JSON.stringify(e.details) }));
    await pages.render(koaCtx, 'admin-audit', { title: 'Audit log', events, filters, more });
  });

  mountAdminProductPages(router, services, pages);
  mountAdminIdentityProviderPages(router, services.federation, pages);
}
