import type Router from '@koa/router';
import type Koa from 'koa';
import { actorOf, sessionOf } from '../http/session.js';
import { idParams, noBody, validate } from '../http/validate.js';
import { applicationListQuery, createApplicationBody, updateApplicationBody } from './schemas.js';
import type { ApplicationService } from './service.js';

const ownerOf = (ctx: Koa.Context) => ({ ...actorOf(ctx), accountId: sessionOf(ctx).account.id });

/** /api/v1/applications: a developer's own applications. Mounted behind requireSession. */
export function mountApplicationRoutes(router: Router, applications: ApplicationService): void {
  router.post('/api/v1/applications', async (ctx) => {
    const { body } = validate(ctx, { body: createApplicationBody });
    ctx.status = 201;
    ctx.body = await applications.create(ownerOf(ctx), body);
  });
  router.get('/api/v1/applications', async (ctx) => {
    const { query } = validate(ctx, { query: applicationListQuery });
    ctx.body = await applications.list(sessionOf(ctx).account.id, query);
  });
  router.get('/api/v1/applications/:id', async (ctx) => {
    const { params } = validate(ctx, { params: idParams });
    ctx.body = await applications.get(sessionOf(ctx).account.id, params.id);
  });
  router.patch('/api/v1/applications/:id', async (ctx) => {
    const { params, body } = validate(ctx, { params: idParams, body: updateApplicationBody });
    ctx.body = await applications.update(ownerOf(ctx), params.id, body);
  });
  router.delete('/api/v1/applications/:id', async (ctx) => {
    const { params } = validate(ctx, { params: idParams, body: noBody });
    await applications.remove(ownerOf(ctx), params.id);
    ctx.status = 204;
  });
  router.post('/api/v1/applications/:id/secret', async (ctx) => {
    const { params } = validate(ctx, { params: idParams, body: noBody });
    ctx.body = await applications.rotateSecret(ownerOf(ctx), params.id);
  });
}
