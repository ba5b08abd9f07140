import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { developerListQuery } from '../accounts/schemas.js';
import type { ModerationAction } from '../accounts/service.js';
import { auditQuery } from '../audit/routes.js';
import { actorOf } from '../http/session.js';
import { idParams, text, validate } from '../http/validate.js';
import type { Services } from '../services.js';
import { settingsUpdate } from '../settings/schemas.js';
import { decisionParams } from '../subscriptions/schemas.js';
import { mountAdminProductPages } from './admin-products.js';
import { formError, formInput, formStatus } from './forms.js';
import type { NOTICES } from './notices.js';
import type { PageSessions } from './page-session.js';

const moderationParams = idParams.extend({ action: z.enum(['approve', 'reject', 'ban', 'unban']) });
const DONE: Record<ModerationAction, keyof typeof NOTICES> = { approve: 'approved', reject: 'rejected', ban: 'banned', unban: 'unbanned' };
const STATUS_TABS = [['All', ''], ['Pending', 'pending'], ['Active', 'active'], ['Rejected', 'rejected'], ['Banned', 'banned']] as const;

/** An action's form: an optional reason, and the admin page to come back to. */
const actionForm = z.strictObject({ reason: text(1, 500).optional(), back: text(1, 500).optional() });

/** Only the pages the action forms sit on (never a URL from elsewhere). */
function backTo(back: string | undefined): string {
  return back && /^\/admin(\/developers(\?status=(pending|active|rejected|banned))?)?$/.test(back) ? back : '/admin';
}

/** The settings form's texts as the API's body (the quota is a number there). */
const settingsForm = z.preprocess((input) => {
  const { developerApproval, subscriptionApproval, consumerDailyQuota } = input as Record<string, string | undefined>;
  return { developerApproval, subscriptionApproval, consumerDailyQuota: consumerDailyQuota === undefined ? undefined : Number(consumerDailyQuota) };
}, settingsUpdate);

// An empty field of the audit filter form means "any", not an empty text.
const auditFilter = z.preprocess(
  (query) => Object.fromEntries(Object.entries(query as Record<string, unknown>).filter(([, v]) => v !== '')),
  auditQuery,
);
const AUDIT_FILTERS = ['action', 'targetType', 'targetId'] as const;

/** The administrator's pages: the approval queue, developers, products, settings and the audit log. */
export function mountAdminPages(router: Router, services: Services, pages: PageSessions): void {
  const admin = pages.requireAdmin();

  router.get('/admin', admin, async (koaCtx) => {
    const { developers, subscriptions } = await services.subscriptions.adminQueue();
    await pages.render(koaCtx, 'admin-queue', { title: 'Approval queue', developers: developers.items, subscriptions: subscriptions.items });
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

  async function settingsPage(koaCtx: Koa.Context, extra: { error?: string; values?: Record<string, string> } = {}, status = 200) {
    const current = await services.settings.get();
    const values = { developerApproval: current.developerApproval, subscriptionApproval: current.subscriptionApproval, consumerDailyQuota: String(current.consumerDailyQuota) };
    await pages.render(koaCtx, 'admin-settings', { title: 'Settings', values, ...extra }, status);
  }

  router.get('/admin/settings', admin, (koaCtx) => settingsPage(koaCtx));

  router.post('/admin/settings', admin, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      await services.settings.update(actorOf(koaCtx), formInput(settingsForm, fields));
      pages.redirect(koaCtx, '/admin/settings', 'saved');
    } catch (err) {
      const { developerApproval = '', subscriptionApproval = '', consumerDailyQuota = '' } = fields;
      await settingsPage(koaCtx, { error: formError(err), values: { developerApproval, subscriptionApproval, consumerDailyQuota } }, formStatus(err));
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
}
