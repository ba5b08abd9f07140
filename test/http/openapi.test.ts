import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => { await server?.stop(); });

describe('the OpenAPI document', () => {
  it('names every management API route the server serves, with its method', async () => {
    const res = await server.api.get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const served = server.portico.routes.filter((r) => r.path.startsWith('/api/v1/') && r.path !== '/api/v1/oauth2/token');
    expect(served.length).toBeGreaterThan(30);
    const missing = served.filter((r) => !res.body.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]);
    expect(missing).toEqual([]);
  });

  it('is generated from the schemas the routes validate with', async () => {
    const { body: doc } = await server.api.get('/api/v1/openapi.json');
    const register = doc.paths['/api/v1/developers'].post;
    const schema = register.requestBody.content['application/json'].schema;
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['username', 'password'] });
    expect(schema.properties.username).toMatchObject({ minLength: 3, maxLength: 64 });
    expect(register.responses['201']).toBeDefined();

    const credentials = doc.paths['/api/v1/consumers/{id}/credentials'].post;
    expect(credentials.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(credentials.requestBody.content['application/json'].schema.properties.type.enum).toEqual(['api-key', 'ak-sk']);
    expect(credentials.security).toEqual([{ session: [] }, { sessionCookie: [] }]);

    const products = doc.paths['/api/v1/products'].get;
    expect(products.security).toEqual([]);
    expect(products.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['category', 'cursor', 'limit', 'q', 'type']);
    expect(doc.paths['/api/v1/admin/products'].post.description).toMatch(/Administrators/);
  });
});
