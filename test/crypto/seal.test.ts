import { describe, expect, it } from '@jest/globals';
import { deriveKey, deriveKeys } from '../../src/crypto/keys.js';
import { seal, unseal } from '../../src/crypto/seal.js';
import { keyedHash, randomToken, safeEqual } from '../../src/crypto/tokens.js';

const key = deriveKey('a-root-secret-of-sufficient-length-0123', 'seal');

describe('sealing', () => {
  it('round-trips and never shows the plaintext', () => {
    const sealed = seal(key, 'client-secret-value', 'oauth_clients:abc');
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain('client-secret-value');
    expect(unseal(key, sealed, 'oauth_clients:abc')).toBe('client-secret-value');
    expect(seal(key, 'client-secret-value', 'oauth_clients:abc')).not.toBe(sealed); // fresh IV each time
  });

  it('refuses a tampered value, another key, or other associated data', () => {
    const sealed = seal(key, 'value', 'row-1');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[2]!, 'base64url');
    body[0] = body[0]! ^ 1;
    const tampered = [parts[0], parts[1], body.toString('base64url'), parts[3]].join('.');
    expect(() => unseal(key, tampered, 'row-1')).toThrow();
    expect(() => unseal(deriveKey('another-root-secret-of-sufficient-length', 'seal'), sealed, 'row-1')).toThrow();
    expect(() => unseal(key, sealed, 'row-2')).toThrow();
    expect(() => unseal(key, 'garbage', 'row-1')).toThrow('not a sealed value');
  });
});

describe('derived keys and tokens', () => {
  it('derives a distinct key per purpose, stable for one secret', () => {
    const a = deriveKeys('a-root-secret-of-sufficient-length-0123');
    const b = deriveKeys('a-root-secret-of-sufficient-length-0123');
    expect(a.seal.equals(b.seal)).toBe(true);
    const all = [a.sessionToken, a.csrf, a.seal, a.lookup, a.check].map((k) => k.toString('hex'));
    expect(new Set(all).size).toBe(all.length);
  });

  it('makes 256-bit prefixed tokens and keyed hashes, and compares in constant time', () => {
    const token = randomToken('pk_');
    expect(token).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(keyedHash(key, token)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyedHash(key, token)).not.toBe(keyedHash(deriveKey('x'.repeat(32), 'seal'), token));
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
