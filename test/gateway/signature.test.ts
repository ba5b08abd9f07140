import { describe, expect, it } from '@jest/globals';
import {
  MAX_CLOCK_SKEW_MS,
  canonicalRequest,
  parseSdkAuthorization,
  verifySdkSignature,
  type SignedRequest,
} from '../../src/gateway/signature.js';
import { sdkCanonicalRequest, signRequest, type SignOptions } from '../support/sdk-signer.js';

const NOW = new Date('2024-05-06T07:08:09Z');
const SECRET = 'sk-0123456789abcdef';
const MINUTE = 60_000;

type Options = Omit<SignOptions, 'accessKey' | 'secretKey' | 'method' | 'url'> & { method?: string; url?: string };

/** Signs like a client SDK, then presents the request as the gateway forwards it to the check. */
function signed(options: Options = {}) {
  const method = options.method ?? 'GET';
  const url = new URL(options.url ?? 'https://api.example.com/v1/models?limit=10');
  const sent = signRequest({ date: NOW, ...options, method, url: url.href, accessKey: 'AK1', secretKey: SECRET });
  // The check request's own Host is the auth service; the signed host arrives as X-Forwarded-Host.
  const headers: SignedRequest['headers'] = { host: 'portico.internal' };
  for (const [name, value] of Object.entries(sent)) {
    if (name !== 'host') headers[name.toLowerCase()] = asNodePresents(value);
  }
  const request: SignedRequest = { method, uri: url.pathname + url.search, host: sent.host!, headers };
  const auth = parseSdkAuthorization(sent.Authorization!)!;
  return { request, auth, sent };
}

/** Node decodes header bytes as latin1: one character per byte. */
function asNodePresents(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

function verify({ request, auth }: ReturnType<typeof signed>, now = NOW) {
  return verifySdkSignature(request, auth, SECRET, now);
}

describe('parseSdkAuthorization', () => {
  it('reads access key, lower-cased signed headers and signature', () => {
    expect(
      parseSdkAuthorization('SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Host;X-Sdk-Date, Signature=abc123'),
    ).toEqual({ accessKey: 'AK1', signedHeaders: ['host', 'x-sdk-date'], signature: 'abc123' });
    // Scheme and parameter names are case-insensitive, parameters in any order, spaces optional.
    expect(parseSdkAuthorization('sdk-hmac-sha256 signature=ff,access=AK=1,signedheaders=host')).toEqual({
      accessKey: 'AK=1',
      signedHeaders: ['host'],
      signature: 'ff',
    });
  });

  it.each([
    ['another scheme', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig'],
    ['AWS SigV4', 'AWS4-HMAC-SHA256 Credential=AK/20240506/r/s/aws4_request, SignedHeaders=host, Signature=ff'],
    ['scheme alone', 'SDK-HMAC-SHA256'],
    ['scheme and spaces', 'SDK-HMAC-SHA256   '],
    ['no Access', 'SDK-HMAC-SHA256 SignedHeaders=host, Signature=ff'],
    ['no SignedHeaders', 'SDK-HMAC-SHA256 Access=AK1, Signature=ff'],
    ['no Signature', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host'],
    ['empty value', 'SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=ff'],
    ['parameter without =', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature'],
    ['repeated parameter', 'SDK-HMAC-SHA256 Access=AK1, Access=AK2, SignedHeaders=host, Signature=ff'],
    ['unknown parameter', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host, Signature=ff, Extra=1'],
    ['space inside a value', 'SDK-HMAC-SHA256 Access=AK 1, SignedHeaders=host, Signature=ff'],
    ['empty header name', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;;x-sdk-date, Signature=ff'],
    ['header name not a token', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x(date), Signature=ff'],
    ['header signed twice', 'SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;Host, Signature=ff'],
    ['garbage', '!!!'],
    ['empty', ''],
  ])('refuses %s', (_label, header) => {
    expect(parseSdkAuthorization(header)).toBeUndefined();
  });
});

describe('verifySdkSignature', () => {
  it('accepts a good signature, whatever Host the check request itself has', () => {
    expect(verify(signed())).toBeUndefined();
    const post = signed({ method: 'POST', payload: '{"prompt":"hi"}', headers: { 'Content-Type': 'application/json' } });
    expect(verify(post)).toBeUndefined();
  });

  it('refuses a tampered method, path, query, host, signed header or signature', () => {
    const tampered: Array<(r: ReturnType<typeof signed>) => void> = [
      (r) => (r.request.method = 'DELETE'),
      (r) => (r.request.uri = '/v1/admin?limit=10'),
      (r) => (r.request.uri = '/v1/models?limit=11'),
      (r) => (r.request.uri = '/v1/models?limit=10&extra='),
      (r) => (r.request.host = 'evil.example.com'),
      (r) => (r.request.headers['x-project'] = 'other'),
      (r) => (r.request.headers['x-sdk-content-sha256'] = 'UNSIGNED-PAYLOAD'),
      (r) => (r.auth.signature = r.auth.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'))),
    ];
    for (const tamper of tampered) {
      const r = signed({ headers: { 'X-Project': 'demo' } });
      tamper(r);
      expect(verify(r)).toBe('bad_signature');
    }
  });

  it('refuses another secret and malformed signature hex', () => {
    const r = signed();
    expect(verifySdkSignature(r.request, r.auth, 'another-secret', NOW)).toBe('bad_signature');
    for (const signature of ['abc', r.auth.signature.slice(1), `${r.auth.signature}00`, 'z'.repeat(64)]) {
      expect(verifySdkSignature(r.request, { ...r.auth, signature }, SECRET, NOW)).toBe('bad_signature');
    }
  });

  it('ignores headers that are not signed', () => {
    const r = signed({ headers: { 'User-Agent': 'sdk/1.0', 'X-Project': 'demo' }, signedHeaders: ['host', 'x-sdk-date', 'x-project'] });
    r.request.headers['user-agent'] = 'curl/8';
    expect(verify(r)).toBeUndefined();
  });

  it('accepts a date up to 15 minutes away and refuses one 16 minutes old or ahead', () => {
    const r = signed();
    expect(verify(r, new Date(NOW.getTime() + MAX_CLOCK_SKEW_MS))).toBeUndefined();
    expect(verify(r, new Date(NOW.getTime() - MAX_CLOCK_SKEW_MS))).toBeUndefined();
    expect(verify(r, new Date(NOW.getTime() + 16 * MINUTE))).toBe('stale_date');
    expect(verify(signed({ date: new Date(NOW.getTime() + 16 * MINUTE) }))).toBe('stale_date');
  });

  it.each(['2024-05-06T07:08:09Z', '20240506T070809', '20240506 070809Z', '20240230T070809Z', '20240506T250809Z', '0099'])(
    'refuses the malformed date %s',
    (date) => {
      const r = signed();
      r.request.headers['x-sdk-date'] = date;
      expect(verify(r)).toBe('bad_date');
    },
  );

  it('requires the body hash, host and date under the signature, and every signed header', () => {
    const unsignedHash = signed({ signedHeaders: ['host', 'x-sdk-date'] });
    delete unsignedHash.request.headers['x-sdk-content-sha256'];
    expect(verify(unsignedHash)).toBe('missing_header');

    const signedHash = signed();
    delete signedHash.request.headers['x-sdk-content-sha256'];
    expect(verify(signedHash)).toBe('missing_header');

    expect(verify(signed({ signedHeaders: ['x-sdk-date', 'x-sdk-content-sha256'] }))).toBe('missing_header');
    expect(verify(signed({ signedHeaders: ['host', 'x-sdk-content-sha256'] }))).toBe('missing_header');

    const noDate = signed();
    delete noDate.request.headers['x-sdk-date'];
    expect(verify(noDate)).toBe('missing_header');

    const noProject = signed({ headers: { 'X-Project': 'demo' } });
    delete noProject.request.headers['x-project'];
    expect(verify(noProject)).toBe('missing_header');

    const noHost = signed();
    noHost.request.host = '';
    expect(verify(noHost)).toBe('missing_header');
  });

  it('refuses more than 32 signed headers or a URI over 8 KiB', () => {
    const headers = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-h${i}`, 'v']));
    expect(verify(signed({ headers }))).toBe('bad_signature'); // 30 + host + date + body hash
    expect(verify(signed({ headers: Object.fromEntries(Object.entries(headers).slice(1)) }))).toBeUndefined();
    expect(verify(signed({ url: `https://api.example.com/${'a'.repeat(8 * 1024)}` }))).toBe('bad_signature');
  });

  it('verifies queries with reserved characters, unicode, repeated names and names without value', () => {
    // Sorted by code point: U+FF21 before U+1F600, which JS's default (UTF-16) sort would swap.
    const url =
      'https://api.example.com/search?q=a%20b+c%2Fd?e%3Df%26g&lang=日本語&tag=z&tag=a&flag&empty=&%E2%82%AC=euro&naïve=1&😀=smile&Ａ=wide';
    const r = signed({ url });
    expect(verify(r)).toBeUndefined();
    expect(canonicalRequest(r.request, r.auth.signedHeaders)!.split('\n')[2]).toBe(
      'empty=&flag=&lang=%E6%97%A5%E6%9C%AC%E8%AA%9E&na%C3%AFve=1&q=a%20b%2Bc%2Fd%3Fe%3Df%26g&tag=a&tag=z&%E2%82%AC=euro&%EF%BC%A1=wide&%F0%9F%98%80=smile',
    );
  });

  it('canonicalizes the query: order and escaping do not matter, but "+" is not a space', () => {
    const r = signed({ url: 'https://api.example.com/search?b=2&a=x+y&a=1' });
    r.request.uri = '/search?a=1&%61=x%2By&b=%32';
    expect(verify(r)).toBeUndefined();
    r.request.uri = '/search?a=1&a=x%20y&b=2';
    expect(verify(r)).toBe('bad_signature');
  });

  it('verifies paths with spaces and unicode, and does not double-encode an encoded path', () => {
    const spaced = signed({ url: 'https://api.example.com/files/my report (1).pdf/数据' });
    expect(spaced.request.uri).toBe('/files/my%20report%20(1).pdf/%E6%95%B0%E6%8D%AE');
    expect(verify(spaced)).toBeUndefined();
    expect(canonicalRequest(spaced.request, spaced.auth.signedHeaders)!.split('\n')[1]).toBe(
      '/files/my%20report%20%281%29.pdf/%E6%95%B0%E6%8D%AE/',
    );

    const encoded = signed({ url: 'https://api.example.com/files/a%20b/caf%C3%A9/' });
    expect(canonicalRequest(encoded.request, encoded.auth.signedHeaders)!.split('\n')[1]).toBe('/files/a%20b/caf%C3%A9/');
    encoded.request.uri = '/files/a%20b/caf%c3%a9/'; // lower-case hex is the same path
    expect(verify(encoded)).toBeUndefined();
  });

  it('keeps an encoded "/" inside its segment', () => {
    const r = signed({ url: 'https://api.example.com/files/a%2Fb' });
    expect(verify(r)).toBeUndefined();
    r.request.uri = '/files/a/b';
    expect(verify(r)).toBe('bad_signature');
  });

  it('trims header values and reads non-ASCII values as the bytes sent', () => {
    const r = signed({ headers: { 'X-Project': '  demo  ', 'X-Owner': 'café' } });
    r.request.headers['x-project'] = '\t demo ';
    expect(verify(r)).toBeUndefined();
    expect(r.request.headers['x-owner']).toBe('cafÃ©');
  });

  it('accepts an unsigned payload', () => {
    const r = signed({ method: 'PUT', unsignedPayload: true });
    expect(r.request.headers['x-sdk-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(verify(r)).toBeUndefined();
  });

  it('matches a fixed test vector', () => {
    // Computed once outside this code base: Python's hashlib/hmac over the canonical request
    // written out below by hand (sha256 of it: 013335d7...04345f5), then
    //   HMAC-SHA256("example-secret", "SDK-HMAC-SHA256\n20240102T030405Z\n" + that hash).
    // The test signer prints the same signature, and its canonical request is checked below.
    const emptyBodyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const expectedCanonical = [
      'GET',
      '/v1/items/',
      'a=1&b=2',
      'host:api.example.com',
      'x-project:demo',
      `x-sdk-content-sha256:${emptyBodyHash}`,
      'x-sdk-date:20240102T030405Z',
      '',
      'host;x-project;x-sdk-content-sha256;x-sdk-date',
      emptyBodyHash,
    ].join('\n');
    const signature = '7363a3ec1ff7b6aecc3eb2bfe7514054dbc06342218645e605d52ac666394974';

    const url = 'https://api.example.com/v1/items?b=2&a=1';
    const date = new Date('2024-01-02T03:04:05Z');
    const sent = signRequest({ method: 'GET', url, headers: { 'X-Project': 'demo' }, accessKey: 'AKEXAMPLE', secretKey: 'example-secret', date });
    expect(sent.Authorization).toBe(
      `SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=host;x-project;x-sdk-content-sha256;x-sdk-date, Signature=${signature}`,
    );
    const signedHeaders = ['host', 'x-project', 'x-sdk-content-sha256', 'x-sdk-date'];
    expect(sdkCanonicalRequest('GET', new URL(url), sent, signedHeaders, emptyBodyHash)).toBe(expectedCanonical);

    const request: SignedRequest = {
      method: 'GET',
      uri: '/v1/items?b=2&a=1',
      host: 'api.example.com',
      headers: { 'x-project': 'demo', 'x-sdk-date': '20240102T030405Z', 'x-sdk-content-sha256': emptyBodyHash },
    };
    expect(canonicalRequest(request, signedHeaders)).toBe(expectedCanonical);
    expect(verifySdkSignature(request, { signedHeaders, signature }, 'example-secret', date)).toBeUndefined();
  });
});
