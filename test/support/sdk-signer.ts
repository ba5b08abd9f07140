import { createHash, createHmac } from 'node:crypto';

/**
 * A client-side `SDK-HMAC-SHA256` signer written from the published APIG SDK algorithm, to sign
 * requests in tests the way a client SDK would. Deliberately shares no code with
 * src/gateway/signature.ts: it works on JS strings (UTF-8) with the platform's URI functions,
 * where the server works on the bytes it received.
 */

export interface SignOptions {
  method: string;
  /** Full URL: scheme, host, path and query. */
  url: string;
  headers?: Record<string, string>;
  accessKey: string;
  secretKey: string;
  date?: Date;
  payload?: string | Buffer;
  unsignedPayload?: boolean;
  /** Sign only these header names (as sent) instead of every header sent. */
  signedHeaders?: string[];
}

/** The headers to send: the caller's own, host, X-Sdk-Date, X-Sdk-Content-Sha256 and Authorization. */
export function signRequest(options: SignOptions): Record<string, string> {
  const url = new URL(options.url);
  const date = sdkDate(options.date ?? new Date());
  const payloadHash = options.unsignedPayload ? 'UNSIGNED-PAYLOAD' : sha256Hex(options.payload ?? '');
  const sent: Record<string, string> = {
    ...options.headers,
    host: url.host,
    'X-Sdk-Date': date,
    'X-Sdk-Content-Sha256': payloadHash,
  };
  const signedHeaders = (options.signedHeaders ?? Object.keys(sent)).map((name) => name.toLowerCase()).sort();
  const canonical = sdkCanonicalRequest(options.method, url, sent, signedHeaders, payloadHash);
  const stringToSign = `SDK-HMAC-SHA256\n${date}\n${sha256Hex(canonical)}`;
  const signature = createHmac('sha256', options.secretKey).update(stringToSign, 'utf8').digest('hex');
  return {
    ...sent,
    Authorization: `SDK-HMAC-SHA256 Access=${options.accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}

export function sdkCanonicalRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  signedHeaders: string[],
  payloadHash: string,
): string {
  const byName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(byName.get(name) ?? '').trim()}\n`).join('');
  return [
    method,
    canonicalPath(url.pathname),
    canonicalQueryString(url.search),
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

/** `20240102T030405Z` */
export function sdkDate(date: Date): string {
  return date.toISOString().slice(0, 19).replaceAll('-', '').replaceAll(':', '') + 'Z';
}

// encodeURIComponent leaves !'()* alone; RFC 3986 leaves only A-Z a-z 0-9 - _ . ~
function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(pathname: string): string {
  const path = pathname
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
  return path.endsWith('/') ? path : path + '/';
}

// Parsed by hand, not with URLSearchParams: a "+" is a plus here, not a form-encoded space.
function canonicalQueryString(search: string): string {
  const pairs = search
    .replace(/^\?/, '')
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const [name, ...rest] = pair.split('=');
      return [decodeURIComponent(name!), decodeURIComponent(rest.join('='))] as const;
    });
  pairs.sort(([nameA, valueA], [nameB, valueB]) => compareCodePoints(nameA, nameB) || compareCodePoints(valueA, valueB));
  return pairs.map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`).join('&');
}

// The SDKs sort by code point (Go: UTF-8 bytes, Python: str); JS's default sort is by UTF-16 unit.
function compareCodePoints(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
