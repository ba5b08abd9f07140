import type { ApiRegistrar } from '../http/api-routes.js';
import { ownerOf, sessionOf } from '../http/session.js';
import { idParams, noBody } from '../http/validate.js';
import { applicationListQuery, createApplicationBody, updateApplicationBody } from './schemas.js';
import type { ApplicationService } from './service.js';

/** /api/v1/applications: a developer's own applications. Mounted behind requireSession. */
export function mountApplicationRoutes(api: ApiRegistrar, applications: ApplicationService): void {
  api.post('/api/v1/applications', { summary: 'Create an application (an OAuth client); the secret is shown only here', status: 201, body: createApplicationBody },
    ({ body }, ctx) => applications.create(ownerOf(ctx), body));
  api.get('/api/v1/applications', { summary: 'List your applications', query: applicationListQuery },
    ({ query }, ctx) => applications.list(sessionOf(ctx).account.id, query));
  api.get('/api/v1/applications/:id', { summary: 'One of your applications', params: idParams },
    ({ params }, ctx) => applications.get(sessionOf(ctx).account.id, params.id));
  api.patch('/api/v1/applications/:id', { summary: 'Change an application', params: idParams, body: updateApplicationBody },
    ({ params, body }, ctx) => applications.update(ownerOf(ctx), params.id, body));
  api.delete('/api/v1/applications/:id', { summary: 'Delete an application and its client', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => applications.remove(ownerOf(ctx), params.id));
  api.post('/api/v1/applications/:id/secret', { summary: 'Rotate the client secret', params: idParams, body: noBody },
    ({ params }, ctx) => applications.rotateSecret(ownerOf(ctx), params.id));
}
