import { hkdfSync } from 'node:crypto';

/**
 * Purpose-bound keys derived from PORTICO_SECRET (HKDF-SHA256), so one root secret never serves
 * two purposes and a leak of one derived key reveals nothing of the others.
 */
export interface DerivedKeys {
  /** Keyed hash of session tokens (the database keeps only the hash). */
  sessionToken: Buffer;
  /** CSRF tokens are an HMAC of the session id under this key. */
  csrf: Buffer;
  /** AES-256-GCM key for secrets kept at rest (client secrets, API keys, tenant credentials). */
  seal: Buffer;
  /** Keyed hash for lookups of secrets by value (API keys, client secrets). */
  lookup: Buffer;
  /** Koa cookie-signing keys. */
  cookie: string[];
  /** Stored once in the database to detect a changed PORTICO_SECRET. */
  check: Buffer;
}

export function deriveKey(secret: string, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `portico:${purpose}`, length));
}

export function deriveKeys(secret: string): DerivedKeys {
  return {
    sessionToken: deriveKey(secret, 'session-token'),
    csrf: deriveKey(secret, 'csrf'),
    seal: deriveKey(secret, 'seal'),
    lookup: deriveKey(secret, 'lookup'),
    cookie: [deriveKey(secret, 'cookie').toString('base64url')],
    check: deriveKey(secret, 'check'),
  };
}
