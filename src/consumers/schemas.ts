import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { atLeastOneField, idParams, text, uuid } from '../http/validate.js';
import { dailyQuota } from '../settings/schemas.js';

const name = text(1, 64).refine((v) => v.trim() === v, 'must not start or end with spaces');
const description = text(0, 500);

export const createConsumerBody = z.strictObject({ name, description: description.optional() });
export const updateConsumerBody = z.strictObject({ name: name.optional(), description: description.nullable().optional() })
  .refine(...atLeastOneField);
export type ConsumerChanges = z.output<typeof updateConsumerBody>;

export const consumerListQuery = pageQuery;

export const createCredentialBody = z.strictObject({ type: z.enum(['api-key', 'ak-sk']) });
export const credentialParams = idParams.extend({ cid: uuid });

/** An admin's quota for a consumer's API-key and AK/SK calls; null returns it to the setting. */
export const consumerQuotaBody = z.strictObject({ dailyQuota: dailyQuota.nullable() });
