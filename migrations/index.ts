import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_oidc_storage.js';
import * as m0003 from './0003_applications.js';
import * as m0004 from './0004_revoked_grants.js';
import * as m0005 from './0005_portal.js';
import * as m0006 from './0006_application_lifecycle.js';
import * as m0007 from './0007_identity_providers.js';
import * as m0008 from './0008_organizations.js';
import * as m0009 from './0009_tenant_clients.js';
import * as m0010 from './0010_licenses.js';
import * as m0011 from './0011_application_public_keys.js';
import * as m0012 from './0012_rate_limits.js';
import * as m0013 from './0013_client_registration.js';
import * as m0014 from './0014_hashed_oidc_ids.js';
import * as m0015 from './0015_admin_list_indexes.js';

// Listed by hand (not read from the folder) so the same code runs from dist/ and under jest.
// Files are never edited after landing; a change is a new file added here.
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_oidc_storage': m0002,
  '0003_applications': m0003,
  '0004_revoked_grants': m0004,
  '0005_portal': m0005,
  '0006_application_lifecycle': m0006,
  '0007_identity_providers': m0007,
  '0008_organizations': m0008,
  '0009_tenant_clients': m0009,
  '0010_licenses': m0010,
  '0011_application_public_keys': m0011,
  '0012_rate_limits': m0012,
  '0013_client_registration': m0013,
  '0014_hashed_oidc_ids': m0014,
  '0015_admin_list_indexes': m0015,
};
