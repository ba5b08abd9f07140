// A compact client-side SDK-HMAC-SHA256 signer (the APIG SDK algorithm, as test/support/sdk-signer.ts
// describes it), for the benchmark's AK/SK row: sign once, replay the same headers.
import { createHash, createHmac } from 'node:crypto';

const sha256Hex = (data) => createHash('sha256').update(data).digest('hex');
// RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as they are (encodeURIComponent also leaves !'()*).
const encode = (text) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `20240102T030405Z` */
export const sdkDate = (date) => date.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z';

/**
 * Headers to send for `method url` (the request the client makes to the API gateway): the
 * caller's own, host, X-Sdk-Date, X-Sdk-Content-Sha256 and Authorization; every one is signed.
 */
export function signRequest({ method, url, headers = {}, accessKey, secretKey, payload = '', date = new Date() }) {
  const { host, pathname, search } = new URL(url);
  const sdkDateValue = sdkDate(date);
  const payloadHash = sha256Hex(payload);
  const sent = { ...headers, host, 'X-Sdk-Date': sdkDateValue, 'X-Sdk-Content-Sha256': payloadHash };
  const byName = new Map(Object.entries(sent).map(([name, value]) => [name.toLowerCase(), String(value).trim()]));
  const signedHeaders = [...byName.keys()].sort();
  const path = pathname.split('/').map((segment) => encode(decodeURIComponent(segment))).join('/');
  const query = search.replace(/^\?/, '').split('&').filter(Boolean)
    .map((pair) => { const at = pair.indexOf('='); return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)]; })
    .map(([name, value]) => [decodeURIComponent(name), decodeURIComponent(value)])
    .sort(([a, x], [b, y]) => Buffer.compare(Buffer.from(a), Buffer.from(b)) || Buffer.compare(Buffer.from(x), Buffer.from(y)))
    .map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
  const canonical = [
    method, path.endsWith('/') ? path : `${path}/`, query,
    signedHeaders.map((name) => `${name}:${byName.get(name)}\n`).join(''), signedHeaders.join(';'), payloadHash,
  ].join('\n');
  const stringToSign = `SDK-HMAC-SHA256\n${sdkDateValue}\n${sha256Hex(canonical)}`;
  const signature = createHmac('sha256', secretKey).update(stringToSign, 'utf8').digest('hex');
  return { ...sent, Authorization: `SDK-HMAC-SHA256 Access=${accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}` };
}
