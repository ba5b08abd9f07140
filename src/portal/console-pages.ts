import type Router from '@koa/router';
import type Koa from 'koa';
import { createConsumerBody, createCredentialBody } from '../consumers/schemas.js';
import { ownerOf, sessionOf } from '../http/session.js';
import { idParams, validate } from '../http/validate.js';
import { credentialParams } from '../consumers/schemas.js';
import { subscriptionListQuery } from '../subscriptions/schemas.js';
import type { AppServices } from '../app.js';
import { mountConsoleApplicationPages } from './console-applications.js';
import { formError, formInput, formStatus } from './forms.js';
import type { PageSessions } from './page-session.js';

/** The developer console: consumers with their credentials, applications, and subscriptions. */
export function mountConsolePages(router: Router, services: AppServices, pages: PageSessions): void {
  const login = pages.requireLogin();

  async function consumersPage(koaCtx: Koa.Context, extra: { error?: string; values?: Record<string, string> } = {}, status = 200) {
    const accountId = sessionOf(koaCtx).account.id;
    const [consumers, credentials] = await Promise.all([services.consumers.listOfAccount(accountId), services.credentials.listOfAccount(accountId)]);
    const withCredentials = consumers.map((consumer) => ({ ...consumer, credentials: credentials.get(consumer.id) ?? [] }));
    await pages.render(koaCtx, 'console-consumers', { title: 'Consumers', consumers: withCredentials, values: {}, ...extra }, status);
  }

  router.get('/console/consumers', login, (koaCtx) => consumersPage(koaCtx));

  router.post('/console/consumers', login, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      await services.consumers.create(ownerOf(koaCtx), formInput(createConsumerBody, fields));
      pages.redirect(koaCtx, '/console/consumers', 'consumer-created');
    } catch (err) {
      await consumersPage(koaCtx, { error: formError(err), values: { name: fields.name ?? '', description: fields.description ?? '' } }, formStatus(err));
    }
  });

  router.get('/console/consumers/:id/delete', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const consumer = await services.consumers.resolveOwned(sessionOf(koaCtx).account.id, params.id);
    await pages.render(koaCtx, 'console-consumer-delete', { title: `Delete consumer ${consumer.name}?`, consumer });
  });

  router.post('/console/consumers/:id/delete', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    await services.consumers.remove(ownerOf(koaCtx), params.id);
    pages.redirect(koaCtx, '/console/consumers', 'consumer-deleted');
  });

  router.post('/console/consumers/:id/credentials', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const { type } = formInput(createCredentialBody, await pages.form(koaCtx));
    await services.credentials.create(ownerOf(koaCtx), params.id, type);
    pages.redirect(koaCtx, '/console/consumers', 'credential-created');
  });

  router.post('/console/consumers/:id/credentials/:cid/delete', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: credentialParams });
    await pages.form(koaCtx);
    await services.credentials.remove(ownerOf(koaCtx), params.id, params.cid);
    pages.redirect(koaCtx, '/console/consumers', 'credential-deleted');
  });

  router.get('/console/subscriptions', login, async (koaCtx) => {
    const { query } = validate(koaCtx, { query: subscriptionListQuery });
    const page = await services.subscriptions.listOwned(sessionOf(koaCtx).account.id, { ...query, limit: 100 });
    const kept = Object.fromEntries(Object.entries({ status: query.status, consumerId: query.consumerId }).filter((e): e is [string, string] => e[1] !== undefined));
    const more = page.nextCursor ? `/console/subscriptions?${new URLSearchParams({ ...kept, cursor: page.nextCursor })}` : null;
    await pages.render(koaCtx, 'console-subscriptions', { title: 'Subscriptions', subscriptions: page.items, more });
  });

  router.post('/console/subscriptions/:id/cancel', login, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    await services.subscriptions.cancel(ownerOf(koaCtx), params.id);
    pages.redirect(koaCtx, '/console/subscriptions', 'subscription-cancelled');
  });

  mountConsoleApplicationPages(router, services, pages);
}
