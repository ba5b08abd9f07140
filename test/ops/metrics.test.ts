import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';

const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdef';

let server: TestServer;
let admin: string;
let dev: { id: string; token: string };
let consumerId: string;
let productId: string;

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The Prometheus text format, one sample a line (`name{label="value",...} value`). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the series of `name` whose labels include `labels`. */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function scrapeText(url = server.portico.url, token: string | undefined = METRICS_TOKEN): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  return res.text();
}

/** Scrapes before and after `act`; `delta(name, labels)` is how much the matching series moved. */
async function measure(act: () => Promise<void>) {
  const before = parse(await scrapeText());
  await act();
  const text = await scrapeText();
  const after = parse(text);
  return { text, after, delta: (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels) };
}

async function check(uri: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.portico.url}/gateway/check`, {
    headers: { 'X-Forwarded-Method': 'GET', 'X-Forwarded-Uri': uri, 'X-Forwarded-Host': 'api.example.com', ...headers },
  });
  await res.text();
  return res.status;
}

beforeAll(async () => {
  server = await startTestServer({ env: { METRICS_TOKEN } });
  admin = await server.adminToken();
  dev = await server.developer('metrics-dev');
  consumerId = (await server.api.get('/api/v1/consumers', { token: dev.token })).body.items[0].id;
  const product = await server.api.post('/api/v1/admin/products', {
    slug: 'met-chat', name: 'Metrics chat', type: 'model', category: 'text', description: '', overview: '', guide: '', sampleRequests: [], routePrefix: '/met/chat',
  }, { token: admin });
  expect(product.status).toBe(201);
  productId = product.body.id;
  expect((await server.api.post('/api/v1/subscriptions', { productId, consumerId }, { token: dev.token })).status).toBe(201);
});
afterAll(async () => { await server?.stop(); });

describe('GET /metrics', () => {
  it('counts management API calls by route template and status, never by raw path', async () => {
    const unknownId = randomUUID();
    const strayPath = `/no-such-page/${randomUUID()}`;
    const { text, delta } = await measure(async () => {
      for (let i = 0; i < 2; i += 1) expect((await server.api.get(`/api/v1/products/${productId}`)).status).toBe(200);
      expect((await server.api.get(`/api/v1/products/${unknownId}`)).status).toBe(404);
      expect((await server.api.get('/api/v1/consumers')).status).toBe(401); // refused by the router's session middleware
      expect((await server.api.get(strayPath)).status).toBe(404);
    });
    const route = '/api/v1/products/:idOrSlug';
    expect(delta('portico_http_requests_total', { method: 'GET', route, status: '200' })).toBe(2);
    expect(delta('portico_http_requests_total', { method: 'GET', route, status: '404' })).toBe(1);
    expect(delta('portico_http_requests_total', { method: 'GET', route: '/api/v1/consumers', status: '401' })).toBe(1);
    expect(delta('portico_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(delta('portico_http_request_duration_seconds_count', { method: 'GET', route })).toBe(3);
    expect(delta('portico_http_request_duration_seconds_bucket', { method: 'GET', route, le: '+Inf' })).toBe(3);
    for (const raw of [productId, unknownId, strayPath]) expect(text).not.toContain(raw);
    expect(text).not.toContain('(?:'); // a router middleware's pattern is not a route
  });

  it('counts token grants by grant type and outcome, through every token endpoint', async () => {
    const app = (await server.api.post('/api/v1/applications', { name: 'Metrics app' }, { token: dev.token })).body;
    const form = (body: Record<string, string>, secret = app.clientSecret) => ({
      method: 'POST', body: new URLSearchParams(body).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${secret}`).toString('base64')}` },
    });
    const { delta } = await measure(async () => {
      expect((await fetch(`${server.portico.url}/oauth2/token`, form({ grant_type: 'client_credentials' }))).status).toBe(200);
      expect((await fetch(`${server.portico.url}/api/v1/oauth2/token`, form({ grant_type: 'client_credentials' }))).status).toBe(200);
      expect((await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.code).toBe(1000);
      expect((await fetch(`${server.portico.url}/oauth2/token`, form({ grant_type: 'client_credentials' }, 'wrong-secret'))).status).toBe(401);
      expect((await fetch(`${server.portico.url}/oauth2/token`, form({ grant_type: 'password', username: 'a', password: 'b' }))).status).toBe(400);
    });
    expect(delta('portico_token_grants_total', { grant_type: 'client_credentials', outcome: 'success' })).toBe(3);
    expect(delta('portico_token_grants_total', { grant_type: 'client_credentials', outcome: 'invalid_client' })).toBe(1);
    expect(delta('portico_token_grants_total', { grant_type: 'other', outcome: 'unsupported_grant_type' })).toBe(1);
    expect(delta('portico_token_grants_total')).toBe(5);
    // /openapi/v1/token hands its grant to the provider but is counted under its own route.
    expect(delta('portico_http_requests_total', { method: 'POST', route: '/openapi/v1/token', status: '200' })).toBe(1);
    expect(delta('portico_http_requests_total', { method: 'POST', route: '/oauth2/token', status: '200' })).toBe(2);
    expect(delta('portico_http_requests_total', { method: 'POST', route: '/oauth2/token' })).toBe(4);
    // Five grants of one client: the client was read once and then served from memory.
    expect(delta('portico_cache_misses_total', { cache: 'oauth_clients' })).toBeGreaterThanOrEqual(1);
    expect(delta('portico_cache_hits_total', { cache: 'oauth_clients' })).toBeGreaterThanOrEqual(4);
    // The owner's standing is checked with every client lookup, from memory after the first.
    expect(delta('portico_cache_hits_total', { cache: 'account_standing' })).toBeGreaterThanOrEqual(4);
  });

  it('counts gateway decisions by outcome, quota denials, the check latency and the key cache', async () => {
    const { apiKey } = (await server.api.post(`/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, { token: dev.token })).body;
    expect((await server.api.put(`/api/v1/admin/consumers/${consumerId}/quota`, { dailyQuota: 2 }, { token: admin })).status).toBe(200);
    const { delta, after } = await measure(async () => {
      expect(await check('/met/chat/completions', { 'X-API-Key': apiKey })).toBe(200);
      expect(await check('/met/chat/completions', { 'X-API-Key': apiKey })).toBe(200);
      expect(await check('/met/chat/completions', { 'X-API-Key': apiKey })).toBe(429);
      expect(await check('/met/elsewhere', { 'X-API-Key': apiKey })).toBe(403);
      expect(await check('/met/chat/completions')).toBe(401);
      expect(await check('/met/chat/completions', { 'X-API-Key': 'pk_not-a-key' })).toBe(401);
    });
    const decisions = 'portico_gateway_decisions_total';
    expect(delta(decisions, { outcome: 'allowed', code: '1000', status: '200' })).toBe(2);
    expect(delta(decisions, { outcome: 'quota_exceeded', code: '1400', status: '429' })).toBe(1);
    expect(delta(decisions, { outcome: 'no_subscription', code: '1300', status: '403' })).toBe(1);
    expect(delta(decisions, { outcome: 'missing_credential', code: '1102', status: '401' })).toBe(1);
    expect(delta(decisions, { outcome: 'invalid_credential', code: '1101', status: '401' })).toBe(1);
    expect(delta(decisions)).toBe(6);
    expect(delta('portico_quota_denials_total')).toBe(1);
    expect(delta('portico_usage_reservations_total')).toBeGreaterThanOrEqual(1);
    expect(delta('portico_gateway_check_duration_seconds_count')).toBe(6);
    expect(delta('portico_gateway_check_duration_seconds_bucket', { le: '+Inf' })).toBe(6);
    expect(delta('portico_gateway_check_duration_seconds_sum')).toBeGreaterThan(0);
    const buckets = after.filter((s) => s.name === 'portico_gateway_check_duration_seconds_bucket').map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b)); // cumulative
    // The new key: read once (a miss), then from memory; the unknown key is a miss too.
    expect(delta('portico_cache_misses_total', { cache: 'gateway_api_keys' })).toBe(2);
    expect(delta('portico_cache_hits_total', { cache: 'gateway_api_keys' })).toBe(3);
    // Gateway checks are not Koa requests.
    expect(sum(after, 'portico_http_requests_total', { route: '/gateway/check' })).toBe(0);
    await server.api.put(`/api/v1/admin/consumers/${consumerId}/quota`, { dailyQuota: null }, { token: admin });
  });

  it('counts the verified-token cache: a JWT is verified once, then read from memory', async () => {
    const app = (await server.api.post('/api/v1/applications', { name: 'Metrics gateway app' }, { token: dev.token })).body;
    const token = (await server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret })).body.token as string;
    const { delta } = await measure(async () => {
      for (let i = 0; i < 3; i += 1) expect(await check('/met/chat/x', { Authorization: `Bearer ${token}` })).toBe(200);
    });
    expect(delta('portico_cache_misses_total', { cache: 'verified_tokens' })).toBe(1);
    expect(delta('portico_cache_hits_total', { cache: 'verified_tokens' })).toBe(2);
    expect(delta('portico_gateway_decisions_total', { outcome: 'allowed' })).toBe(3);
  });

  it('exposes process metrics, cache sizes, and the pool on PostgreSQL only', async () => {
    const samples = parse(await scrapeText());
    const names = new Set(samples.map((s) => s.name));
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(names).toContain(name);
    }
    expect(sum(samples, 'portico_cache_entries', { cache: 'gateway_api_keys' })).toBeGreaterThanOrEqual(1);
    expect(sum(samples, 'portico_cache_entries', { cache: 'oauth_clients' })).toBeGreaterThanOrEqual(1);
    expect(names).toContain('portico_usage_reports_total');
    expect(names).toContain('portico_usage_waits_total');
    if (process.env.DATABASE_URL) {
      expect(sum(samples, 'portico_db_pool_max_connections')).toBe(10);
      expect(sum(samples, 'portico_db_pool_connections')).toBeGreaterThanOrEqual(1);
      expect(names).toContain('portico_db_pool_idle_connections');
      expect(names).toContain('portico_db_pool_waiting_queries');
    } else {
      expect([...names].filter((n) => n.startsWith('portico_db_pool'))).toEqual([]);
    }
  });

  it('requires METRICS_TOKEN as a bearer token when it is set', async () => {
    const url = `${server.portico.url}/metrics`;
    for (const headers of [{}, { Authorization: 'Bearer wrong-token' }, { Authorization: 'Bearer ' }, { Authorization: METRICS_TOKEN },
      { Authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` }, { Authorization: `Bearer ${METRICS_TOKEN}x` }] as Array<Record<string, string>>) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="portico-metrics"');
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.text()).not.toContain('portico_');
    }
    const res = await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).not.toContain(METRICS_TOKEN);
    expect(server.logs.join('\n')).not.toContain(METRICS_TOKEN);
  });

  it('is open without METRICS_TOKEN, and a second server in the process keeps counts of its own', async () => {
    const other = await startTestServer();
    try {
      const text = await scrapeText(other.portico.url, undefined);
      expect(sum(parse(text), 'portico_http_requests_total', { route: '/api/v1/products/:idOrSlug' })).toBe(0);
      expect(sum(parse(text), 'portico_gateway_decisions_total')).toBe(0);
      expect(sum(parse(await scrapeText()), 'portico_http_requests_total', { route: '/api/v1/products/:idOrSlug' })).toBeGreaterThan(0);
      // Process metrics are the process's: both servers show them.
      expect(text).toContain('process_cpu_user_seconds_total');
    } finally {
      await other.stop();
    }
  });
});
