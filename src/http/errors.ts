/**
 * The one error family of the management API and the portal. Services throw these; the
 * problem middleware renders them as RFC 9457 problem+json with a stable `code`.
 */
export class PorticoError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    /** Extra members of the problem document (for example `errors` or `reason`). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
    this.name = new.target.name;
  }
}

export interface FieldError { path: string; message: string }

export class ValidationFailed extends PorticoError {
  constructor(errors: FieldError[], detail = 'The request is not valid.') {
    super(400, 'validation_failed', 'Validation failed', detail, { errors });
  }
}
export class MalformedRequest extends PorticoError {
  constructor(detail: string) { super(400, 'validation_failed', 'Malformed request', detail, { errors: [] }); }
}
export class UnsupportedMediaType extends PorticoError {
  constructor(detail = 'The body must be application/json.') { super(415, 'unsupported_media_type', 'Unsupported media type', detail); }
}
export class PayloadTooLarge extends PorticoError {
  constructor(limit: string) { super(413, 'payload_too_large', 'Payload too large', `The body must not exceed ${limit}.`); }
}
export class Unauthenticated extends PorticoError {
  constructor(detail = 'A valid session is required.') { super(401, 'unauthenticated', 'Unauthenticated', detail); }
}
export class InvalidCredentials extends PorticoError {
  constructor() { super(401, 'invalid_credentials', 'Invalid credentials', 'The username or password is wrong.'); }
}
export class Forbidden extends PorticoError {
  constructor(detail = 'You may not do this.') { super(403, 'forbidden', 'Forbidden', detail); }
}
export class CsrfFailed extends PorticoError {
  constructor() { super(403, 'csrf_failed', 'CSRF check failed', 'A cookie-authenticated change needs a valid X-CSRF-Token header.'); }
}
export class NotFound extends PorticoError {
  constructor(what = 'resource') { super(404, 'not_found', 'Not found', `No such ${what}.`); }
}
export class MethodNotAllowed extends PorticoError {
  constructor(allowed: string) { super(405, 'method_not_allowed', 'Method not allowed', `Allowed: ${allowed}.`); }
}
export class Conflict extends PorticoError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) { super(409, 'conflict', 'Conflict', detail, extensions); }
}
/** A daily quota raise asked for too early (api.md section 4): the detail gives the figures. */
export class QuotaRaiseNotAllowed extends PorticoError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) { super(409, 'quota_raise_not_allowed', 'Quota raise not allowed', detail, extensions); }
}
/** Too many attempts (api.md section 4): answered with `Retry-After`, in whole seconds. */
export class RateLimited extends PorticoError {
  constructor(readonly retryAfter: number, detail = 'Too many attempts.') {
    super(429, 'rate_limited', 'Too many requests', `${detail} Try again in ${retryAfter} seconds.`);
  }
}
export class AccountNotActive extends PorticoError {
  constructor(status: 'pending' | 'rejected' | 'banned', reason: string | null) {
    const detail = {
      pending: 'The account is waiting for approval by an administrator.',
      rejected: 'The account was not approved.',
      banned: 'The account is banned.',
    }[status];
    super(403, `account_${status}`, 'Account not active', detail, reason ? { reason } : {});
  }
}
