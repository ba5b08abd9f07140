import type { ApiRegistrar } from '../http/api-routes.js';
import { applicationOf, requireApplicationToken } from '../http/client-token.js';
import { actorOf } from '../http/session.js';
import { idParams, reasonBody } from '../http/validate.js';
import type { VerifyAccessToken } from '../oidc/access-tokens.js';
import { activateLicenseBody, issueLicenseBody, licenseListQuery } from './schemas.js';
import type { LicenseService } from './service.js';

const LICENSES = '/api/v1/admin/licenses';

/** /api/v1/admin/licenses. Mounted behind requireSession + requireAdmin. */
export function mountLicenseAdminRoutes(api: ApiRegistrar, licenses: LicenseService): void {
  api.post(LICENSES, { summary: 'Issue a license activation code for an application installed in an organization (tenantId); the code is shown only in this answer', status: 201, body: issueLicenseBody },
    ({ body }, ctx) => licenses.issue(actorOf(ctx), body));
  api.get(LICENSES, { summary: 'Licenses, newest first, by application, tenant and status (never the codes)', query: licenseListQuery },
    ({ query }) => licenses.list(query));
  api.get(`${LICENSES}/:id`, { summary: 'One license', params: idParams },
    ({ params }) => licenses.get(params.id));
  api.post(`${LICENSES}/:id/revoke`, { summary: 'Revoke a license, activated or not (the reason is kept in the audit log)', params: idParams, body: reasonBody },
    ({ params, body }, ctx) => licenses.revoke(actorOf(ctx), params.id, body?.reason));
}

/** POST /api/v1/licenses/activate, called by the application's back end with its client_credentials token. */
export function mountLicenseRoutes(api: ApiRegistrar, licenses: LicenseService, deps: { verifyAccessToken: VerifyAccessToken; audience: string }): void {
  api.post('/api/v1/licenses/activate', {
    summary: 'Activate a license for one instance of the application (idempotent for that instance); productId is the application id',
    access: 'application', use: [requireApplicationToken(deps.verifyAccessToken, deps.audience)], body: activateLicenseBody,
  }, ({ body }, ctx) => licenses.activate(applicationOf(ctx), actorOf(ctx), body));
}
