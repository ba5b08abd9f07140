import type Koa from 'koa';
import type { ApiRegistrar } from '../http/api-routes.js';
import { ownerOf, sessionOf } from '../http/session.js';
import { noBody } from '../http/validate.js';
import type { Caller } from './access.js';
import {
  accountBody, addMemberBody, createDepartmentBody, createGrantBody, createInstallBody, createOrganizationBody, departmentListQuery,
  departmentMemberParams, departmentParams, grantParams, groupBody, groupMemberParams, groupParams, installParams, listQuery,
  memberParams, orgParams, updateDepartmentBody, updateInstallBody, updateMemberBody, updateOrganizationBody,
} from './schemas.js';
import type { OrganizationService } from './service.js';

const ORGS = '/api/v1/admin/organizations';
const ORG = `${ORGS}/:orgId`;

/** The caller of a route behind requireSession, and whether it is a platform administrator. */
function callerOf(ctx: Koa.Context): Caller {
  return { ...ownerOf(ctx), platformAdmin: sessionOf(ctx).account.role === 'admin' };
}

/**
 * /api/v1/admin/organizations and everything in them. Mounted behind requireSession only: the
 * service decides per organization (platform admin, org admin, or 404; see access.ts). `access`
 * says so in the OpenAPI document: 'admin' for the platform admin's actions, 'org-admin' otherwise.
 */
export function mountOrganizationRoutes(api: ApiRegistrar, organizations: OrganizationService): void {
  const org = { access: 'org-admin' } as const;
  const admin = { access: 'admin' } as const;

  api.get(ORGS, { ...org, summary: 'Organizations: all of them for an administrator, those you administer otherwise', query: listQuery },
    ({ query }, ctx) => organizations.list(callerOf(ctx), query));
  api.post(ORGS, { ...admin, summary: 'Create an organization (tenant)', status: 201, body: createOrganizationBody },
    ({ body }, ctx) => organizations.create(callerOf(ctx), body));
  api.get(ORG, { ...org, summary: 'One organization', params: orgParams },
    ({ params }, ctx) => organizations.get(callerOf(ctx), params.orgId));
  api.patch(ORG, { ...admin, summary: 'Rename an organization', params: orgParams, body: updateOrganizationBody },
    ({ params, body }, ctx) => organizations.rename(callerOf(ctx), params.orgId, body.name));
  api.delete(ORG, { ...admin, summary: 'Delete an organization with its members, departments, groups, installs and grants', status: 204, params: orgParams, body: noBody },
    ({ params }, ctx) => organizations.remove(callerOf(ctx), params.orgId));

  const { members } = organizations;
  api.get(`${ORG}/members`, { ...org, summary: 'Members of an organization', params: orgParams, query: listQuery },
    ({ params, query }, ctx) => members.list(callerOf(ctx), params.orgId, query));
  api.post(`${ORG}/members`, { ...org, summary: 'Add an existing account (by accountId or username); role admin: administrators only', status: 201, params: orgParams, body: addMemberBody },
    ({ params, body }, ctx) => members.add(callerOf(ctx), params.orgId, body));
  api.patch(`${ORG}/members/:accountId`, { ...admin, summary: 'Appoint (admin) or demote (member) an org admin', params: memberParams, body: updateMemberBody },
    ({ params, body }, ctx) => members.setRole(callerOf(ctx), params.orgId, params.accountId, body.role));
  api.delete(`${ORG}/members/:accountId`, { ...org, summary: 'Remove a member with their department and group memberships and grants (an org admin: administrators only)', status: 204, params: memberParams, body: noBody },
    ({ params }, ctx) => members.remove(callerOf(ctx), params.orgId, params.accountId));

  const { departments } = organizations;
  const DEPARTMENT = `${ORG}/departments/:departmentId`;
  api.get(`${ORG}/departments`, { ...org, summary: 'Departments, oldest first; ?parentId= (a department, or root) lists one level', params: orgParams, query: departmentListQuery },
    ({ params, query }, ctx) => departments.list(callerOf(ctx), params.orgId, query));
  api.post(`${ORG}/departments`, { ...org, summary: 'Create a department, under parentId or at the root', status: 201, params: orgParams, body: createDepartmentBody },
    ({ params, body }, ctx) => departments.create(callerOf(ctx), params.orgId, body));
  api.get(DEPARTMENT, { ...org, summary: 'One department', params: departmentParams },
    ({ params }, ctx) => departments.get(callerOf(ctx), params.orgId, params.departmentId));
  api.patch(DEPARTMENT, { ...org, summary: 'Rename a department, or move it (parentId; null: to the root)', params: departmentParams, body: updateDepartmentBody },
    ({ params, body }, ctx) => departments.update(callerOf(ctx), params.orgId, params.departmentId, body));
  api.delete(DEPARTMENT, { ...org, summary: 'Delete a department without sub-departments or members', status: 204, params: departmentParams, body: noBody },
    ({ params }, ctx) => departments.remove(callerOf(ctx), params.orgId, params.departmentId));
  api.get(`${DEPARTMENT}/members`, { ...org, summary: 'Members of a department', params: departmentParams, query: listQuery },
    ({ params, query }, ctx) => departments.members.list(callerOf(ctx), params.orgId, params.departmentId, query));
  api.post(`${DEPARTMENT}/members`, { ...org, summary: 'Put a member of the organization in a department', status: 201, params: departmentParams, body: accountBody },
    ({ params, body }, ctx) => departments.members.add(callerOf(ctx), params.orgId, params.departmentId, body.accountId));
  api.delete(`${DEPARTMENT}/members/:accountId`, { ...org, summary: 'Take a member out of a department', status: 204, params: departmentMemberParams, body: noBody },
    ({ params }, ctx) => departments.members.remove(callerOf(ctx), params.orgId, params.departmentId, params.accountId));

  const { groups } = organizations;
  const GROUP = `${ORG}/groups/:groupId`;
  api.get(`${ORG}/groups`, { ...org, summary: 'Groups of an organization', params: orgParams, query: listQuery },
    ({ params, query }, ctx) => groups.list(callerOf(ctx), params.orgId, query));
  api.post(`${ORG}/groups`, { ...org, summary: 'Create a group', status: 201, params: orgParams, body: groupBody },
    ({ params, body }, ctx) => groups.create(callerOf(ctx), params.orgId, body.name));
  api.get(GROUP, { ...org, summary: 'One group', params: groupParams },
    ({ params }, ctx) => groups.get(callerOf(ctx), params.orgId, params.groupId));
  api.patch(GROUP, { ...org, summary: 'Rename a group', params: groupParams, body: groupBody },
    ({ params, body }, ctx) => groups.rename(callerOf(ctx), params.orgId, params.groupId, body.name));
  api.delete(GROUP, { ...org, summary: 'Delete a group with its memberships and grants', status: 204, params: groupParams, body: noBody },
    ({ params }, ctx) => groups.remove(callerOf(ctx), params.orgId, params.groupId));
  api.get(`${GROUP}/members`, { ...org, summary: 'Members of a group', params: groupParams, query: listQuery },
    ({ params, query }, ctx) => groups.members.list(callerOf(ctx), params.orgId, params.groupId, query));
  api.post(`${GROUP}/members`, { ...org, summary: 'Put a member of the organization in a group', status: 201, params: groupParams, body: accountBody },
    ({ params, body }, ctx) => groups.members.add(callerOf(ctx), params.orgId, params.groupId, body.accountId));
  api.delete(`${GROUP}/members/:accountId`, { ...org, summary: 'Take a member out of a group', status: 204, params: groupMemberParams, body: noBody },
    ({ params }, ctx) => groups.members.remove(callerOf(ctx), params.orgId, params.groupId, params.accountId));

  const { installs } = organizations;
  const INSTALL = `${ORG}/installs/:installId`;
  api.get(`${ORG}/installs`, { ...org, summary: 'Applications installed in an organization', params: orgParams, query: listQuery },
    ({ params, query }, ctx) => installs.list(callerOf(ctx), params.orgId, query));
  api.post(`${ORG}/installs`, { ...admin, summary: 'Install an application into an organization (enabled, granted to nobody)', status: 201, params: orgParams, body: createInstallBody },
    ({ params, body }, ctx) => installs.install(callerOf(ctx), params.orgId, body.applicationId));
  api.get(INSTALL, { ...org, summary: 'One install', params: installParams },
    ({ params }, ctx) => installs.get(callerOf(ctx), params.orgId, params.installId));
  api.patch(INSTALL, { ...org, summary: 'Enable or disable an install; grantAll opens it to every member', params: installParams, body: updateInstallBody },
    ({ params, body }, ctx) => installs.update(callerOf(ctx), params.orgId, params.installId, body));
  api.delete(INSTALL, { ...admin, summary: 'Uninstall an application (its grants go with it)', status: 204, params: installParams, body: noBody },
    ({ params }, ctx) => installs.uninstall(callerOf(ctx), params.orgId, params.installId));
  api.get(`${INSTALL}/grants`, { ...org, summary: 'Grants of an install', params: installParams, query: listQuery },
    ({ params, query }, ctx) => installs.grants.list(callerOf(ctx), params.orgId, params.installId, query));
  api.post(`${INSTALL}/grants`, { ...org, summary: 'Grant an install to a member, a department (with its sub-departments) or a group', status: 201, params: installParams, body: createGrantBody },
    ({ params, body }, ctx) => installs.grants.create(callerOf(ctx), params.orgId, params.installId, body));
  api.delete(`${INSTALL}/grants/:grantId`, { ...org, summary: 'Revoke a grant', status: 204, params: grantParams, body: noBody },
    ({ params }, ctx) => installs.grants.revoke(callerOf(ctx), params.orgId, params.installId, params.grantId));
}
