import { z } from 'zod';
import { isLoopbackHost } from '../config/index.js';
import { pageQuery } from '../http/pagination.js';
import { atLeastOneField, idParams, text, uuid } from '../http/validate.js';
import { dailyQuota } from '../settings/schemas.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;

const absoluteUrl = text(1, 2000).refine((v) => URL.canParse(v), 'must be an absolute URL');

/**
 * Redirect URIs (api.md section 3): absolute, no fragment, https; http only for loopback hosts
 * (RFC 8252) while the application is in development. Checked against the stage by the service.
 */
export const redirectUri = absoluteUrl
  .refine((v) => !URL.canParse(v) || !new URL(v).hash && !v.includes('#'), 'must not have a fragment')
  .refine((v) => !URL.canParse(v) || ['https:', 'http:'].includes(new URL(v).protocol), 'must be an http(s) URL');

/** http (loopback) URIs count in development, and past it while the admin's exception is on. */
export function loopbackHttpAllowed(stage: string | null, exceptionOn: boolean): boolean {
  return stage === null || stage === 'development' || exceptionOn;
}

export function isLoopbackRedirect(uri: string): boolean {
  const url = new URL(uri);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

const applicationFields = {
  name: text(1, 100),
  redirectUris: z.array(redirectUri).max(20),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).max(3).refine((v) => new Set(v).size === v.length, 'must not repeat a grant type'),
  tokenEndpointAuthMethod: z.enum(AUTH_METHODS),
  jwksUri: absoluteUrl.refine((v) => !URL.canParse(v) || ['https:', 'http:'].includes(new URL(v).protocol), 'must be an http(s) URL'),
};

export const createApplicationBody = z.strictObject({
  name: applicationFields.name,
  redirectUris: applicationFields.redirectUris.optional(),
  grantTypes: applicationFields.grantTypes.optional(),
  consumerId: uuid.optional(),
  tokenEndpointAuthMethod: applicationFields.tokenEndpointAuthMethod.optional(),
  jwksUri: applicationFields.jwksUri.optional(),
});
export type CreateApplication = z.output<typeof createApplicationBody>;

export const updateApplicationBody = z.strictObject({
  name: applicationFields.name.optional(),
  redirectUris: applicationFields.redirectUris.optional(),
  grantTypes: applicationFields.grantTypes.optional(),
  tokenEndpointAuthMethod: applicationFields.tokenEndpointAuthMethod.optional(),
  jwksUri: applicationFields.jwksUri.nullable().optional(),
}).refine(...atLeastOneField);
export type UpdateApplication = z.output<typeof updateApplicationBody>;

export const applicationListQuery = pageQuery;

export const applicationStage = z.enum(['development', 'review', 'online']);
export const adminApplicationListQuery = pageQuery.extend({
  stage: applicationStage.optional(),
  suspended: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
export const adminApplicationActionParams = idParams.extend({ action: z.enum(['approve', 'reject', 'suspend', 'reinstate']) });

export const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(30) });

export const quotaRequestBody = z.strictObject({ dailyQuota, reason: text(1, 1000) });
export const quotaRequestStatus = z.enum(['pending', 'approved', 'rejected']);
export const adminQuotaRequestListQuery = pageQuery.extend({ status: quotaRequestStatus.optional() });
/** The admin may grant another figure than the one asked for. */
export const approveQuotaRequestBody = z.strictObject({ dailyQuota: dailyQuota.optional() }).optional();

/** The merchant's RSA public key, as PEM or as a JWK. */
export const publicKeyBody = z.union([
  z.strictObject({ pem: text(1, 20_000) }),
  z.strictObject({ jwk: z.record(z.string(), z.unknown()) }),
], { error: 'send {pem} or {jwk}' });
export const tenantParams = idParams.extend({ tenantId: uuid });
