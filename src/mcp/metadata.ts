import type Router from '@koa/router';
import type { AppContext } from '../context.js';
import type { GatewayCache, GatewayProduct } from '../gateway/cache.js';
import { NotFound } from '../http/errors.js';

/** Where RFC 9728 puts a protected resource's metadata: this prefix, then the resource's path. */
export const PROTECTED_RESOURCE_PREFIX = '/.well-known/oauth-protected-resource';

/** The scopes of a token for a resource server: Portico's API or an MCP product. */
export const RESOURCE_SCOPES = ['openid', 'profile', 'email'];

/** A published MCP product with its resource URI: the only products that are OAuth protected resources. */
export const isProtectedResource = (product: GatewayProduct | undefined): product is GatewayProduct & { resourceUri: string } =>
  product?.type === 'mcp' && !!product.resourceUri;

/** The URL of a product's protected resource metadata (what the gateway's 401 points MCP clients to). */
export const resourceMetadataUrl = (issuer: string, product: GatewayProduct) => `${issuer}${PROTECTED_RESOURCE_PREFIX}${product.routePrefix}`;

/**
 * The discovery chain of an MCP client (the MCP authorization specification): a 401 from the
 * gateway names the product's protected resource metadata (RFC 9728), which names Portico as its
 * authorization server, whose metadata (RFC 8414) is OIDC discovery under another name.
 */
export function mountMcpMetadata(router: Router, ctx: AppContext, cache: GatewayCache): void {
  router.get(`${PROTECTED_RESOURCE_PREFIX}/*path`, async (koaCtx) => {
    const routePrefix = koaCtx.path.slice(PROTECTED_RESOURCE_PREFIX.length);
    const product = await cache.productForPath(routePrefix);
    if (!isProtectedResource(product) || product.routePrefix !== routePrefix) throw new NotFound('protected resource');
    koaCtx.set('Cache-Control', 'public, max-age=300');
    koaCtx.body = {
      resource: product.resourceUri,
      authorization_servers: [ctx.issuer],
      bearer_methods_supported: ['header'],
      scopes_supported: RESOURCE_SCOPES,
      resource_name: product.slug,
    };
  });
}
