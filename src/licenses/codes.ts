import { randomBytes } from 'node:crypto';
import { keyedHash } from '../crypto/tokens.js';

/**
 * Activation codes are typed by people: Crockford base32 (no I, L, O or U, so nothing reads as
 * another character), 20 characters in groups of four: `7K3Q-ZP9M-...`, 100 random bits.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 20;
const GROUP = 4;

/** A new activation code from the CSPRNG (13 bytes, of which 100 bits are used: 5 per character). */
export function newActivationCode(): string {
  let bits = 0n;
  for (const byte of randomBytes(13)) bits = (bits << 8n) | BigInt(byte);
  let code = '';
  for (let i = 0; i < LENGTH; i += 1) {
    code += ALPHABET[Number(bits & 31n)];
    bits >>= 5n;
  }
  return code.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-');
}

/**
 * The code as typed, made canonical: case, dashes and spaces do not matter, and the letters
 * Crockford base32 leaves out are read as the digits they look like (O as 0, I and L as 1).
 */
export function normalizeActivationCode(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

const CANONICAL = new RegExp(`^[${ALPHABET}]{${LENGTH}}$`);
export const isActivationCode = (typed: string): boolean => CANONICAL.test(normalizeActivationCode(typed));

/**
 * What is stored and looked up: an HMAC-SHA256 of the canonical code under the lookup key, with
 * its own label so it can never equal the hash of another kind of secret.
 */
export function activationCodeHash(lookupKey: Buffer, typed: string): string {
  return keyedHash(lookupKey, `license-code:${normalizeActivationCode(typed)}`);
}
