import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { PRODUCT_TOPIC } from '../catalog/service.js';
import type { CredentialOwner, CredentialService } from '../consumers/credentials.js';
import { CONSUMER_TOPIC } from '../consumers/service.js';
import type { AppContext } from '../context.js';
import { cacheStats, type CacheStats } from '../ops/metrics/stats.js';
import { SUBSCRIPTION_TOPIC } from '../subscriptions/service.js';

/** A missed notification heals this fast: every entry is read again after it. */
const ENTRY_TTL_MS = 30_000;
/** Unknown keys are remembered briefly, so guessing cannot send a query per attempt. */
const MISSING_TTL_MS = 5_000;
const MISSING = 'missing' as const;

export interface GatewayProduct { id: string; slug: string; name: string; routePrefix: string; type: string; resourceUri: string | null }
export interface ConsumerGrants { approvedProducts: Set<string>; dailyQuota: number | null }

/**
 * What /gateway/check reads on every call, held in memory: credential owners, each consumer's
 * approved products and quota, and the published products by slug and route prefix. Every node
 * drops an entry when its row changes anywhere (NOTIFY); entries also expire after 30 s.
 */
export function createGatewayCache(ctx: AppContext, deps: { credentials: CredentialService }, options: { max?: number } = {}) {
  const max = options.max ?? 100_000;
  const apiKeys = new LRUCache<string, CredentialOwner | typeof MISSING>({ max, ttl: ENTRY_TTL_MS });
  const accessKeys = new LRUCache<string, (CredentialOwner & { secretKey: string }) | typeof MISSING>({ max, ttl: ENTRY_TTL_MS });
  const consumers = new LRUCache<string, ConsumerGrants>({ max, ttl: ENTRY_TTL_MS });
  let products: Promise<{ bySlug: Map<string, GatewayProduct>; byPrefix: Map<string, GatewayProduct>; byResource: Map<string, GatewayProduct>; loadedAt: number }> | undefined;
  let productCount = 0;
  /** Lookups answered from memory or not, read by /metrics. */
  const stats = {
    apiKeys: cacheStats(() => apiKeys.size), accessKeys: cacheStats(() => accessKeys.size),
    consumers: cacheStats(() => consumers.size), products: cacheStats(() => (products ? productCount : 0)),
  };

  function dropConsumer(consumerId: string): void {
    consumers.delete(consumerId);
    // Credentials of a deleted consumer, or one deleted credential: rare, so a scan is fine.
    for (const cache of [apiKeys, accessKeys] as Array<LRUCache<string, CredentialOwner | typeof MISSING>>) {
      for (const [key, owner] of cache.entries()) if (owner !== MISSING && owner.consumerId === consumerId) cache.delete(key);
    }
  }
  const clear = () => { apiKeys.clear(); accessKeys.clear(); consumers.clear(); products = undefined; };
  const ready = Promise.all([
    ctx.bus.subscribe(CONSUMER_TOPIC, (payload) => dropConsumer(String(payload.consumerId))),
    ctx.bus.subscribe(SUBSCRIPTION_TOPIC, (payload) => { consumers.delete(String(payload.consumerId)); }),
    ctx.bus.subscribe(PRODUCT_TOPIC, () => { products = undefined; }),
  ]);
  ctx.bus.onReset(clear);

  /** A cached value, or one load whose result is cached (`MISSING` only briefly). */
  async function through<T extends object>(cache: LRUCache<string, T | typeof MISSING>, counts: CacheStats, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = cache.get(key);
    if (hit !== undefined) {
      counts.hits += 1;
      return hit === MISSING ? undefined : hit;
    }
    counts.misses += 1;
    const loaded = await load();
    cache.set(key, loaded ?? MISSING, loaded ? {} : { ttl: MISSING_TTL_MS });
    return loaded;
  }

  async function loadProducts() {
    const rows = await ctx.db.selectFrom('products').select(['id', 'slug', 'name', 'route_prefix', 'type', 'resource_uri']).where('status', '=', 'published').execute();
    const all = rows.map((r) => ({ id: r.id, slug: r.slug, name: r.name, routePrefix: r.route_prefix, type: r.type, resourceUri: r.resource_uri }));
    productCount = all.length;
    return {
      bySlug: new Map(all.map((p) => [p.slug, p])),
      byPrefix: new Map(all.map((p) => [p.routePrefix, p])),
      byResource: new Map(all.flatMap((p) => (p.resourceUri ? [[p.resourceUri, p] as const] : []))),
      loadedAt: Date.now(),
    };
  }

  async function productTable() {
    if (products) stats.products.hits += 1;
    else stats.products.misses += 1;
    const table = await (products ??= loadProducts().catch((err) => { products = undefined; throw err; }));
    if (Date.now() - table.loadedAt > ENTRY_TTL_MS) products = undefined;
    return table;
  }

  return {
    ready,
    stats,

    apiKeyOwner(apiKey: string) {
      const key = createHash('sha256').update(apiKey).digest('base64url'); // the key itself is not kept, even in memory
      return through(apiKeys, stats.apiKeys, key, () => deps.credentials.findApiKeyOwner(apiKey));
    },

    accessKey(accessKey: string) {
      return through(accessKeys, stats.accessKeys, accessKey, () => deps.credentials.findAccessKey(accessKey));
    },

    async consumer(consumerId: string): Promise<ConsumerGrants | undefined> {
      const hit = consumers.get(consumerId);
      if (hit) {
        stats.consumers.hits += 1;
        return hit;
      }
      stats.consumers.misses += 1;
      const [row, approved] = await Promise.all([
        ctx.db.selectFrom('consumers').select('daily_quota').where('id', '=', consumerId).executeTakeFirst(),
        ctx.db.selectFrom('subscriptions').select('product_id').where('consumer_id', '=', consumerId).where('status', '=', 'approved').execute(),
      ]);
      if (!row) return undefined;
      const grants = { approvedProducts: new Set(approved.flatMap((s) => (s.product_id ? [s.product_id] : []))), dailyQuota: row.daily_quota };
      consumers.set(consumerId, grants);
      return grants;
    },

    /** The published product whose resource URI this is (an MCP product, as a token's audience). */
    async productByResource(resourceUri: string): Promise<GatewayProduct | undefined> {
      return (await productTable()).byResource.get(resourceUri);
    },

    async productBySlug(slug: string): Promise<GatewayProduct | undefined> {
      return (await productTable()).bySlug.get(slug);
    },

    /**
     * The product whose route prefix is the longest prefix of `path` on a `/` boundary: the path
     * and each of its parents are looked up (prefixes are `/a/b`, never with a trailing slash).
     */
    async productForPath(path: string): Promise<GatewayProduct | undefined> {
      const { byPrefix } = await productTable();
      for (let prefix = path; prefix; prefix = prefix.slice(0, prefix.lastIndexOf('/'))) {
        const product = byPrefix.get(prefix);
        if (product) return product;
      }
      return undefined;
    },
  };
}
export type GatewayCache = ReturnType<typeof createGatewayCache>;
