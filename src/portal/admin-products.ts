import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { adminProductListQuery, createProductBody, PRODUCT_TYPES, updateProductBody } from '../catalog/schemas.js';
import type { Product } from '../catalog/service.js';
import { actorOf } from '../http/session.js';
import { idParams, validate } from '../http/validate.js';
import type { Services } from '../services.js';
import { formError, formInput, formStatus } from './forms.js';
import type { PageSessions } from './page-session.js';

const TEXT_FIELDS = ['slug', 'name', 'type', 'category', 'description', 'routePrefix', 'status', 'overview', 'guide'] as const;
const FORM_FIELDS = [...TEXT_FIELDS, 'resourceUri', 'subscriptionApproval', 'sampleRequests'];
type FormValues = Record<string, string>;

/**
 * The product form's texts as the API's body: the optional selects and the resource URI left out
 * (create) or null (update: back to "inherit" / none), the sample requests parsed from JSON.
 */
function productForm<T extends z.ZodType>(body: T, emptyMeans: 'absent' | 'null') {
  return z.preprocess((input, ctx) => {
    const fields = input as FormValues;
    const out: Record<string, unknown> = {};
    for (const key of TEXT_FIELDS) out[key] = fields[key] ?? '';
    for (const key of ['resourceUri', 'subscriptionApproval']) {
      if (fields[key]) out[key] = fields[key];
      else if (emptyMeans === 'null') out[key] = null;
    }
    const samples = fields.sampleRequests?.trim() ?? '';
    try {
      out.sampleRequests = samples ? JSON.parse(samples) : [];
    } catch {
      ctx.addIssue({ code: 'custom', path: ['sampleRequests'], message: 'is not valid JSON (expected an array of {"title", "request", "response"})' });
    }
    return out;
  }, body);
}
const createForm = productForm(createProductBody, 'absent');
const updateForm = productForm(updateProductBody, 'null');

/** A stored product as the form's texts. */
function valuesOf(product: Product): FormValues {
  return {
    slug: product.slug, name: product.name, type: product.type, category: product.category, description: product.description,
    routePrefix: product.routePrefix, resourceUri: product.resourceUri ?? '', status: product.status,
    subscriptionApproval: product.subscriptionApproval ?? '', overview: product.overview, guide: product.guide,
    sampleRequests: JSON.stringify(product.sampleRequests, null, 2),
  };
}

/** What the form posted, to show it again beside the error. */
function postedValues(fields: FormValues): FormValues {
  return Object.fromEntries(FORM_FIELDS.map((key) => [key, fields[key] ?? '']));
}

const EMPTY: FormValues = { type: 'model', status: 'published', subscriptionApproval: '', sampleRequests: '[]' };

/** /admin/products: every product (drafts too), the editor, and deletion after confirmation. */
export function mountAdminProductPages(router: Router, services: Services, pages: PageSessions): void {
  const admin = pages.requireAdmin();

  async function editor(koaCtx: Koa.Context, data: { product?: Product; values: FormValues; error?: string }, status = 200) {
    const title = data.product ? `Edit ${data.product.name}` : 'New product';
    await pages.render(koaCtx, 'admin-product-form', { title, types: PRODUCT_TYPES, ...data }, status);
  }

  router.get('/admin/products', admin, async (koaCtx) => {
    const { query } = validate(koaCtx, { query: adminProductListQuery });
    const page = await services.catalog.list({ ...query, limit: 100 }, { includeDrafts: true });
    const more = page.nextCursor ? `/admin/products?cursor=${page.nextCursor}` : null;
    await pages.render(koaCtx, 'admin-products', { title: 'Products', products: page.items, more });
  });

  // Before /:id, which would take "new" for an id.
  router.get('/admin/products/new', admin, (koaCtx) => editor(koaCtx, { values: EMPTY }));

  router.post('/admin/products', admin, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      await services.catalog.create(actorOf(koaCtx), formInput(createForm, fields, FORM_FIELDS));
      pages.redirect(koaCtx, '/admin/products', 'saved');
    } catch (err) {
      await editor(koaCtx, { values: postedValues(fields), error: formError(err) }, formStatus(err));
    }
  });

  router.get('/admin/products/:id', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const product = await services.catalog.get(params.id, { includeDrafts: true });
    await editor(koaCtx, { product, values: valuesOf(product) });
  });

  router.post('/admin/products/:id', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const fields = await pages.form(koaCtx);
    const product = await services.catalog.get(params.id, { includeDrafts: true });
    try {
      await services.catalog.update(actorOf(koaCtx), product.id, formInput(updateForm, fields, FORM_FIELDS));
      pages.redirect(koaCtx, '/admin/products', 'saved');
    } catch (err) {
      await editor(koaCtx, { product, values: postedValues(fields), error: formError(err) }, formStatus(err));
    }
  });

  router.get('/admin/products/:id/delete', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const product = await services.catalog.get(params.id, { includeDrafts: true });
    await pages.render(koaCtx, 'admin-product-delete', { title: `Delete product ${product.name}?`, product });
  });

  router.post('/admin/products/:id/delete', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    await services.catalog.remove(actorOf(koaCtx), params.id);
    pages.redirect(koaCtx, '/admin/products', 'deleted');
  });
}
