import { z } from 'zod';
import type { ApiRegistrar } from '../http/api-routes.js';
import { actorOf } from '../http/session.js';
import { idParams, noBody, text } from '../http/validate.js';
import type { ClientRegistration } from './service.js';

const TOKENS = '/api/v1/admin/registration-tokens';

export const issueRegistrationTokenBody = z.strictObject({
  name: text(1, 100),
  expiresInDays: z.number().int().min(1).max(365).default(30),
});

/** /api/v1/admin/registration-tokens: initial access tokens for client registration (RFC 7591). Behind requireSession + requireAdmin. */
export function mountRegistrationTokenRoutes(api: ApiRegistrar, registration: ClientRegistration): void {
  api.post(TOKENS, { summary: 'Issue an initial access token for POST /oauth2/register (shown only in this answer); needed when the clientRegistration setting is "token"', status: 201, body: issueRegistrationTokenBody },
    ({ body }, ctx) => registration.issueToken(actorOf(ctx), body));
  api.get(TOKENS, { summary: 'Initial access tokens, newest first, with how many clients each registered (never the tokens)' },
    () => registration.listTokens());
  api.delete(`${TOKENS}/:id`, { summary: 'Revoke an initial access token (clients it registered stay)', status: 204, params: idParams, body: noBody },
    ({ params }, ctx) => registration.revokeToken(actorOf(ctx), params.id));
}
