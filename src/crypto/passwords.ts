import argon2 from 'argon2';

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1). Hashes made with weaker parameters are
// re-hashed on the next successful login (see needsRehash).
const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false; // a malformed stored hash never authenticates
  }
}

export function passwordNeedsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, OPTIONS);
}

// Verified against when the username is unknown, so both failures take the same time. Fixed
// (made with OPTIONS), so that even the first unknown-username login costs exactly one verify.
const DUMMY_HASH = '$argon2id$v=19$m=19456,p=1,t=2$lJcDL4lOodp+6mPCo/twdQ$nvtR1r/lTfat3WiYAWZLzYEIHCbSuYyvecHqLTTCHqI';
export async function verifyAgainstDummy(password: string): Promise<false> {
  await verifyPassword(DUMMY_HASH, password);
  return false;
}
