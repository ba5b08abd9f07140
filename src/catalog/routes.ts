import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { idParams, noBody } from '../http/validate.js';
import { adminProductListQuery, createProductBody, idOrSlugParams, productListQuery, updateProductBody } from './schemas.js';
import type { CatalogService } from './service.js';

/** /api/v1/products: the public catalog. */
export function mountCatalogRoutes(api: ApiRegistrar, catalog: CatalogService): void {
  api.get('/api/v1/products', { summary: 'The catalog: published products by type and category, with full-text search (q)', query: productListQuery },
    ({ query }) => catalog.list(query));
  api.get('/api/v1/products/:idOrSlug', { summary: 'A published product, with overview, guide and sample requests', params: idOrSlugParams },
    ({ params }) => catalog.get(params.idOrSlug));
}

/** /api/v1/admin/products. Mounted behind requireSession + requireAdmin. */
export function mountCatalogAdminRoutes(api: ApiRegistrar, catalog: CatalogService): void {
  const drafts = { includeDrafts: true };
  api.get('/api/v1/admin/products', { summary: 'Every product, drafts included', query: adminProductListQuery },
    ({ query }) => catalog.list(query, drafts));
  api.get('/api/v1/admin/products/:id', { summary: 'A product, draft or published', params: idParams },
    ({ params }) => catalog.get(params.id, drafts));
  api.post('/api/v1/admin/products', { summary: 'Create a product', status: 201, body: createProductBody },
    ({ body }, ctx) => catalog.create(actorOf(ctx), body));
  api.patch('/api/v1/admin/products/:id', { summary: 'Change a product', params: idParams, body: updateProductBody },
    ({ params, body }, ctx) => catalog.update(actorOf(ctx), params.id, body));
  api.delete('/api/v1/admin/products/:id', { summary: 'Delete a product and its subscriptions', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => catalog.remove(actorOf(ctx), params.id));
}
