import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock } from '../context.js';
import { seal, unseal } from '../crypto/seal.js';
import type { Database, SigningKeyRow, SigningKeyState } from '../db/types.js';

export const SIGNING_ALG = 'RS256';
/** A key still verifies this long after a newer key took over: longer than any token it signed. */
export const RETIRE_AFTER_MS = 24 * 60 * 60 * 1000;
/** Default wait between publishing a new key and signing with it, so relying parties fetch it first. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 60 * 60;

/** Told to every node when the keys change (`keys rotate`): each swaps in a provider with the new keys. */
export const SIGNING_KEYS_TOPIC = 'signing_keys';

const sealingContext = (kid: string) => `signing_keys:${kid}`;

async function createKey(db: Kysely<Database>, sealKey: Buffer, state: SigningKeyState, activatesAt: Date): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  await db.insertInto('signing_keys').values({
    kid, alg: SIGNING_ALG, state, activates_at: activatesAt,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' }),
    sealed_private_jwk: seal(sealKey, JSON.stringify(privateJwk), sealingContext(kid)),
  }).execute();
  return kid;
}

/**
 * Brings the key states up to date (next -> active once due; an active key superseded for
 * longer than RETIRE_AFTER_MS -> retired), creates the first key on a new database, and
 * returns the private JWKs to publish, the signing key first (oidc-provider signs with the
 * first key of an algorithm).
 */
export async function loadSigningKeys(db: Kysely<Database>, sealKey: Buffer, clock: Clock): Promise<JWK[]> {
  const now = clock.now();
  await db.updateTable('signing_keys').set({ state: 'active' }).where('state', '=', 'next').where('activates_at', '<=', now).execute();
  let active = await db.selectFrom('signing_keys').selectAll().where('state', '=', 'active').orderBy('activates_at', 'desc').execute();
  if (active.length === 0) {
    await createKey(db, sealKey, 'active', now);
    active = await db.selectFrom('signing_keys').selectAll().where('state', '=', 'active').execute();
  }
  const [signing] = active;
  // Each older key was superseded when the next newer one activated.
  for (let i = 1; i < active.length; i += 1) {
    const supersededAt = active[i - 1]!.activates_at;
    if (now.getTime() - supersededAt.getTime() > RETIRE_AFTER_MS) {
      await db.updateTable('signing_keys').set({ state: 'retired', retired_at: now }).where('kid', '=', active[i]!.kid).execute();
    }
  }
  const published = await db.selectFrom('signing_keys').selectAll().where('state', 'in', ['active', 'next'])
    .orderBy('activates_at', 'desc').execute();
  const ordered = [signing!, ...published.filter((k) => k.kid !== signing!.kid)];
  return ordered.map((row) => JSON.parse(unseal(sealKey, row.sealed_private_jwk, sealingContext(row.kid))) as JWK);
}

/**
 * When the keys change next by themselves: a next key starts signing, or a superseded key is
 * retired (no longer published). Undefined when nothing is due.
 */
export async function nextKeyChangeAt(db: Kysely<Database>): Promise<Date | undefined> {
  const rows = await db.selectFrom('signing_keys').select(['state', 'activates_at']).where('state', 'in', ['active', 'next'])
    .orderBy('activates_at', 'desc').execute();
  const times = rows.flatMap((row, i) => {
    if (row.state === 'next') return [row.activates_at.getTime()];
    // An active key is superseded when the newer active key above it activated.
    const newer = rows.slice(0, i).findLast((r) => r.state === 'active');
    return newer ? [newer.activates_at.getTime() + RETIRE_AFTER_MS] : [];
  });
  return times.length ? new Date(Math.min(...times)) : undefined;
}

/** Adds a key: published at once, signing after `graceSeconds`. */
export async function rotateSigningKey(db: Kysely<Database>, sealKey: Buffer, clock: Clock, graceSeconds = DEFAULT_ROTATION_GRACE_SECONDS) {
  const activatesAt = new Date(clock.now().getTime() + graceSeconds * 1000);
  const kid = await createKey(db, sealKey, graceSeconds > 0 ? 'next' : 'active', activatesAt);
  return { kid, activatesAt };
}

export function listSigningKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('activates_at', 'desc').execute();
}
