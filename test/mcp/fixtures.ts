import type { TestServer } from '../support/server.js';

export const WEATHER = 'https://mcp.example.com/mcp/weather';
export const NOTES = 'https://mcp.example.com/mcp/notes';

/** Two published MCP products, Weather MCP (/mcp/weather) and Notes MCP (/mcp/notes), by the admin; their ids. */
export async function createMcpProducts(server: TestServer, admin: string): Promise<{ weather: string; notes: string }> {
  const product = async (body: Record<string, unknown>) => {
    const res = await server.api.post('/api/v1/admin/products', { category: 'tools', description: '', overview: '', guide: '', sampleRequests: [], ...body }, { token: admin });
    if (res.status !== 201) throw new Error(`${res.status} ${res.text}`);
    return res.body.id as string;
  };
  return {
    weather: await product({ slug: 'weather-mcp', name: 'Weather MCP', type: 'mcp', routePrefix: '/mcp/weather', resourceUri: WEATHER }),
    notes: await product({ slug: 'notes-mcp', name: 'Notes MCP', type: 'mcp', routePrefix: '/mcp/notes', resourceUri: NOTES }),
  };
}

/** Approved subscriptions of a developer's consumer to products (the admin approves when a product asks for it). */
export async function subscribe(server: TestServer, tokens: { developer: string; admin: string }, consumerId: string, productIds: string[]): Promise<void> {
  for (const productId of productIds) {
    const sub = await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: tokens.developer });
    if (sub.body.status === 'pending') await server.api.post(`/api/v1/admin/subscriptions/${sub.body.id}/approve`, {}, { token: tokens.admin });
  }
}
