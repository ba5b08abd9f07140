import type { IncomingHttpHeaders } from 'node:http';
import type { AccountService } from '../accounts/service.js';
import type { AppContext } from '../context.js';
import { BUSINESS_CODES } from '../http/business.js';
import { REFUSALS, type VerifyAccessToken } from '../oidc/access-tokens.js';
import type { SettingsService } from '../settings/service.js';
import { quotaHeaders, type QuotaSubject, type UsageCounter } from '../usage/counter.js';
import type { GatewayCache, GatewayProduct } from './cache.js';
import { parseSdkAuthorization, verifySdkSignature, SIGNATURE_SCHEME } from './signature.js';
import { isProtectedResource, resourceMetadataUrl } from '../mcp/metadata.js';

/** The original request, as the gateway forwards it. */
export interface OriginalRequest {
  method: string;
  /** Path and query as the client sent them. */
  uri: string;
  host: string;
  /** The check request's headers (the credential and the signed headers are among them). */
  headers: IncomingHttpHeaders;
}

export interface GatewayDecision { status: number; code: number; msg: string; headers: Record<string, string> }

/** Who is calling, once the credential is proven; `application` for token calls, which count against it. */
interface Caller {
  consumerId: string;
  developerId: string;
  application?: { id: string; dailyQuota: number };
  userId?: string;
}

const API_KEY_PREFIX = 'pk_';
const CHALLENGE = 'Bearer realm="portico"';

const deny = (status: number, code: number, msg: string, headers: Record<string, string> = {}): GatewayDecision => ({ status, code, msg, headers });
const invalid = (msg: string) => deny(401, BUSINESS_CODES.invalid, msg, { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` });

/** The path as the upstream resolves it (dot segments removed), for the product match. */
function normalizedPath(uri: string): string {
  try {
    return new URL(uri, 'http://gateway.invalid').pathname;
  } catch {
    return '/';
  }
}

/**
 * The gateway's decision (api.md section 6), in the contract's order: a credential (1102), a
 * valid one (1101), its owner and application in good standing (1200), the product and an
 * approved subscription to it (1300), the daily quota (1400). Everything is read from memory
 * (credential, subscription and product caches, verified tokens, the usage counter's chunks);
 * a miss costs one query.
 */
export function createGatewayCheck(ctx: AppContext, deps: {
  cache: GatewayCache; verifyAccessToken: VerifyAccessToken; accounts: AccountService; settings: SettingsService; usage: UsageCounter;
}) {
  const { cache } = deps;

  async function keyCaller(owner: { consumerId: string; accountId: string }): Promise<Caller | GatewayDecision> {
    if (!(await deps.accounts.isActive(owner.accountId))) return deny(403, BUSINESS_CODES.refused, 'the account that owns this credential is banned or not active');
    return { consumerId: owner.consumerId, developerId: owner.accountId };
  }

  /**
   * The caller behind the request's credential, or the refusal. A token must be for Portico's API
   * (good for every product) or for this product's resource URI (an MCP product's own token).
   */
  async function identify(request: OriginalRequest, product: GatewayProduct | undefined): Promise<Caller | GatewayDecision> {
    const authorization = String(request.headers.authorization ?? '').trim();
    const apiKeyHeader = request.headers['x-api-key'];
    if (authorization.startsWith(`${SIGNATURE_SCHEME} `)) {
      const auth = parseSdkAuthorization(authorization);
      if (!auth) return invalid('malformed SDK-HMAC-SHA256 Authorization header');
      const key = await cache.accessKey(auth.accessKey);
      if (!key) return invalid('unknown access key');
      const refused = verifySdkSignature(request, auth, key.secretKey, ctx.clock.now());
      if (refused) return invalid(refused === 'stale_date' ? 'X-Sdk-Date is more than 15 minutes from now' : `signature refused (${refused})`);
      return keyCaller(key);
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const apiKey = typeof apiKeyHeader === 'string' && apiKeyHeader ? apiKeyHeader : bearer?.startsWith(API_KEY_PREFIX) ? bearer : undefined;
    if (apiKey) {
      const owner = await cache.apiKeyOwner(apiKey);
      return owner ? keyCaller(owner) : invalid('unknown API key');
    }
    if (!bearer) return deny(401, BUSINESS_CODES.missing, 'a credential is required: a bearer token, an API key or an SDK-HMAC-SHA256 signature', { 'WWW-Authenticate': CHALLENGE });
    const audience = product?.resourceUri ? [ctx.config.apiAudience, product.resourceUri] : ctx.config.apiAudience;
    const check = await deps.verifyAccessToken(bearer, { audience });
    if (check.status === 'invalid') return invalid('the token is invalid, expired, revoked or issued for another resource');
    if (check.status === 'refused') return deny(403, BUSINESS_CODES.refused, REFUSALS[check.reason]);
    const { payload, client } = check;
    // A registered client's user tokens name their user's consumer; never fall back to its owner's.
    const consumerId = typeof payload.consumer_id === 'string' ? payload.consumer_id : client.registered ? null : client.consumerId;
    if (!consumerId || !client.accountId || !client.applicationId || !client.dailyQuota) return invalid('the token belongs to no application');
    // Through a registered client the consumer is its user's own, so the user is the developer too.
    const developerId = client.registered ? String(payload.sub) : client.accountId;
    return {
      consumerId, developerId, application: { id: client.applicationId, dailyQuota: client.dailyQuota },
      ...(payload.sub !== payload.client_id ? { userId: String(payload.sub) } : {}),
    };
  }

  async function productOf(request: OriginalRequest): Promise<GatewayProduct | undefined> {
    const slug = request.headers['x-product'];
    return typeof slug === 'string' && slug ? cache.productBySlug(slug) : cache.productForPath(normalizedPath(request.uri));
  }

  /** A 401 under an MCP product also names its protected resource metadata, where MCP clients start (RFC 9728). */
  function challenged(decision: GatewayDecision, product: GatewayProduct | undefined): GatewayDecision {
    if (decision.status !== 401 || !isProtectedResource(product)) return decision;
    const challenge = (decision.headers['WWW-Authenticate'] ?? CHALLENGE).replace(CHALLENGE, `${CHALLENGE}, resource_metadata="${resourceMetadataUrl(ctx.issuer, product)}"`);
    return { ...decision, headers: { ...decision.headers, 'WWW-Authenticate': challenge } };
  }

  return async function check(request: OriginalRequest): Promise<GatewayDecision> {
    const product = await productOf(request);
    const caller = await identify(request, product);
    if ('code' in caller) return challenged(caller, product);
    if (!product) return deny(403, BUSINESS_CODES.noSubscription, 'no product serves this path');
    const grants = await cache.consumer(caller.consumerId);
    if (!grants?.approvedProducts.has(product.id)) return deny(403, BUSINESS_CODES.noSubscription, `no approved subscription to ${product.slug}`);
    // Token calls count against the application, key and AK/SK calls against the consumer (its own quota, or the setting's).
    const { subject, dailyQuota }: { subject: QuotaSubject; dailyQuota: number } = caller.application
      ? { subject: { kind: 'application', id: caller.application.id }, dailyQuota: caller.application.dailyQuota }
      : { subject: { kind: 'consumer', id: caller.consumerId }, dailyQuota: grants.dailyQuota ?? (await deps.settings.get()).consumerDailyQuota };
    const decision = await deps.usage.consume(subject, dailyQuota);
    const limits = quotaHeaders(decision, ctx.clock.now());
    if (!decision.allowed) return deny(429, BUSINESS_CODES.quotaUsedUp, `the daily quota of ${dailyQuota} calls is used up`, limits);
    return {
      status: 200, code: BUSINESS_CODES.success, msg: 'ok',
      headers: {
        'X-Portico-Consumer': caller.consumerId,
        'X-Portico-Developer': caller.developerId,
        ...(caller.application ? { 'X-Portico-Application': caller.application.id } : {}),
        ...(caller.userId ? { 'X-Portico-User': caller.userId } : {}),
        'X-Portico-Product': product.slug,
        ...limits,
      },
    };
  };
}
export type GatewayCheck = ReturnType<typeof createGatewayCheck>;
