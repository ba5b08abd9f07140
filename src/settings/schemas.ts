import { z } from 'zod';

export const approvalMode = z.enum(['auto', 'manual']);
/** Calls a day, for a consumer or an application. */
export const dailyQuota = z.number().int().positive().max(1_000_000_000);

/** Every platform setting with its default (api.md section 4). */
export const settingsSchema = z.strictObject({
  developerApproval: approvalMode.default('auto'),
  subscriptionApproval: approvalMode.default('auto'),
  consumerDailyQuota: dailyQuota.default(100_000),
  // An exception for testing: applications past development keep http redirect URIs on loopback hosts.
  allowLoopbackHttpRedirects: z.boolean().default(false),
});
export type Settings = z.output<typeof settingsSchema>;

/** PUT may send any subset, but at least one setting. */
export const settingsUpdate = z.strictObject({
  developerApproval: approvalMode.optional(),
  subscriptionApproval: approvalMode.optional(),
  consumerDailyQuota: dailyQuota.optional(),
  allowLoopbackHttpRedirects: z.boolean().optional(),
}).refine((v) => Object.keys(v).length > 0, 'send at least one setting');
export type SettingsUpdate = z.output<typeof settingsUpdate>;
