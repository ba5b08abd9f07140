import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { text, uuid } from '../http/validate.js';
import { isActivationCode, normalizeActivationCode } from './codes.js';

export const LICENSE_STATUSES = ['issued', 'activated', 'expired', 'revoked'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

/** Seats are the merchant's to enforce; Portico records the figure (bounded to fit an integer column). */
export const MAX_SEATS = 1_000_000;

export const issueLicenseBody = z.strictObject({
  applicationId: uuid,
  /** The organization (tenant) the license is for. */
  tenantId: uuid,
  seats: z.number().int().min(1).max(MAX_SEATS),
  // Four-digit years only, so every accepted instant fits PostgreSQL; "in the future" is checked against the clock.
  expiresAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone' }).transform((v) => new Date(v)),
});
export type IssueLicense = z.output<typeof issueLicenseBody>;

export const licenseListQuery = pageQuery.extend({
  applicationId: uuid.optional(),
  tenantId: uuid.optional(),
  status: z.enum(LICENSE_STATUSES).optional(),
});
export type LicenseFilter = z.output<typeof licenseListQuery>;

export const activateLicenseBody = z.strictObject({
  code: text(1, 64)
    .refine(isActivationCode, 'is not an activation code: 20 letters and digits, in groups of four')
    .transform(normalizeActivationCode),
  /** The merchant's name for the installation of its software that takes the license. */
  instanceId: text(1, 200).refine((v) => v.trim() === v, 'must not start or end with spaces'),
});
