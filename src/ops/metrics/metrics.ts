import type Provider from 'oidc-provider';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { GATEWAY_LATENCY_BUCKETS, GatewayMeter, type CacheStats } from './stats.js';

/** What the database handle tells of its connection pool (PostgreSQL only; PGlite has none). */
export interface PoolStats { total: number; idle: number; waiting: number; max: number }

export interface MetricsSources {
  /** The pg pool's figures; absent on the embedded database. */
  poolStats?: () => PoolStats;
  usage: { stats: { reservations: number; reports: number; waits: number; denials: number } };
  /** Every in-memory cache by the name its series carry. */
  caches: Record<string, CacheStats>;
}

/** Seconds; management calls run from under a millisecond (cached reads) to ~100 ms (argon2 logins). */
const HTTP_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The grant types Portico serves; anything else a client sends is counted as `other` (labels stay bounded). */
const GRANT_TYPES = new Set(['authorization_code', 'client_credentials', 'refresh_token']);
const OAUTH_ERROR = /^[a-z_]{1,64}$/;

/** The gateway's business codes by what they mean (api.md section 6). */
const GATEWAY_OUTCOMES: Record<number, string> = {
  1000: 'allowed', 1101: 'invalid_credential', 1102: 'missing_credential', 1200: 'refused',
  1300: 'no_subscription', 1400: 'quota_exceeded', 1500: 'unavailable',
};

// Process metrics are the process's, whatever the number of servers in it: collectDefaultMetrics
// starts an event-loop monitor and a GC observer that cannot be stopped, so one registry of
// Portico's own (never prom-client's global one) holds them for the whole process.
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A counter whose values live elsewhere (plain numbers kept by a module) and are copied in at
 * scrape time. Values only grow, so the series is a true counter.
 */
function counterOf<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: () => Array<[Partial<Record<L, string>>, number]>) {
  return new Counter<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function gaugeOf<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: () => Array<[Partial<Record<L, string>>, number]>) {
  return new Gauge<L>({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/**
 * The gateway's latency histogram, read from GatewayMeter's plain buckets at scrape time.
 * prom-client's Histogram hashes labels and allocates on every observation; this series is in
 * the same shape (`_bucket{le}`, `_sum`, `_count`), which the registry prints like its own.
 */
function gatewayLatencyMetric(name: string, help: string, meter: GatewayMeter): Metric {
  const values = () => {
    let cumulative = 0;
    const out: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = GATEWAY_LATENCY_BUCKETS.map((le, i) => {
      cumulative += meter.buckets[i]!;
      return { metricName: `${name}_bucket`, labels: { le }, value: cumulative };
    });
    out.push(
      { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: meter.count },
      { metricName: `${name}_sum`, labels: {}, value: meter.sum },
      { metricName: `${name}_count`, labels: {}, value: meter.count },
    );
    return out;
  };
  const metric = {
    name, help, type: 'histogram', aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
  };
  return metric as unknown as Metric;
}

/**
 * One server's metrics, on a registry of its own (several servers in one process, as in the
 * tests, do not mix their counts). Process metrics are shared (see processMetrics).
 */
export function createMetrics(sources: MetricsSources) {
  const shared = processMetrics();
  const registry = new Registry();

  const requests = new Counter({
    name: 'portico_http_requests_total', help: 'HTTP requests answered by the Koa app, by route template and status',
    labelNames: ['method', 'route', 'status'], registers: [registry],
  });
  const durations = new Histogram({
    name: 'portico_http_request_duration_seconds', help: 'Time to answer an HTTP request, by route template',
    labelNames: ['method', 'route'], buckets: HTTP_LATENCY_BUCKETS, registers: [registry],
  });
  const grants = new Counter({
    name: 'portico_token_grants_total', help: 'Token endpoint grants (/oauth2/token, its alias and /openapi/v1/token) by grant type and outcome (success or the OAuth error code)',
    labelNames: ['grant_type', 'outcome'], registers: [registry],
  });

  const gateway = new GatewayMeter();
  counterOf(registry, 'portico_gateway_decisions_total', '/gateway/check decisions by outcome, business code and HTTP status', ['outcome', 'code', 'status'],
    () => [...gateway.decisions].map(([key, n]) => {
      const code = key % 10_000;
      return [{ outcome: GATEWAY_OUTCOMES[code] ?? 'other', code: String(code), status: String(Math.floor(key / 10_000)) }, n];
    }));
  registry.registerMetric(gatewayLatencyMetric('portico_gateway_check_duration_seconds', 'Time to decide a /gateway/check', gateway));

  const { stats: usage } = sources.usage;
  counterOf(registry, 'portico_quota_denials_total', 'Calls refused because the daily quota is used up (/gateway/check and /openapi/v1)', [], () => [[{}, usage.denials]]);
  counterOf(registry, 'portico_usage_reservations_total', 'Quota chunks reserved in the database by the usage counter', [], () => [[{}, usage.reservations]]);
  counterOf(registry, 'portico_usage_reports_total', 'Usage reports written to the database', [], () => [[{}, usage.reports]]);
  counterOf(registry, 'portico_usage_waits_total', 'Counted calls that had to wait for the database', [], () => [[{}, usage.waits]]);

  const caches = Object.entries(sources.caches);
  counterOf(registry, 'portico_cache_hits_total', 'In-memory cache lookups answered from memory', ['cache'], () => caches.map(([cache, s]) => [{ cache }, s.hits]));
  counterOf(registry, 'portico_cache_misses_total', 'In-memory cache lookups that went to the database', ['cache'], () => caches.map(([cache, s]) => [{ cache }, s.misses]));
  gaugeOf(registry, 'portico_cache_entries', 'Entries held by each in-memory cache', ['cache'], () => caches.map(([cache, s]) => [{ cache }, s.entries]));

  const { poolStats } = sources;
  if (poolStats) {
    gaugeOf(registry, 'portico_db_pool_connections', 'Open connections of the PostgreSQL pool', [], () => [[{}, poolStats().total]]);
    gaugeOf(registry, 'portico_db_pool_idle_connections', 'Idle connections of the PostgreSQL pool', [], () => [[{}, poolStats().idle]]);
    gaugeOf(registry, 'portico_db_pool_waiting_queries', 'Queries waiting for a connection of the PostgreSQL pool', [], () => [[{}, poolStats().waiting]]);
    gaugeOf(registry, 'portico_db_pool_max_connections', 'Size limit of the PostgreSQL pool', [], () => [[{}, poolStats().max]]);
  }

  return {
    contentType: registry.contentType,
    gateway,

    /** One answered request of the Koa app; `route` is a template (or 'unmatched'), never a raw path. */
    request(method: string, route: string, status: number, seconds: number): void {
      requests.inc({ method, route, status: String(status) });
      durations.observe({ method, route }, seconds);
    },

    /** Counts the provider's grants: its events say which grant and how it ended. */
    watchProvider(provider: Provider): void {
      const grantTypeOf = (ctx: { oidc?: { params?: Record<string, unknown> } }) => {
        const grantType = ctx.oidc?.params?.grant_type;
        return typeof grantType !== 'string' ? 'none' : GRANT_TYPES.has(grantType) ? grantType : 'other';
      };
      provider.on('grant.success', (ctx) => grants.inc({ grant_type: grantTypeOf(ctx), outcome: 'success' }));
      provider.on('grant.error', (ctx, err) => {
        const code = (err as { error?: unknown }).error;
        grants.inc({ grant_type: grantTypeOf(ctx), outcome: typeof code === 'string' && OAUTH_ERROR.test(code) ? code : 'error' });
      });
      // An unexpected failure is reported under its own event, not grant.error.
      provider.on('server_error', (ctx) => {
        if (ctx.oidc?.route === 'token') grants.inc({ grant_type: grantTypeOf(ctx), outcome: 'server_error' });
      });
    },

    /** The Prometheus text exposition: process metrics, then this server's. */
    async render(): Promise<string> {
      return (await shared.metrics()) + (await registry.metrics());
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
