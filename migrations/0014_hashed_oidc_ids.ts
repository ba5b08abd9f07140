import { sql, type Kysely } from 'kysely';

// Tokens, codes and session ids were row ids as they are: a copy of the database held live
// credentials. From here they are keyed by their SHA-256 (hex), and their payloads lose the copy
// in `jti` (src/oidc/adapter.ts). Sessions and device codes keep `jti` until their next save,
// which seals it: the key that seals is not known here.
const SECRET_ID_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'ClientCredentials',
  'BackchannelAuthenticationRequest', 'RegistrationAccessToken', 'InitialAccessToken'];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update oidc_payloads set id = encode(sha256(convert_to(id, 'UTF8')), 'hex'), payload = payload - 'jti'
    where model in (${sql.join(SECRET_ID_MODELS)})`.execute(db);
  await sql`update oidc_payloads set id = encode(sha256(convert_to(id, 'UTF8')), 'hex')
    where model in ('Session', 'DeviceCode')`.execute(db);
  // An interaction kept its session's id (`session.cookie`), which oidc-provider never reads back.
  await sql`update oidc_payloads set payload = payload #- '{session,cookie}' where model = 'Interaction'`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('hashed ids cannot be turned back into tokens: restore the backup taken before upgrading');
}
