import { z } from 'zod';
import { isLoopbackHost } from '../config/index.js';
import { pageQuery } from '../http/pagination.js';
import { atLeastOneField, text } from '../http/validate.js';

export const PRODUCT_TYPES = ['model', 'mcp', 'agent'] as const;
export const productType = z.enum(PRODUCT_TYPES);
const approvalMode = z.enum(['auto', 'manual']);

const slug = z.string().min(2).max(64).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes')
  // Products are found by id or slug: a slug shaped like a UUID would be taken for an id.
  .refine((v) => !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(v), 'must not look like a UUID');
const category = text(1, 50).refine((v) => v.trim() === v, 'must not start or end with spaces');
// Path segments of unreserved characters, without a trailing slash: the gateway matches whole segments.
const routePrefix = z.string().max(200).regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'a path such as /models/chat (segments of letters, digits, ".", "_", "~", "-"; no trailing slash)')
  .refine((v) => !v.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments');
// The MCP server's public URL, its OAuth resource identifier (RFC 8707: absolute, no fragment).
const resourceUri = text(1, 2000).refine((v) => {
  if (!URL.canParse(v) || v.includes('#')) return false;
  const url = new URL(v);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}, 'must be an https URL without a fragment (http only on localhost)');
const sampleRequest = z.strictObject({ title: text(1, 100), request: text(1, 10_000), response: text(0, 10_000).optional() });

const productFields = {
  slug,
  name: text(1, 100),
  type: productType,
  category,
  description: text(0, 300),
  overview: text(0, 20_000),
  guide: text(0, 20_000),
  sampleRequests: z.array(sampleRequest).max(20),
  routePrefix,
  status: z.enum(['published', 'draft']),
  subscriptionApproval: approvalMode,
  resourceUri,
};

const onlyMcpHasResource = (v: { type?: string; resourceUri?: string | null }) => !v.resourceUri || v.type === undefined || v.type === 'mcp';

export const createProductBody = z.strictObject({
  ...productFields,
  description: productFields.description.default(''),
  overview: productFields.overview.default(''),
  guide: productFields.guide.default(''),
  sampleRequests: productFields.sampleRequests.default([]),
  status: productFields.status.default('published'),
  subscriptionApproval: productFields.subscriptionApproval.optional(),
  resourceUri: productFields.resourceUri.optional(),
}).refine(onlyMcpHasResource, { message: 'only an mcp product has a resourceUri', path: ['resourceUri'] });
export type CreateProduct = z.output<typeof createProductBody>;

export const updateProductBody = z.strictObject(productFields).partial().extend({
  // null: back to the platform setting / no resource.
  subscriptionApproval: productFields.subscriptionApproval.nullable().optional(),
  resourceUri: productFields.resourceUri.nullable().optional(),
}).refine(...atLeastOneField);
export type UpdateProduct = z.output<typeof updateProductBody>;

export const productListQuery = pageQuery.extend({
  type: productType.optional(),
  category: text(1, 50).optional(),
  q: text(1, 200).optional(),
});
export type ProductFilter = z.output<typeof productListQuery>;

export const adminProductListQuery = productListQuery.extend({ status: productFields.status.optional() });

export const idOrSlugParams = z.object({ idOrSlug: text(1, 64) });
