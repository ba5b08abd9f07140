import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** jsonb: written as a JSON string (pg would turn arrays into PostgreSQL arrays), read parsed. */
export type Json<T = unknown> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;

export type AccountRole = 'developer' | 'admin';
export type AccountStatus = 'active' | 'pending' | 'rejected' | 'banned';

export interface AccountsTable {
  id: Generated<string>;
  username: string;
  email: string | null;
  /** Null for federated accounts, which cannot use the password form. */
  password_hash: string | null;
  role: AccountRole;
  status: AccountStatus;
  /** The reason given with a rejection or a ban, shown to the developer. */
  status_reason: string | null;
  /** True only when an enterprise identity provider vouched for the address. */
  email_verified: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ConsumersTable {
  id: Generated<string>;
  account_id: string;
  name: string;
  description: string | null;
  is_default: boolean;
  /** Null: the consumerDailyQuota setting applies. */
  daily_quota: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface SettingsTable {
  key: string;
  value: Json;
  updated_at: UpdatedAt;
}

export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: CreatedAt;
  actor_id: string | null;
  actor_ip: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  details: Json<Record<string, unknown>>;
  request_id: string | null;
}

export interface SessionsTable {
  id: Generated<string>;
  /** HMAC of the opaque token; the token itself is never stored. */
  token_hash: string;
  account_id: string;
  created_at: CreatedAt;
  expires_at: Date;
  ip: string | null;
  user_agent: string | null;
}

/** One row: facts about this installation (the PORTICO_SECRET check value). */
export interface InstanceTable {
  id: ColumnType<boolean, boolean | undefined, never>;
  secret_check: string;
  created_at: CreatedAt;
}

/** oidc-provider's artifacts: sessions, interactions, grants, codes, refresh tokens, ... */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: Json<Record<string, unknown>>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  /** Null for artifacts without expiry. */
  expires_at: Date | null;
  /** Set once, by a conditional update, so a code or refresh token is consumed only once. */
  consumed_at: Date | null;
}

export type SigningKeyState = 'next' | 'active' | 'retired';

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: Json<Record<string, unknown>>;
  /** The private JWK, sealed (AES-256-GCM) with the kid as associated data. */
  sealed_private_jwk: string;
  state: SigningKeyState;
  created_at: CreatedAt;
  /** When the key starts signing; it is published from creation on. */
  activates_at: Date;
  retired_at: Date | null;
}

export type ApplicationStage = 'development' | 'review' | 'online';

export interface ApplicationsTable {
  id: Generated<string>;
  account_id: string;
  consumer_id: string;
  name: string;
  stage: ColumnType<ApplicationStage, ApplicationStage | undefined, ApplicationStage>;
  daily_quota: ColumnType<number, number | undefined, number>;
  suspended_at: Date | null;
  suspension_reason: string | null;
  review_note: string | null;
  /** The merchant's RSA public key (public JWK, >= 3072 bits): tenant client secrets are encrypted to it. */
  public_key: ColumnType<Record<string, string> | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type QuotaRequestStatus = 'pending' | 'approved' | 'rejected';

export interface QuotaRequestsTable {
  id: Generated<string>;
  application_id: string;
  requested_quota: number;
  previous_quota: number;
  used_today: ColumnType<number, number, number>;
  reason: string;
  status: ColumnType<QuotaRequestStatus, QuotaRequestStatus | undefined, QuotaRequestStatus>;
  granted_quota: number | null;
  decision_reason: string | null;
  created_at: CreatedAt;
  decided_at: Date | null;
}

export type UsageSubjectKind = 'application' | 'consumer';

export interface UsageCountersTable {
  subject_kind: UsageSubjectKind;
  subject_id: string;
  /** A UTC day, YYYY-MM-DD (the driver's date parsing is turned off for this type). */
  day: string;
  calls: ColumnType<number, number | undefined, number>;
  reserved: ColumnType<number, number | undefined, number>;
}

export interface UsageReportsTable {
  node_id: string;
  seq: number;
  reported_at: ColumnType<Date, Date | undefined, never>;
}

/** What oidc-provider knows as a client. The secret is sealed, never stored in plaintext. */
export interface OauthClientsTable {
  client_id: string;
  application_id: string | null;
  /** The owner (whose standing decides whether the client gets tokens) and its consumer. */
  account_id: string | null;
  consumer_id: string | null;
  /** Client metadata in oidc-provider's (snake_case) names, without the secret. */
  metadata: Json<Record<string, unknown>>;
  sealed_secret: string | null;
  /** Skips the consent page. */
  first_party: ColumnType<boolean, boolean | undefined, boolean>;
  /**
   * Set for a tenant client: the install (an application in an organization) it serves. Such a
   * client has its own id and secret; everything else is its application's own client's.
   */
  install_id: ColumnType<string | null, string | null | undefined, never>;
  /** Set for a client that registered itself (RFC 7591); it has no application until a developer claims it. */
  registered_at: ColumnType<Date | null, Date | null | undefined, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** The consumer a user chose, at consent, to pay for their calls through a registered client. */
export interface ClientConsumersTable {
  client_id: string;
  account_id: string;
  consumer_id: string;
  created_at: CreatedAt;
}

/** Initial access tokens for client registration (RFC 7591), issued by administrators. */
export interface RegistrationTokensTable {
  id: Generated<string>;
  name: string;
  token_hash: string;
  expires_at: Date;
  registrations: ColumnType<number, never, number>;
  created_at: CreatedAt;
}

export interface RevokedGrantsTable {
  grant_id: string;
  revoked_at: CreatedAt;
  /** When the last JWT the grant could have issued expires; the row is useless after. */
  expires_at: Date;
}

export type CredentialType = 'api-key' | 'ak-sk';

export interface CredentialsTable {
  id: Generated<string>;
  consumer_id: string;
  type: CredentialType;
  /** HMAC of an API key (its lookup); null for AK/SK pairs. */
  key_hash: string | null;
  /** The access key of an AK/SK pair (an identifier, not a secret); null for API keys. */
  access_key: string | null;
  /** The API key or the secret key, sealed with the credential id as associated data. */
  sealed_secret: string;
  created_at: CreatedAt;
}

export type ProductType = 'model' | 'mcp' | 'agent';
export type ProductStatus = 'published' | 'draft';
export type ApprovalMode = 'auto' | 'manual';
export interface SampleRequest { title: string; request: string; response?: string }

export interface ProductsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  type: ProductType;
  category: string;
  description: string;
  overview: string;
  guide: string;
  sample_requests: Json<SampleRequest[]>;
  route_prefix: string;
  resource_uri: string | null;
  status: ProductStatus;
  /** Null: the platform setting applies. */
  subscription_approval: ApprovalMode | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** Generated full-text vector; never written. */
  search: ColumnType<string, never, never>;
}

export type SubscriptionStatus = 'pending' | 'approved' | 'rejected' | 'cancelled';

export interface SubscriptionsTable {
  id: Generated<string>;
  account_id: string;
  /** Null once the consumer is deleted (the subscription was cancelled with it). */
  consumer_id: string | null;
  /** Null once the product is deleted (the subscription was cancelled with it). */
  product_id: string | null;
  status: SubscriptionStatus;
  reason: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** An upstream OpenID provider for enterprise SSO. The client secret is sealed, never stored in plaintext. */
export interface IdentityProvidersTable {
  id: Generated<string>;
  slug: string;
  name: string;
  issuer: string;
  client_id: string;
  /** Sealed (AES-256-GCM) with the row id as associated data. */
  sealed_client_secret: string;
  scopes: Json<string[]>;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  /** Lower-case domains; empty: any address. */
  email_domains: Json<string[]>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** The link of an account to a subject at an identity provider: how a federated login finds its account. */
export interface FederatedIdentitiesTable {
  provider_id: string;
  subject: string;
  account_id: string;
  created_at: CreatedAt;
}

export type OrganizationRole = 'member' | 'admin';

/** A tenant: an enterprise whose members use the applications installed into it. */
export interface OrganizationsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OrganizationMembersTable {
  organization_id: string;
  account_id: string;
  /** 'admin': an org admin, who manages the organization's members, departments, groups and grants. */
  role: ColumnType<OrganizationRole, OrganizationRole | undefined, OrganizationRole>;
  created_at: CreatedAt;
}

/** A tree per organization: `parent_id` null is a root department. */
export interface DepartmentsTable {
  id: Generated<string>;
  organization_id: string;
  parent_id: string | null;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface DepartmentMembersTable {
  department_id: string;
  organization_id: string;
  account_id: string;
  created_at: CreatedAt;
}

export interface OrganizationGroupsTable {
  id: Generated<string>;
  organization_id: string;
  name: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface GroupMembersTable {
  group_id: string;
  organization_id: string;
  account_id: string;
  created_at: CreatedAt;
}

/** An application installed into an organization (the purchase). */
export interface AppInstallsTable {
  id: Generated<string>;
  organization_id: string;
  application_id: string;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  /** Every member may use it, whatever the grants say. */
  grant_all: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type GrantKind = 'member' | 'department' | 'group';

/** One grant of an install: exactly the subject column of its kind is set. */
export interface InstallGrantsTable {
  id: Generated<string>;
  install_id: string;
  organization_id: string;
  kind: GrantKind;
  account_id: string | null;
  department_id: string | null;
  group_id: string | null;
  created_at: CreatedAt;
}

/** A license activation code (the code itself is never stored, only its keyed hash). */
export interface LicensesTable {
  id: Generated<string>;
  code_hash: string;
  application_id: string;
  /** The tenant the license is for. */
  organization_id: string;
  seats: number;
  expires_at: Date;
  /** The instance that activated the license; set once. */
  activated_instance: ColumnType<string | null, never, string>;
  activated_at: ColumnType<Date | null, never, Date>;
  revoked_at: ColumnType<Date | null, never, Date>;
  created_at: CreatedAt;
}

export interface Database {
  accounts: AccountsTable;
  consumers: ConsumersTable;
  settings: SettingsTable;
  audit_events: AuditEventsTable;
  sessions: SessionsTable;
  instance: InstanceTable;
  oidc_payloads: OidcPayloadsTable;
  signing_keys: SigningKeysTable;
  applications: ApplicationsTable;
  oauth_clients: OauthClientsTable;
  client_consumers: ClientConsumersTable;
  registration_tokens: RegistrationTokensTable;
  revoked_grants: RevokedGrantsTable;
  credentials: CredentialsTable;
  products: ProductsTable;
  subscriptions: SubscriptionsTable;
  quota_requests: QuotaRequestsTable;
  usage_counters: UsageCountersTable;
  usage_reports: UsageReportsTable;
  identity_providers: IdentityProvidersTable;
  federated_identities: FederatedIdentitiesTable;
  organizations: OrganizationsTable;
  organization_members: OrganizationMembersTable;
  departments: DepartmentsTable;
  department_members: DepartmentMembersTable;
  organization_groups: OrganizationGroupsTable;
  group_members: GroupMembersTable;
  app_installs: AppInstallsTable;
  install_grants: InstallGrantsTable;
  licenses: LicensesTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type ConsumerRow = Selectable<ConsumersTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
export type SessionRow = Selectable<SessionsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type ApplicationRow = Selectable<ApplicationsTable>;
export type OauthClientRow = Selectable<OauthClientsTable>;
export type RegistrationTokenRow = Selectable<RegistrationTokensTable>;
export type CredentialRow = Selectable<CredentialsTable>;
export type ProductRow = Selectable<ProductsTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type IdentityProviderRow = Selectable<IdentityProvidersTable>;
export type OrganizationRow = Selectable<OrganizationsTable>;
export type DepartmentRow = Selectable<DepartmentsTable>;
export type OrganizationGroupRow = Selectable<OrganizationGroupsTable>;
export type AppInstallRow = Selectable<AppInstallsTable>;
export type InstallGrantRow = Selectable<InstallGrantsTable>;
export type LicenseRow = Selectable<LicensesTable>;
