import { PorticoError } from '../http/errors.js';

// One problem code per reason an activation is refused, so a merchant's software can tell the
// user what to do (ask for a new code, contact the vendor, free the other installation).

export class LicenseNotFound extends PorticoError {
  constructor() { super(404, 'license_not_found', 'License not found', 'No license has this activation code.'); }
}
/** The caller proved the code by sending it, so saying whose it is not would reveal nothing new. */
export class LicenseWrongApplication extends PorticoError {
  constructor() { super(403, 'license_wrong_application', 'License of another application', 'This activation code was issued for another application.'); }
}
export class LicenseExpired extends PorticoError {
  constructor(expiresAt: Date) {
    super(410, 'license_expired', 'License expired', `The license expired at ${expiresAt.toISOString()}.`, { expiresAt: expiresAt.toISOString() });
  }
}
export class LicenseRevoked extends PorticoError {
  constructor() { super(409, 'license_revoked', 'License revoked', 'The license was revoked by an administrator.'); }
}
export class LicenseAlreadyActivated extends PorticoError {
  constructor() { super(409, 'license_already_activated', 'License already activated', 'The license is already activated by another instance.'); }
}
/** Issuing: a license is sold with the application, to an organization that installed it. */
export class ApplicationNotInstalled extends PorticoError {
  constructor() { super(409, 'application_not_installed', 'Application not installed', 'The application is not installed in this organization; install it first.'); }
}
