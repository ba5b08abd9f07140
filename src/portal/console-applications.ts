import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { AppServices } from '../app.js';
import { raiseFigures } from '../applications/quota-requests.js';
import { createApplicationBody, quotaRequestBody, updateApplicationBody } from '../applications/schemas.js';
import { ownerOf, sessionOf } from '../http/session.js';
import { idParams, validate } from '../http/validate.js';
import { formError, formInput, formStatus } from './forms.js';
import { NOTICES } from './notices.js';
import type { PageSessions } from './page-session.js';
import { usageChartSvg } from './usage-chart.js';

/** Days the usage chart shows. */
const CHART_DAYS = 30;

/** A form's texts as the API's body: one redirect URI a line. */
const withRedirectLines = <T extends z.ZodType>(body: T) => z.preprocess((input) => {
  const { redirectUris, ...rest } = input as Record<string, string | undefined>;
  return { ...rest, ...(redirectUris === undefined ? {} : { redirectUris: redirectUris.split(/\r?\n/).map((uri) => uri.trim()).filter(Boolean) }) };
}, body);
const createForm = withRedirectLines(createApplicationBody);
const editForm = withRedirectLines(updateApplicationBody);
/** The edit form's fields that count when empty: no name is refused, no redirect URI means none. */
const EDIT_FIELDS = ['name', 'redirectUris'];

/** The raise form's texts as the API's body (the quota is a number there). */
const quotaForm = quotaRequestBody.extend({ dailyQuota: z.coerce.number().pipe(quotaRequestBody.shape.dailyQuota) });

const EVENT_LABELS: Record<string, string> = {
  'application.created': 'Created',
  'application.updated': 'Changed',
  'application.secret_rotated': 'Secret rotated',
  'application.go_live_requested': 'Go-live requested',
  'application.approved': 'Go-live approved',
  'application.rejected': 'Go-live rejected',
  'application.suspended': 'Suspended',
  'application.reinstated': 'Reinstated',
  'application.first_party_changed': 'First-party changed',
};

/** An event of the application's history as the page tells it: what, the move it made and why. */
function describeEvent(event: { occurredAt: string; action: string; by: string; details: unknown }) {
  const { from, to, reason } = (event.details ?? {}) as { from?: string; to?: string; reason?: string };
  return {
    at: event.occurredAt, by: event.by, what: EVENT_LABELS[event.action] ?? event.action,
    move: from && to ? `${from} → ${to}` : '', reason: reason ?? '',
  };
}

type PageExtra = { secret?: string; notice?: string; error?: string; editError?: string; goLiveError?: string; quotaError?: string; values?: Record<string, string> };

/**
 * The console's applications: list and create, and each application's page with its usage, quota
 * requests and history, where the owner edits it or deletes it after a confirmation.
 */
export function mountConsoleApplicationPages(router: Router, services: AppServices, pages: PageSessions): void {
  const login = pages.requireLogin();
  const { applications } = services;

  async function listPage(koaCtx: Koa.Context, extra: PageExtra = {}, status = 200) {
    const accountId = sessionOf(koaCtx).account.id;
    const [page, consumers] = await Promise.all([applications.list(accountId, { limit: 100 }), services.consumers.listOfAccount(accountId)]);
    await pages.render(koaCtx, 'console-applications', { title: 'Applications', applications: page.items, consumers, values: {}, ...extra }, status);
  }

  async function applicationPage(koaCtx: Koa.Context, id: string, extra: PageExtra = {}, status = 200) {
    const accountId = sessionOf(koaCtx).account.id;
    const app = await applications.get(accountId, id); // 404 for another owner's
    const [consumer, usage, quotaRequests, history] = await Promise.all([
      services.consumers.resolveOwned(accountId, app.consumerId),
      applications.usage(accountId, id, CHART_DAYS),
      applications.quotaRequests.listOwned(accountId, id, { limit: 20 }),
      applications.events(accountId, id, { limit: 50 }),
    ]);
    const figures = raiseFigures(usage.dailyQuota, usage.today);
    await pages.render(koaCtx, 'console-application', {
      title: app.name, app, consumer, usage, chart: usageChartSvg(usage),
      share: figures.share.toFixed(1), raiseFrom: figures.threshold,
      quotaRequests: quotaRequests.items, pendingRequest: quotaRequests.items.find((r) => r.status === 'pending'),
      history: history.items.map(describeEvent), values: {}, ...extra,
    }, status);
  }

  router.get('/console/applications', login, (koaCtx) => listPage(koaCtx));

  // The secret is shown once, on the page this post answers: never in a URL or a redirect.
  router.post('/console/applications', login, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    let created;
    try {
      created = await applications.create(ownerOf(koaCtx), formInput(createForm, fields));
    } catch (err) {
      const { name = '', redirectUris = '', consumerId = '' } = fields;
      return listPage(koaCtx, { error: formError(err), values: { name, redirectUris, consumerId } }, formStatus(err));
    }
    await applicationPage(koaCtx, created.id, { secret: created.clientSecret ?? undefined, notice: NOTICES['application-created'] }, 201);
  });

  router.get('/console/applications/:id', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await applicationPage(koaCtx, params.id);
  });

  router.post('/console/applications/:id', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const fields = await pages.form(koaCtx);
    try {
      await applications.update(ownerOf(koaCtx), params.id, formInput(editForm, fields, EDIT_FIELDS));
      pages.redirect(koaCtx, `/console/applications/${params.id}`, 'application-saved');
    } catch (err) {
      // An http redirect URI past development, too: the service knows the stage and the admin's exception.
      const { name = '', redirectUris = '' } = fields;
      await applicationPage(koaCtx, params.id, { editError: formError(err), values: { name, redirectUris } }, formStatus(err));
    }
  });

  router.get('/console/applications/:id/delete', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const app = await applications.get(sessionOf(koaCtx).account.id, params.id);
    await pages.render(koaCtx, 'console-application-delete', { title: `Delete application ${app.name}?`, app });
  });

  router.post('/console/applications/:id/delete', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    await applications.remove(ownerOf(koaCtx), params.id);
    pages.redirect(koaCtx, '/console/applications', 'application-deleted');
  });

  router.post('/console/applications/:id/secret', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    const { clientSecret } = await applications.rotateSecret(ownerOf(koaCtx), params.id);
    await applicationPage(koaCtx, params.id, { secret: clientSecret, notice: NOTICES['secret-rotated'] });
  });

  router.post('/console/applications/:id/go-live', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    try {
      await applications.requestGoLive(ownerOf(koaCtx), params.id);
      pages.redirect(koaCtx, `/console/applications/${params.id}`, 'go-live-requested');
    } catch (err) {
      // A conflict (http redirect URIs, a suspension) is told on the application's page.
      await applicationPage(koaCtx, params.id, { goLiveError: formError(err) }, formStatus(err));
    }
  });

  router.post('/console/applications/:id/quota-requests', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const fields = await pages.form(koaCtx);
    try {
      await applications.quotaRequests.create(ownerOf(koaCtx), params.id, formInput(quotaForm, fields));
      pages.redirect(koaCtx, `/console/applications/${params.id}`, 'quota-requested');
    } catch (err) {
      // quota_raise_not_allowed (409) says today's figures; shown above the form it refused.
      const { dailyQuota = '', reason = '' } = fields;
      await applicationPage(koaCtx, params.id, { quotaError: formError(err), values: { dailyQuota, reason } }, formStatus(err));
    }
  });
}
