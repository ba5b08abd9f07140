import { z } from 'zod';
import { pageQuery } from '../http/pagination.js';
import { atLeastOneField, text, uuid } from '../http/validate.js';

const slug = z.string().min(2).max(64).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'lower-case letters, digits and single dashes');
const name = text(1, 100).refine((v) => v.trim() === v, 'must not start or end with spaces');
const username = text(1, 64);
export const organizationRole = z.enum(['member', 'admin']);

export const orgParams = z.object({ orgId: uuid });
export const memberParams = orgParams.extend({ accountId: uuid });
export const departmentParams = orgParams.extend({ departmentId: uuid });
export const departmentMemberParams = departmentParams.extend({ accountId: uuid });
export const groupParams = orgParams.extend({ groupId: uuid });
export const groupMemberParams = groupParams.extend({ accountId: uuid });
export const installParams = orgParams.extend({ installId: uuid });
export const grantParams = installParams.extend({ grantId: uuid });

export const listQuery = pageQuery;
/** `?parentId=` lists the children of one department; `?parentId=root` the root departments. */
export const departmentListQuery = pageQuery.extend({
  parentId: z.union([z.literal('root').transform(() => null), uuid]).optional(),
});

export const createOrganizationBody = z.strictObject({ slug, name });
export const updateOrganizationBody = z.strictObject({ name });

/** An existing account, by id or by username (one of the two). */
export const addMemberBody = z.strictObject({ accountId: uuid.optional(), username: username.optional(), role: organizationRole.optional() })
  .refine((v) => (v.accountId === undefined) !== (v.username === undefined), 'send either accountId or username');
export type AddMember = z.output<typeof addMemberBody>;
export const updateMemberBody = z.strictObject({ role: organizationRole });

export const createDepartmentBody = z.strictObject({ name, parentId: uuid.nullable().optional() });
/** `parentId: null` moves the department to the root. */
export const updateDepartmentBody = z.strictObject({ name: name.optional(), parentId: uuid.nullable().optional() })
  .refine(...atLeastOneField);
export type DepartmentChanges = z.output<typeof updateDepartmentBody>;

export const accountBody = z.strictObject({ accountId: uuid });
export const groupBody = z.strictObject({ name });

export const createInstallBody = z.strictObject({ applicationId: uuid });
export const updateInstallBody = z.strictObject({ enabled: z.boolean().optional(), grantAll: z.boolean().optional() })
  .refine(...atLeastOneField);
export type InstallChanges = z.output<typeof updateInstallBody>;
export const createGrantBody = z.strictObject({ kind: z.enum(['member', 'department', 'group']), id: uuid });
