import { z } from 'zod';

export const approvalMode = z.enum(['auto', 'manual']);
export const clientRegistrationMode = z.enum(['open', 'token']);
/** Calls a day, for a consumer or an application. */
export const dailyQuota = z.number().int().positive().max(1_000_000_000);

/** Every platform setting with its default (api.md section 4). */
export const settingsSchema = z.strictObject({
  developerApproval: approvalMode.default('auto'),
  subscriptionApproval: approvalMode.default('auto'),
  consumerDailyQuota: dailyQuota.default(100_000),
  // An exception for testing: applications past development keep http redirect URIs on loopback hosts.
  allowLoopbackHttpRedirects: z.boolean().default(false),
  // Dynamic client registration (RFC 7591): open to anyone (rate-limited), or only with an
  // initial access token an administrator issued; confidential clients only when allowed.
  clientRegistration: clientRegistrationMode.default('open'),
  confidentialClientRegistration: z.boolean().default(false),
});
export type Settings = z.output<typeof settingsSchema>;

/** PUT may send any subset, but at least one setting. */
export const settingsUpdate = z.strictObject({
  developerApproval: approvalMode.optional(),
  subscriptionApproval: approvalMode.optional(),
  consumerDailyQuota: dailyQuota.optional(),
  allowLoopbackHttpRedirects: z.boolean().optional(),
  clientRegistration: clientRegistrationMode.optional(),
  confidentialClientRegistration: z.boolean().optional(),
}).refine((v) => Object.keys(v).length > 0, 'send at least one setting');
export type SettingsUpdate = z.output<typeof settingsUpdate>;
