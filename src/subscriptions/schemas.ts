import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { idParams, uuid } from '../http/validate.js';

export const subscriptionStatus = z.enum(['pending', 'approved', 'rejected', 'cancelled']);
export const subscribeBody = z.strictObject({ productId: uuid, consumerId: uuid });
export const subscriptionListQuery = pageQuery.extend({ status: subscriptionStatus.optional(), consumerId: uuid.optional() });
export const adminSubscriptionListQuery = pageQuery.extend({ status: subscriptionStatus.optional() });
export const decisionParams = idParams.extend({ action: z.enum(['approve', 'reject']) });
