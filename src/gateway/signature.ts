import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verification of the `SDK-HMAC-SHA256` request signature (the Huawei Cloud API Gateway "APIG SDK"
 * algorithm). Pure functions: the caller finds the secret key for the access key and passes the
 * original request as the gateway forwarded it.
 *
 * Where the published SDKs (Go, Python, JS) differ from what is verified here:
 * - The canonical URI splits the path on "/" BEFORE percent-decoding each segment, so `/a%2Fb`
 *   (one segment) and `/a/b` (two) never share a signature. The Go and Python SDKs decode the whole
 *   path first (`/a%2Fb` signs as `/a/b/`); the JS SDK does not decode at all.
 * - A query parameter without a value is `name=` (Go, Python); one JS SDK version writes `name`.
 *   Parameters are sorted by name, then value, compared as decoded UTF-8 bytes (Go's and Python's
 *   order); one JS SDK version sorts the encoded `name=value` strings instead.
 * - In a query, `+` is a literal plus (percent-decoding only, like Python's unquote), never a space
 *   as in HTML forms and Go's url.Query(). The SDKs send the query in its canonical, fully encoded
 *   form, so this only matters for hand-built URLs.
 * - The method is taken as forwarded; the Python SDK upper-cases it, Go and JS do not.
 * - The body hash must come from `X-Sdk-Content-Sha256`: the SDKs hash the body when it is absent,
 *   but the auth check never sees the body.
 */

export const SIGNATURE_SCHEME = 'SDK-HMAC-SHA256';
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
export const MAX_SIGNED_HEADERS = 32;
export const MAX_URI_LENGTH = 8 * 1024;

export interface SdkAuthorization {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * The original request. Strings are as Node presents header values: one character per byte
 * (latin1), so non-ASCII values are hashed as the exact bytes the client sent.
 */
export interface SignedRequest {
  method: string;
  /** path?query as forwarded (X-Forwarded-Uri). */
  uri: string;
  /** X-Forwarded-Host: the host the client signed, not the check request's own Host. */
  host: string;
  /** The check request's headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
}

export type SignatureFailure = 'stale_date' | 'bad_date' | 'missing_header' | 'bad_signature';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/; // RFC 9110 token, lower-cased
const SDK_DATE = /^\d{8}T\d{6}Z$/;
const SIGNATURE_HEX = /^[0-9a-f]{64}$/i;
const NOT_LATIN1 = /[^\x00-\xff]/;

/** Parses the Authorization header; undefined when it is not this scheme or malformed. */
export function parseSdkAuthorization(header: string): SdkAuthorization | undefined {
  const match = /^(\S+)\s+(\S.*)$/s.exec(header.trim());
  // Auth schemes and parameter names are case-insensitive (RFC 9110, section 11.1).
  if (!match || match[1]!.toUpperCase() !== SIGNATURE_SCHEME) return undefined;
  const params = new Map<string, string>();
  for (const part of match[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const name = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!value || /\s/.test(value) || params.has(name)) return undefined;
    params.set(name, value);
  }
  const accessKey = params.get('access');
  const signedHeaders = params.get('signedheaders')?.toLowerCase().split(';');
  const signature = params.get('signature');
  if (params.size !== 3 || !accessKey || !signedHeaders || !signature) return undefined;
  if (!signedHeaders.every((name) => HEADER_NAME.test(name))) return undefined;
  if (new Set(signedHeaders).size !== signedHeaders.length) return undefined;
  return { accessKey, signedHeaders, signature };
}

/** Why a signed request is refused, or undefined when the signature is good. */
export function verifySdkSignature(
  request: SignedRequest,
  auth: { signedHeaders: string[]; signature: string },
  secretKey: string,
  now: Date,
): SignatureFailure | undefined {
  // Bound the work an unauthenticated caller can ask for.
  if (auth.signedHeaders.length > MAX_SIGNED_HEADERS || request.uri.length > MAX_URI_LENGTH) return 'bad_signature';
  const signedHeaders = auth.signedHeaders.map((name) => name.toLowerCase());
  // Without host and date under the signature, it could be replayed to another host or forever.
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-sdk-date')) return 'missing_header';

  const date = headerValue(request.headers, 'x-sdk-date');
  if (date === undefined) return 'missing_header';
  const signedAt = parseSdkDate(date);
  if (!signedAt) return 'bad_date';
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_CLOCK_SKEW_MS) return 'stale_date';

  const canonical = canonicalRequest(request, signedHeaders);
  if (canonical === undefined) return 'missing_header';
  // Characters above 0xFF cannot come from an HTTP header; latin1 would silently truncate them.
  if (NOT_LATIN1.test(request.uri) || NOT_LATIN1.test(canonical)) return 'bad_signature';
  if (!SIGNATURE_HEX.test(auth.signature)) return 'bad_signature';

  const stringToSign = `${SIGNATURE_SCHEME}\n${date}\n${sha256Hex(canonical)}`;
  const expected = createHmac('sha256', secretKey).update(stringToSign, 'latin1').digest();
  return timingSafeEqual(expected, Buffer.from(auth.signature, 'hex')) ? undefined : 'bad_signature';
}

/**
 * The canonical request, one character per byte; undefined when a signed header or the body hash
 * is missing. Signed header names are lower-cased and sorted, as the SDKs send them.
 */
export function canonicalRequest(request: SignedRequest, signedHeaders: string[]): string | undefined {
  // Required: the gateway cannot hash a body it never receives, so the client must say its hash
  // (or UNSIGNED-PAYLOAD); the signature then covers that statement.
  const payloadHash = headerValue(request.headers, 'x-sdk-content-sha256');
  if (payloadHash === undefined) return undefined;
  const names = [...new Set(signedHeaders.map((name) => name.toLowerCase()))].sort();
  let headers = '';
  for (const name of names) {
    const value = name === 'host' ? request.host.trim() || undefined : headerValue(request.headers, name);
    if (value === undefined) return undefined;
    headers += `${name}:${value}\n`;
  }
  const queryAt = request.uri.indexOf('?');
  const path = queryAt < 0 ? request.uri : request.uri.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.uri.slice(queryAt + 1);
  return [request.method, canonicalUri(path), canonicalQuery(query), headers, names.join(';'), payloadHash].join('\n');
}

function canonicalUri(path: string): string {
  // Split first, then decode each segment, so an encoded "/" stays inside its segment.
  const uri = path
    .split('/')
    .map((segment) => uriEncode(percentDecode(segment)))
    .join('/');
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function canonicalQuery(query: string): string {
  const params = query
    .split('&')
    .filter((param) => param !== '')
    .map((param) => {
      const eq = param.indexOf('=');
      return eq < 0
        ? { name: percentDecode(param), value: Buffer.alloc(0) }
        : { name: percentDecode(param.slice(0, eq)), value: percentDecode(param.slice(eq + 1)) };
    });
  // Byte order of the decoded UTF-8 is code point order, as Go's sort.Strings and Python's sort.
  params.sort((a, b) => Buffer.compare(a.name, b.name) || Buffer.compare(a.value, b.value));
  return params.map(({ name, value }) => `${uriEncode(name)}=${uriEncode(value)}`).join('&');
}

/** Percent-decoding at the byte level: `+` stays `+`, a stray `%` stays itself. */
function percentDecode(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const out = Buffer.alloc(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9a-f]{2}$/i.test(hex)) {
      out[length++] = parseInt(hex, 16);
      i += 2;
    } else {
      out[length++] = bytes[i]!;
    }
  }
  return out.subarray(0, length);
}

/** RFC 3986: unreserved bytes as they are, everything else as %XX with upper-case hex. */
function uriEncode(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Trimmed value; a header sent twice is joined with ", " as Node does for most headers. */
function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(', ') : value).trim();
}

/** YYYYMMDDTHHMMSSZ in UTC; undefined for any other shape or an impossible date (20240230). */
function parseSdkDate(value: string): Date | undefined {
  if (!SDK_DATE.test(value)) return undefined;
  const [year, month, day, hour, minute, second] = [0, 4, 6, 9, 11, 13].map((at, i) =>
    Number(value.slice(at, at + (i === 0 ? 4 : 2))),
  ) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls impossible fields over (and maps years below 100 to 19xx): refuse those.
  const roundTrip = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return roundTrip === value ? date : undefined;
}

function sha256Hex(byteString: string): string {
  return createHash('sha256').update(byteString, 'latin1').digest('hex');
}
