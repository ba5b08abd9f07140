import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO_PRODUCTS } from '../../src/catalog/demo.js';
import { renderMarkdown } from '../../src/catalog/markdown.js';
import { createProductBody } from '../../src/catalog/schemas.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
});
afterAll(async () => { await server?.stop(); });

const product = (slug: string, extra: Record<string, unknown> = {}) =>
  ({ slug, name: `Product ${slug}`, type: 'model', category: 'Text', routePrefix: `/p/${slug}`, ...extra });

async function create(body: Record<string, unknown>) {
  const res = await server.api.post('/api/v1/admin/products', body, { token: admin });
  if (res.status !== 201) throw new Error(`product not created: ${res.text}`);
  return res.body;
}

describe('product catalog', () => {
  it('admins create products with every field; anyone reads them by id or slug', async () => {
    const created = await server.api.post('/api/v1/admin/products', {
      slug: 'vision-pro', name: 'Vision Pro', type: 'model', category: 'Vision', description: 'Reads images.',
      overview: '# Vision', guide: 'Send an image.', sampleRequests: [{ title: 'Describe', request: 'POST /vision', response: '{"ok":true}' }, { title: 'No response', request: 'GET /x' }],
      routePrefix: '/models/vision', subscriptionApproval: 'manual',
    }, { token: admin });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), slug: 'vision-pro', status: 'published', subscriptionApproval: 'manual', resourceUri: null, routePrefix: '/models/vision' });

    const bySlug = await server.api.get('/api/v1/products/vision-pro');
    expect(bySlug.status).toBe(200);
    expect(bySlug.body).toEqual(created.body);
    expect(bySlug.body.sampleRequests).toEqual([{ title: 'Describe', request: 'POST /vision', response: '{"ok":true}' }, { title: 'No response', request: 'GET /x' }]);
    expect((await server.api.get(`/api/v1/products/${created.body.id}`)).body.slug).toBe('vision-pro');
    expect((await server.api.get('/api/v1/products/no-such-product')).status).toBe(404);
  });

  it('lists published products only, by type and category, newest first, page by page', async () => {
    const a = await create(product('list-agent-a', { type: 'agent', category: 'Support' }));
    const b = await create(product('list-agent-b', { type: 'agent', category: 'Support' }));
    await create(product('list-agent-draft', { type: 'agent', category: 'Support', status: 'draft' }));
    await create(product('list-mcp', { type: 'mcp', category: 'Support', resourceUri: 'https://mcp.example.com/list' }));

    const agents = await server.api.get('/api/v1/products?type=agent&category=Support&limit=1');
    expect(agents.body.items[0]).not.toHaveProperty('overview');
    const next = await server.api.get(`/api/v1/products?type=agent&category=Support&limit=1&cursor=${agents.body.nextCursor}`);
    expect(next.body.nextCursor).toBeNull();
    const pages = [...agents.body.items, ...next.body.items];
    expect(pages.map((p: { slug: string }) => p.slug).sort()).toEqual([a.slug, b.slug].sort());
    expect(pages[0].createdAt >= pages[1].createdAt).toBe(true); // newest first

    expect((await server.api.get('/api/v1/products/list-agent-draft')).status).toBe(404);
    const drafts = await server.api.get('/api/v1/admin/products?status=draft', { token: admin });
    expect(drafts.body.items.map((p: { slug: string }) => p.slug)).toContain('list-agent-draft');
    expect((await server.api.get('/api/v1/products?type=robot')).status).toBe(400);
  });

  it('searches names, categories and descriptions by word prefixes, in the database', async () => {
    await create(product('search-translate', { name: 'Neural Translator', category: 'Language', description: 'Translates between 40 languages.' }));
    await create(product('search-ocr', { name: 'Document OCR', category: 'Vision', description: 'Extracts text from scanned pages.' }));
    const find = async (q: string) => (await server.api.get(`/api/v1/products?q=${encodeURIComponent(q)}&limit=100`)).body.items.map((p: { slug: string }) => p.slug);
    expect(await find('translat')).toEqual(['search-translate']);
    expect(await find('NEURAL trans')).toEqual(['search-translate']);
    expect(await find('scanned')).toEqual(['search-ocr']);
    expect(await find('vision ocr')).toEqual(['search-ocr']);
    expect(await find('translator ocr')).toEqual([]);
    // Operators and quotes are only separators: no tsquery syntax error, no 500.
    expect(await find("ocr' & !|(")).toEqual(['search-ocr']);
    expect((await server.api.get(`/api/v1/products?q=${encodeURIComponent('&|!():*')}`)).status).toBe(200);
  });

  it('refuses duplicates and bad input with the field named, changing nothing', async () => {
    await create(product('unique-one'));
    const slugTaken = await server.api.post('/api/v1/admin/products', product('unique-one', { routePrefix: '/other' }), { token: admin });
    expect(slugTaken.status).toBe(409);
    expect(slugTaken.body.field).toBe('slug');
    const prefixTaken = await server.api.post('/api/v1/admin/products', product('unique-two', { routePrefix: '/p/unique-one' }), { token: admin });
    expect(prefixTaken.body.field).toBe('routePrefix');

    for (const bad of [
      product('Bad Slug'), product('ok-type', { type: 'robot' }), product('ok-prefix', { routePrefix: 'no-slash' }),
      product('ok-prefix2', { routePrefix: '/trailing/' }), product('ok-prefix3', { routePrefix: '/a/../b' }),
      product('ok-resource', { resourceUri: 'https://mcp.example.com/x' }), // only mcp products have one
      product('ok-resource2', { type: 'mcp', resourceUri: 'http://mcp.example.com/x' }),
      product('ok-samples', { sampleRequests: [{ title: 'x' }] }), product('ok-extra', { price: 3 }),
      product('ok-name', { name: 'n'.repeat(101) }),
      { ...product('ok-uuid'), slug: '12345678-1234-4234-8234-123456789012' }, // would be taken for an id
    ]) {
      const res = await server.api.post('/api/v1/admin/products', bad, { token: admin });
      expect(res.status).toBe(400);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect((await server.api.get('/api/v1/admin/products?limit=100', { token: admin })).body.items.filter((p: { slug: string }) => p.slug.startsWith('ok-'))).toEqual([]);
  });

  it('updates and deletes products, audited; developers may not', async () => {
    const created = await create(product('editable'));
    const dev = await server.developer('catalog-dev');
    expect((await server.api.patch(`/api/v1/admin/products/${created.id}`, { name: 'Hacked' }, { token: dev.token })).status).toBe(403);

    const updated = await server.api.patch(`/api/v1/admin/products/${created.id}`, { name: 'Edited', status: 'draft', subscriptionApproval: 'auto' }, { token: admin });
    expect(updated.body).toMatchObject({ name: 'Edited', status: 'draft', subscriptionApproval: 'auto' });
    const inherit = await server.api.patch(`/api/v1/admin/products/${created.id}`, { subscriptionApproval: null }, { token: admin });
    expect(inherit.body.subscriptionApproval).toBeNull();
    expect((await server.api.patch(`/api/v1/admin/products/${created.id}`, { resourceUri: 'https://mcp.example.com/e' }, { token: admin })).status).toBe(400);

    expect((await server.api.delete(`/api/v1/admin/products/${created.id}`, { token: admin })).status).toBe(204);
    expect((await server.api.get(`/api/v1/admin/products/${created.id}`, { token: admin })).status).toBe(404);
    const audit = await server.api.get(`/api/v1/admin/audit?targetType=product&targetId=${created.id}`, { token: admin });
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(['product.deleted', 'product.updated', 'product.updated', 'product.created']);
  });
});

describe('product texts', () => {
  it('render markdown without letting script in', () => {
    const html = renderMarkdown('# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1)) [ok](https://example.com)');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).not.toMatch(/<script|<img|href="javascript:/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('<a href="https://example.com" rel="nofollow noopener noreferrer">ok</a>');
  });

  it('the demo products are valid products of each type', () => {
    for (const demo of DEMO_PRODUCTS) expect(createProductBody.safeParse(demo).success).toBe(true);
    expect(new Set(DEMO_PRODUCTS.map((p) => p.type))).toEqual(new Set(['model', 'mcp', 'agent']));
  });
});
