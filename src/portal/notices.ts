/** The messages a page shows after a form post, chosen by key so a URL cannot put text on the page. */
export const NOTICES: Record<string, string> = {
  'signed-up': 'Welcome! Your account is ready.',
  'logged-out': 'You are logged out.',
  'consumer-created': 'Consumer created.',
  'consumer-deleted': 'Consumer deleted. Its credentials no longer work.',
  'credential-created': 'Credential created.',
  'credential-deleted': 'Credential deleted. It no longer works.',
  'subscribed': 'Subscribed.',
  'subscription-pending': 'Subscription requested: an administrator will review it.',
  'subscription-cancelled': 'Subscription cancelled.',
  'application-created': 'Application created.',
  'application-saved': 'Application saved.',
  'application-deleted': 'Application deleted. Its appkey and secret no longer work.',
  'secret-rotated': 'Secret rotated. The old secret no longer works.',
  'go-live-requested': 'Go-live requested: an administrator will review the application.',
  'quota-requested': 'Quota raise requested: an administrator will review it.',
  'approved': 'Approved.',
  'rejected': 'Rejected.',
  'banned': 'Banned.',
  'unbanned': 'Unbanned.',
  'suspended': 'Suspended.',
  'reinstated': 'Reinstated.',
  'saved': 'Saved.',
  'deleted': 'Deleted.',
};

/** Why a login form was refused, by the error's code (the portal's and the authorization flow's). */
export const LOGIN_MESSAGES: Record<string, string> = {
  invalid_credentials: 'Wrong username or password.',
  account_pending: 'Your account is waiting for approval by an administrator.',
  account_rejected: 'Your account was not approved.',
  account_banned: 'Your account is banned.',
};
