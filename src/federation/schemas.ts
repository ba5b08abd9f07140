import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { atLeastOneField, text } from '../http/validate.js';

export const DEFAULT_SCOPES = ['openid', 'profile', 'email'];

// Part of the redirect URI ($ISSUER/sso/<slug>/callback): URL-safe, and fixed once created.
const slug = z.string().min(2).max(64).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes');

// Compared exactly with the `issuer` of the provider's metadata and of its ID tokens, so kept as given.
// (https only in production: the service checks, as the schema does not know the mode.)
const issuer = text(1, 2000).refine((v) => {
  if (!URL.canParse(v)) return false;
  const url = new URL(v);
  return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash && !url.username && !url.password;
}, 'must be an absolute http(s) URL without query, fragment or credentials');

// RFC 6749 scope-token characters.
const scope = z.string().min(1).max(100).regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope token (printable ASCII, no spaces, quotes or backslashes)');
const scopes = z.array(scope).min(1).max(20)
  .refine((v) => v.includes('openid'), 'must include "openid"')
  .transform((v) => [...new Set(v)]);

const emailDomain = z.string().max(253).transform((v) => v.toLowerCase())
  .pipe(z.string().regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a domain name such as example.com'));
const emailDomains = z.array(emailDomain).max(50).transform((v) => [...new Set(v)]);

const providerFields = {
  name: text(1, 100),
  issuer,
  clientId: text(1, 500),
  clientSecret: text(1, 2000),
  scopes,
  enabled: z.boolean(),
  emailDomains,
};

export const createProviderBody = z.strictObject({
  slug,
  ...providerFields,
  scopes: scopes.default(DEFAULT_SCOPES),
  enabled: providerFields.enabled.default(true),
  emailDomains: emailDomains.default([]),
});
export type CreateProvider = z.output<typeof createProviderBody>;

// The slug is not among them: the redirect URI registered upstream depends on it.
export const updateProviderBody = z.strictObject(providerFields).partial().refine(...atLeastOneField);
export type UpdateProvider = z.output<typeof updateProviderBody>;

export const providerListQuery = pageQuery;

export const slugParams = z.object({ slug });
