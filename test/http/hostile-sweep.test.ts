import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.js';

/*
 * Hostile-input sweep (issue 9 item 4). Driven by the server's own route table (`portico.routes`),
 * the management API's OpenAPI document (its zod schemas, as JSON Schema) and the discovery
 * document, so a route added later is swept without touching this file: the management API, the
 * portal pages and every other route of the table, the OAuth 2.0 / OIDC endpoints, the login and
 * consent pages (/interaction), /openapi/v1 and /gateway/check. Every answer must be:
 *   - never a 5xx, never a stack trace or an error dump, and no error logged by the server;
 *   - on the management API (/api/v1/*), an error is application/problem+json with `code` and
 *     `status` (the token endpoint alias /api/v1/oauth2/token answers OAuth errors: the contract
 *     says it behaves like the token endpoint);
 *   - a page (text/html) never carries an injected script back unescaped;
 *   - a refused request changes nothing in the database: a digest of every table is taken before
 *     and after each batch of refused requests. Left out: `rate_limits` (failed logins and token
 *     requests count there on PostgreSQL, which is what the limits are for) and the audit events a
 *     refusal legitimately records. The code records one: `account.locked`, when a failed login
 *     uses up a known username's budget (rate-limits/service.ts, written just after the answer).
 *     The sweep never gets there (every hostile login names a fresh, unknown username), but the
 *     action stays out of the digest so that a lock is never mistaken for a refused request's write.
 *     Nothing else is written on refusal: no audit event, session, usage counter or OIDC artefact.
 * Two kinds of cases: malformed ones (bad JSON, media types, sizes, types, lengths, ids, duplicated
 * or missing parameters) must be refused; hostile text (SQL and script injection, unicode edge
 * cases) in an otherwise valid request may be accepted and stored, and is checked the same way,
 * the database included whenever it was refused. Path parameters are filled with the ids of seeded
 * objects (so a request gets past 404 to the code that stores it) and, one at a time, with hostile ids.
 * Requests go out through node:http (paths unnormalized, headers as written), a few at a time.
 */

const EXCLUDED_TABLES = ['rate_limits'];
const LEGITIMATE_REFUSAL_AUDIT_ACTIONS = ['account.locked'];
const CONCURRENCY = 6;

const SCRIPT = '<script>alert("sweep")</script>';
/** Stands for bytes that are not UTF-8 at all (a lone 0xFF, an overlong '.'), spliced in after encoding. */
const INVALID_UTF8 = 'SWEEPINVALIDUTF8';
const INVALID_UTF8_BYTES = Buffer.from([0xff, 0xfe, 0xc0, 0xae]);

/** Text a client can put in JSON (lone surrogates as `\ud800` escapes), hostile to whatever stores, searches or renders it. */
const HOSTILE_TEXT: Array<[string, string]> = [
  ['SQL injection', "x' OR '1'='1'; --"],
  ['stacked SQL', "1); DROP TABLE accounts; --"],
  ['LIKE wildcards and backslash', '%_\\%\\'],
  ['script injection', SCRIPT],
  ['attribute injection', '"><img src=x onerror=alert(1)>'],
  ['template injection', '{{7*7}}${7*7}<%= 7*7 %>'],
  ['lone high surrogate', 'a\ud800b'],
  ['lone low surrogate', '\udfffz'],
  ['RTL override', 'abc\u202egpj.exe'],
  ['emoji with ZWJ', '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}\u{1F3F3}\ufe0f\u200d\u{1F308}'],
  ['combining marks', `Z${'\u0336\u0301\u0489'.repeat(20)}`],
  ['zero-width and BOM', '\ufeff\u200b\u200dx'],
  ['path traversal', '../../../etc/passwd'],
  ['full-text operators', "a:* & !b | (c <-> 'd"],
  ['invalid UTF-8 bytes', INVALID_UTF8],
];

/** Path segments, raw as they go on the wire (node:http sends them unnormalized). */
const HOSTILE_SEGMENTS: Array<[string, (real: string) => string]> = [
  ['not a uuid', () => 'not-a-uuid'],
  ['encoded traversal', () => '..%2f..%2f..%2fetc%2fpasswd'],
  ['dot segment', () => '..'],
  ['encoded dot segment', () => '%2e%2e'],
  ['NUL', () => '%00'],
  ['real id and NUL', (real) => `${real}%00`],
  ['real id and encoded traversal', (real) => `${real}%2f..%2f..`],
  ['very long id', () => 'a'.repeat(4000)],
  ['SQL injection', () => "1'%20OR%20'1'%3D'1"],
  ['script injection', () => '%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
  ['emoji', () => '%F0%9F%92%A5'],
  ['lone surrogate as CESU-8', () => '%ED%A0%80'],
  ['malformed percent-encoding', () => '%E0%A4%A'],
  ['overlong UTF-8 dots', () => '%C0%AE%C0%AE'],
  ['nil uuid', () => '00000000-0000-0000-0000-000000000000'],
];

/**
 * The hostile segments for a route's parameters: every parameter gets the core ones (non-uuid, traversal, NUL,
 * very long); of the others, each route gets a few, in turn (`turn` counts the routes), so all are sent
 * across the routes while a sweep stays within a bounded number of requests.
 */
const CORE_SEGMENTS = ['not a uuid', 'NUL', 'encoded traversal', 'very long id'];
const SEGMENTS_PER_ROUTE = 4;
let turn = 0;
function hostileSegmentsFor(params: string[]): Array<[string, string, (real: string) => string]> {
  if (params.length === 0) return [];
  const core = HOSTILE_SEGMENTS.filter(([label]) => CORE_SEGMENTS.includes(label));
  const rest = HOSTILE_SEGMENTS.filter(([label]) => !CORE_SEGMENTS.includes(label));
  const start = (turn++ * SEGMENTS_PER_ROUTE) % rest.length;
  const picked = Array.from({ length: SEGMENTS_PER_ROUTE }, (_v, i) => rest[(start + i) % rest.length]!);
  return [
    ...params.flatMap((name) => core.map(([label, segment]) => [name, label, segment] as [string, string, (real: string) => string])),
    ...picked.map(([label, segment], i) => [params[params.length - 1 - (i % params.length)]!, label, segment] as [string, string, (real: string) => string]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Requests: node:http, so paths, headers and bodies go out exactly as written.

interface Request {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Must be refused (4xx, or a redirect carrying an OAuth error). */
  mustFail?: boolean;
  /** May legitimately write when it is accepted; a refusal must still write nothing. */
  mayWrite?: boolean;
}
interface Response { status: number; headers: http.IncomingHttpHeaders; text: string }

let server: TestServer;
let agent: http.Agent;

function send(req: Request): Promise<Response> {
  const url = new URL(server.portico.url);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
  // An empty value stands for "no such header" (a body without Content-Type).
  const headers = Object.fromEntries(Object.entries(req.headers ?? {}).filter(([, v]) => v !== '')) as Record<string, string | string[]>;
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: body && body.length > 16_384 ? false : agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return; // a server that answers 413 before reading a large body may close the connection while it is being written
      // A kept-alive connection the server closed just then (its keep-alive timeout): once more on a new one.
      if (r.reusedSocket && err.code === 'ECONNRESET') send(req).then(resolve, reject);
      else reject(err);
    });
    r.end(body);
  });
}

/** Percent-encodes text for a query or form, keeping what cannot be UTF-8 as the bytes a hostile client would send. */
function pct(value: string): string {
  let out = '';
  for (const ch of value.split(INVALID_UTF8).join('\u0000INVALID\u0000').split(/(\u0000INVALID\u0000)/)) {
    if (ch === '\u0000INVALID\u0000') { out += '%FF%FE%C0%AE'; continue; }
    for (let i = 0; i < ch.length; i++) {
      const unit = ch.charCodeAt(i);
      const next = ch.charCodeAt(i + 1);
      if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { out += encodeURIComponent(ch.slice(i, i + 2)); i++; continue; }
      if (unit >= 0xd800 && unit <= 0xdfff) { // a lone surrogate: its 3-byte (CESU-8) form, which is not UTF-8
        out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
        continue;
      }
      out += encodeURIComponent(ch[i]!);
    }
  }
  return out;
}
const form = (pairs: Array<[string, string]>) => pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');

/** A raw JSON value (1e400, which JSON.stringify cannot write) inside a body. */
class RawJson { constructor(readonly text: string) {} }
function jsonBytes(value: unknown): Buffer {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v) => (v instanceof RawJson ? `\u0001RAW${raws.push(v.text) - 1}\u0001` : v))
    .replace(/"\\u0001RAW(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
  const parts = text.split(INVALID_UTF8);
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [INVALID_UTF8_BYTES, Buffer.from(p)])));
}
const JSON_TYPE = { 'content-type': 'application/json' };
/** 2 MB of JSON in about 2 KB of gzip. */
const GZIP_BOMB = gzipSync(`{"name": "${' '.repeat(2_000_000)}"}`);

async function pool<T, R>(items: T[], run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await run(items[i]!);
    }
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// What every answer must be, and the database around refusals.

const problems: string[] = [];
let sent = 0;

const STACK_TRACE = [
  /\bat [^\n]*\.(?:ts|js|mjs|cjs):\d+/, // a stack frame
  /\b(?:[A-Z][a-z]+)*Error: /, // an error dump ("TypeError: x", "Error: y")
  /node:internal|node_modules\/|\/src\/[\w-]+\/[\w-]+\.(?:ts|js)\b/, // paths of the code
];

function labelOf(req: Request) { return `${req.label} — ${req.method} ${req.path.length > 120 ? `${req.path.slice(0, 120)}…` : req.path}`; }

/** Refused: a 4xx, a redirect carrying an OAuth error, or a page's redirect to the login page. */
function isRefused(res: Response): boolean {
  if (res.status >= 400) return true;
  const location = res.headers.location ?? '';
  return res.status >= 300 && res.status < 400 && (/[?#&]error=/.test(location) || location.startsWith('/login?'));
}

/** The start of a body, on one line (what a failure message shows of it). */
const excerpt = (text: string, length = 160) => text.replace(/\s+/g, ' ').slice(0, length);

function check(req: Request, res: Response): void {
  sent++;
  const what = labelOf(req);
  if (res.status >= 500) problems.push(`${what}: ${res.status} ${excerpt(res.text)}`);
  for (const pattern of STACK_TRACE) if (pattern.test(res.text)) problems.push(`${what}: stack trace or error dump in the body (${pattern}): ${excerpt(res.text, 300)}`);
  const type = String(res.headers['content-type'] ?? '');
  const pathOnly = req.path.split('?')[0]!;
  if (pathOnly.startsWith('/api/v1/') && !pathOnly.startsWith('/api/v1/oauth2/token') && res.status >= 400) {
    let body: { code?: unknown; status?: unknown } | undefined;
    try { body = JSON.parse(res.text); } catch { /* reported below */ }
    if (!type.startsWith('application/problem+json') || typeof body?.code !== 'string' || body.status !== res.status) {
      problems.push(`${what}: ${res.status} is not a problem+json document with code and status: ${type} ${excerpt(res.text)}`);
    }
  }
  if (type.startsWith('text/html') && res.text.includes(SCRIPT)) problems.push(`${what}: the injected script came back unescaped in a page`);
  if (req.mustFail && !isRefused(res)) problems.push(`${what}: accepted (${res.status}) although it is malformed`);
}

let digestQuery: string;
async function digest(): Promise<Record<string, string>> {
  const { rows } = await sql.raw<{ t: string; n: number; h: string }>(digestQuery).execute(server.portico.context.db);
  return Object.fromEntries(rows.map((r) => [r.t, `${r.n}:${r.h}`]));
}
function changed(before: Record<string, string>, after: Record<string, string>): string[] {
  return Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
}

async function sendAll(reqs: Request[]): Promise<Response[]> {
  return pool(reqs, async (req) => {
    let res: Response;
    try {
      res = await send(req);
    } catch (err) {
      problems.push(`${labelOf(req)}: no answer (${(err as Error).message})`);
      res = { status: 0, headers: {}, text: '' };
    }
    check(req, res);
    return res;
  });
}

/**
 * Sends a batch (concurrently), checks every answer, and checks that the database is as it was
 * whenever nothing in the batch could write. When some requests were accepted (and may have
 * written), the refused ones are sent again on their own, with the database compared around them;
 * failing that, one by one. Returns the answers to the first sending.
 */
async function sweep(group: string, reqs: Request[]): Promise<Response[]> {
  if (reqs.length === 0) return [];
  let pending = reqs;
  let first: Response[] | undefined;
  for (let round = 0; round < 2; round++) {
    const before = await digest();
    const results = await sendAll(pending);
    first ??= results;
    const quiet = pending.filter((req, i) => !req.mayWrite || isRefused(results[i]!));
    if (quiet.length === pending.length) {
      const tables = changed(before, await digest());
      if (tables.length === 0) return first;
      // Name the culprits: the batch once more, one request at a time (a write that does not happen again is reported for the batch).
      const culprits = await oneByOne(pending);
      if (culprits === 0) problems.push(`${group}: refused requests changed ${tables.join(', ')}: ${pending.slice(0, 5).map(labelOf).join('; ')}${pending.length > 5 ? ` and ${pending.length - 5} more` : ''}`);
      return first;
    }
    pending = quiet;
  }
  await oneByOne(pending); // refused, then accepted when sent again
  return first!;
}

/** Sends requests one at a time, reporting each refused one that changed the database; returns how many did. */
async function oneByOne(reqs: Request[]): Promise<number> {
  let found = 0;
  for (const req of reqs) {
    const start = await digest();
    const [res] = await sendAll([req]);
    if (!req.mayWrite || isRefused(res!)) {
      const tables = changed(start, await digest());
      if (tables.length) {
        found++;
        problems.push(`${labelOf(req)}: refused (${res!.status}) but changed ${tables.join(', ')}`);
      }
    }
  }
  return found;
}

function report(): void {
  const found = [...new Set(problems.splice(0))]; // a request sent again reports again
  expect(found).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// JSON Schema (from the OpenAPI document): valid samples and what breaks them.

type Schema = {
  type?: string; enum?: unknown[]; const?: unknown; format?: string; pattern?: string; anyOf?: Schema[];
  minLength?: number; maxLength?: number; minimum?: number; maximum?: number; exclusiveMinimum?: number;
  minItems?: number; maxItems?: number; items?: Schema; properties?: Record<string, Schema>; required?: string[];
  additionalProperties?: unknown; default?: unknown;
};

let serial = 0;
/** Real ids for uuid fields of bodies, by field name (filled once seeded). */
const idsByField: Record<string, string> = {};
/** Values a field needs to be valid beyond its schema (URLs checked by a refinement). */
const VALID_BY_NAME: Record<string, () => unknown> = {
  redirectUris: () => ['https://app.example.com/cb'],
  jwksUri: () => 'https://keys.example.com/jwks',
  issuer: () => 'https://idp.example.com',
  resourceUri: () => 'https://mcp.example.com/mcp',
  emailDomains: () => ['example.com'],
  expiresAt: () => new Date(Date.now() + 30 * 86_400_000).toISOString(),
  enabled: () => false, // an enabled identity provider would fetch its issuer's discovery document
};

const branch = (s: Schema) => (s.anyOf ? s.anyOf.find((b) => b.type !== 'null') ?? s.anyOf[0]! : s);
const typesOf = (s: Schema): string[] => (s.anyOf ? s.anyOf.flatMap(typesOf) : s.type ? [s.type] : []);

function sampleString(s: Schema): string {
  const n = ++serial;
  if (s.enum) return String(s.enum[0]);
  if (s.const !== undefined) return String(s.const);
  if (s.format === 'uuid') return randomUUID();
  if (s.format === 'email') return `sweep${n}@example.com`;
  if (s.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
  for (let candidate of [`sweep-${n}`, `/sweep-${n}`, `https://sweep-${n}.example.com/x`]) {
    if (s.minLength && candidate.length < s.minLength) candidate += 'x'.repeat(s.minLength - candidate.length);
    if (s.maxLength !== undefined && candidate.length > s.maxLength) continue;
    if (s.pattern && !new RegExp(s.pattern).test(candidate)) continue;
    return candidate;
  }
  throw new Error(`no sample for ${JSON.stringify(s)}`);
}

function sample(s: Schema, name?: string): unknown {
  if (name && VALID_BY_NAME[name]) return VALID_BY_NAME[name]!();
  if (name && idsByField[name] && branch(s).format === 'uuid') return idsByField[name];
  const b = branch(s);
  switch (b.type) {
    case 'string': return sampleString(b);
    case 'integer': case 'number': return b.exclusiveMinimum !== undefined ? b.exclusiveMinimum + 1 : b.minimum ?? 1;
    case 'boolean': return false;
    case 'array': return Array.from({ length: b.minItems ?? 0 }, () => sample(b.items ?? {}));
    case 'object': return b.properties ? sampleObject(b) : {};
    default: return b.enum?.[0] ?? 'sweep';
  }
}
/** The required fields (and the ones VALID_BY_NAME insists on), valid. */
function sampleObject(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    if ((s.required ?? []).includes(name) || name === 'enabled') out[name] = sample(prop, name);
  }
  return out;
}

/** Values the field's schema refuses: other types, and each constraint just broken. */
function invalidValues(s: Schema): Array<[string, unknown]> {
  const types = typesOf(s);
  const b = branch(s);
  const out: Array<[string, unknown]> = [];
  if (!types.includes('string')) out.push(['a string', 'sweep']);
  if (!types.includes('integer') && !types.includes('number')) out.push(['a number', 12345]);
  if (!types.includes('boolean') && (types.includes('integer') || types.includes('array'))) out.push(['a boolean', true]);
  if (!types.includes('object')) out.push(['an object', { nested: 'object' }]);
  if (!types.includes('array') && types.includes('object')) out.push(['an array', ['an', 'array']]);
  if (!types.includes('null') && types.includes('string')) out.push(['null', null]);
  if (b.type === 'string') {
    if (b.maxLength !== undefined) out.push(['an overlong string', 'a'.repeat(b.maxLength + 1)]);
    else if (!b.enum && !b.format && b.const === undefined) out.push(['a 60,000-character string', 'a'.repeat(60_000)]);
    if ((b.minLength ?? 0) > 0 || b.enum || b.format || b.pattern) out.push(['an empty string', '']);
    out.push(['a NUL byte', `nul\u0000${String(sample(b)).slice(1)}`]);
    if (b.enum) out.push(['a value outside the enum', `${String(b.enum[0])}-not`]);
    if (b.format === 'uuid') out.push(['a uuid with SQL', "00000000-0000-4000-8000-000000000000' OR '1'='1"]);
    if (b.format === 'date-time') out.push(['an impossible date', '2026-02-30T25:61:00Z'], ['year 275760', '+275760-09-13T00:00:00.000Z']);
  }
  if (b.type === 'integer' || b.type === 'number') {
    out.push(['a fraction', 1.5], ['1e400', new RawJson('1e400')], ['a number beyond 2^53', new RawJson('9007199254740993')]);
    if (b.maximum !== undefined) out.push(['above the maximum', b.maximum + 1]);
    if (b.exclusiveMinimum !== undefined) out.push(['at the exclusive minimum', b.exclusiveMinimum]);
    else if (b.minimum !== undefined) out.push(['below the minimum', b.minimum - 1]);
  }
  if (b.type === 'array') {
    const itemTypes = typesOf(b.items ?? {});
    out.push(['an array of the wrong items', [itemTypes.includes('string') ? 12345 : 'sweep']]);
    if (b.maxItems !== undefined) out.push(['too many items', Array.from({ length: b.maxItems + 1 }, () => sample(b.items ?? {}))]);
    if ((b.minItems ?? 0) > 0) out.push(['an empty array', []]);
  }
  if (b.type === 'object' && !b.properties) { // free-form (a JWK): keys that lie about their types
    out.push(['a JWK of the wrong types', { kty: 'RSA', n: 12345, e: ['AQAB'] }], ['a JWK with a lone surrogate', { kty: 'EC', crv: 'P-256', x: '\ud800', y: '' }],
      ['a JWK with a prototype key', JSON.parse('{"__proto__": {"kty": "RSA"}, "kty": "oct", "k": "AAAA"}')]);
  }
  return out;
}

/** Text fields that take anything (no enum, format or pattern): where hostile text can reach the database. */
function freeText(s: Schema): boolean {
  const b = branch(s);
  return b.type === 'string' && !b.enum && !b.format && !b.pattern && b.const === undefined;
}

// ---------------------------------------------------------------------------------------------
// The seeded world: real objects for every path parameter.

interface Seeds {
  adminToken: string; ownerToken: string; appToken: string;
  ownerCookie: string; adminCookie: string; ownerCsrf: string; adminCsrf: string;
  ids: Record<string, string>;
  app: { id: string; clientId: string; clientSecret: string };
  sweepClient: { clientId: string; clientSecret: string };
  apiKey: string; productPrefix: string;
  interaction: { uid: string; cookie: string; csrf: string };
}
let seeds: Seeds;
let openapi: { paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string; required: boolean; schema: Schema }>; requestBody?: { required: boolean; content: Record<string, { schema: Schema }> }; security: Array<Record<string, unknown>> }>> };
let discovery: Record<string, unknown>;

async function created(path: string, body: unknown, token: string): Promise<any> {
  const res = await server.api.post(path, body, { token });
  if (res.status !== 201) throw new Error(`seeding ${path}: ${res.status} ${res.text}`);
  return res.body;
}

function cookiesOf(setCookie: string[] | undefined): string {
  return (setCookie ?? []).map((c) => c.split(';')[0]).join('; ');
}

async function seed(): Promise<Seeds> {
  const adminToken = await server.adminToken();
  const owner = await server.developer('sweep-owner');
  const victim = await server.developer('sweep-victim');
  const member = await server.developer('sweep-member');
  const consumer = await created('/api/v1/consumers', { name: 'Sweep consumer' }, owner.token);
  const credential = await created(`/api/v1/consumers/${consumer.id}/credentials`, { type: 'api-key' }, owner.token);
  const product = await created('/api/v1/admin/products', { slug: 'sweep-product', name: 'Sweep product', type: 'model', category: 'text', routePrefix: '/sweep-product' }, adminToken);
  const subscription = await created('/api/v1/subscriptions', { productId: product.id, consumerId: consumer.id }, owner.token);
  const app = await created('/api/v1/applications', { name: 'Sweep app', redirectUris: ['https://app.example.com/cb'], consumerId: consumer.id }, owner.token);
  const sweepClient = await created('/api/v1/applications', { name: 'Token sweep app', redirectUris: ['https://app.example.com/cb'] }, owner.token);
  const org = await created('/api/v1/admin/organizations', { slug: 'sweep-org', name: 'Sweep org' }, adminToken);
  await created(`/api/v1/admin/organizations/${org.id}/members`, { accountId: member.id }, adminToken);
  const department = await created(`/api/v1/admin/organizations/${org.id}/departments`, { name: 'Sweep department' }, adminToken);
  await created(`/api/v1/admin/organizations/${org.id}/departments/${department.id}/members`, { accountId: member.id }, adminToken);
  const group = await created(`/api/v1/admin/organizations/${org.id}/groups`, { name: 'Sweep group' }, adminToken);
  await created(`/api/v1/admin/organizations/${org.id}/groups/${group.id}/members`, { accountId: member.id }, adminToken);
  const install = await created(`/api/v1/admin/organizations/${org.id}/installs`, { applicationId: app.id }, adminToken);
  const grant = await created(`/api/v1/admin/organizations/${org.id}/installs/${install.id}/grants`, { kind: 'member', id: member.id }, adminToken);
  const license = await created('/api/v1/admin/licenses', { applicationId: app.id, tenantId: org.id, seats: 3, expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() }, adminToken);
  const idp = await created('/api/v1/admin/identity-providers', { slug: 'sweep-idp', name: 'Sweep IdP', issuer: 'https://idp.example.com', clientId: 'portico', clientSecret: 'sweep-secret', enabled: false }, adminToken);
  // A quota request is only possible from 80 % of a day's quota used: one is written directly.
  const quotaRequest = await server.portico.context.db.insertInto('quota_requests')
    .values({ application_id: app.id, requested_quota: 10_000, previous_quota: 5_000, used_today: 4_500, reason: 'sweep' })
    .returning('id').executeTakeFirstOrThrow();

  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const tokenRes = await fetch(`${server.portico.url}/oauth2/token`, {
    method: 'POST', body: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, app.clientSecret) },
  });
  if (tokenRes.status !== 200) throw new Error(`seeding the client_credentials token: ${tokenRes.status} ${await tokenRes.text()}`);
  const appToken = ((await tokenRes.json()) as { access_token: string }).access_token;

  // An interaction (the login page of an authorization request), with its cookies and CSRF token.
  const authorize = await send({
    label: 'seed', method: 'GET',
    path: `/oauth2/authorize?${form([['client_id', app.clientId], ['response_type', 'code'], ['redirect_uri', 'https://app.example.com/cb'], ['scope', 'openid'], ['state', 'seed'],
      ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'], ['code_challenge_method', 'S256']])}`,
  });
  const location = String(authorize.headers.location ?? '');
  const uid = /\/interaction\/([^/?#]+)/.exec(location)?.[1];
  if (!uid) throw new Error(`seeding an interaction: ${authorize.status} ${location}`);
  const interactionCookie = cookiesOf(authorize.headers['set-cookie']);
  const page = await send({ label: 'seed', method: 'GET', path: `/interaction/${uid}`, headers: { cookie: interactionCookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!csrf) throw new Error(`seeding the login page: ${page.status} ${page.text.slice(0, 300)}`);

  const pageSession = async (username: string, password: string) => {
    const res = await server.api.post('/api/v1/auth/login', { username, password });
    if (res.status !== 200) throw new Error(`seeding a page session: ${res.status}`);
    return { cookie: cookiesOf(res.headers.getSetCookie()), csrf: res.body.csrfToken as string };
  };
  const ownerPages = await pageSession('sweep-owner', 'sweep-owner-password-1');
  const adminPages = await pageSession('root', 'admin-password-1');

  Object.assign(idsByField, { consumerId: consumer.id, productId: product.id, applicationId: app.id, tenantId: org.id, accountId: member.id });
  return {
    adminToken, ownerToken: owner.token, appToken,
    ownerCookie: ownerPages.cookie, ownerCsrf: ownerPages.csrf, adminCookie: adminPages.cookie, adminCsrf: adminPages.csrf,
    ids: {
      applications: app.id, consumers: consumer.id, credentials: credential.id, developers: victim.id, subscriptions: subscription.id,
      products: product.id, 'quota-requests': quotaRequest.id, 'identity-providers': idp.id, licenses: license.id,
      organizations: org.id, tenants: org.id, members: member.id, departments: department.id, groups: group.id, installs: install.id,
      grants: grant.id, interaction: uid, sso: 'sweep-idp',
    },
    app: { id: app.id, clientId: app.clientId, clientSecret: app.clientSecret },
    sweepClient: { clientId: sweepClient.clientId, clientSecret: sweepClient.clientSecret },
    apiKey: credential.apiKey, productPrefix: product.routePrefix,
    interaction: { uid, cookie: interactionCookie, csrf },
  };
}

// ---------------------------------------------------------------------------------------------
// Routes: path templates filled with real ids or hostile segments.

interface Route { method: string; path: string }
const segmentsOf = (path: string) => path.split('/').slice(1);
const paramsOf = (path: string) => segmentsOf(path).filter((s) => s.startsWith(':')).map((s) => s.slice(1));

/** The real value of a path parameter: the seeded object its collection names, an action from the document, else a fresh uuid. */
function realParam(route: Route, name: string): string {
  const segments = segmentsOf(route.path);
  const at = segments.indexOf(`:${name}`);
  if (name === 'action') {
    const enumOf = operation(route)?.parameters.find((p) => p.name === 'action')?.schema.enum;
    return String(enumOf?.[0] ?? 'approve');
  }
  return seeds.ids[segments[at - 1] ?? ''] ?? randomUUID();
}

function fill(route: Route, override: Record<string, string> = {}): string {
  return `/${segmentsOf(route.path).map((s) => (s.startsWith(':') ? override[s.slice(1)] ?? encodeURIComponent(realParam(route, s.slice(1))) : s)).join('/')}`;
}

function operation(route: Route) {
  return openapi.paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
}

const isApi = (route: Route) => route.path.startsWith('/api/v1/');
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function credentialsFor(route: Route): Record<string, string> {
  const op = operation(route);
  if (!op || op.security.length === 0) return {};
  if (op.security.some((s) => 'clientCredentials' in s)) return { authorization: `Bearer ${seeds.appToken}` };
  return { authorization: `Bearer ${route.path.startsWith('/api/v1/admin/') ? seeds.adminToken : seeds.ownerToken}` };
}

function bodySchema(route: Route): Schema | undefined {
  return operation(route)?.requestBody?.content['application/json']?.schema;
}
/** The object schemas a body may take (a root anyOf gives several). */
const bodyBranches = (s: Schema | undefined): Schema[] => (!s ? [] : s.anyOf ? s.anyOf.filter((b) => b.type === 'object') : [s]);

function apiRequest(route: Route, label: string, extra: Partial<Request> & { body?: string | Buffer } = {}): Request {
  return { label, method: route.method, path: fill(route), ...extra, headers: { ...credentialsFor(route), ...(extra.body !== undefined ? JSON_TYPE : {}), ...extra.headers } };
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startTestServer({
    // The sweep registers and fails logins by the dozen from one address: the per-address limits
    // would otherwise turn its later cases into 429s before they reach what they test.
    // The token endpoint's per-client failure limit likewise (its 429 comes before the parameters are read).
    env: { REGISTRATION_MAX_PER_IP: '100000', CLIENT_REGISTRATION_MAX_PER_IP: '100000', LOGIN_IP_MAX_FAILURES: '100000', TOKEN_MAX_FAILURES: '100000' },
  });
  agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const { rows } = await sql<{ table_name: string }>`select table_name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(server.portico.context.db);
  const tables = rows.map((r) => r.table_name).filter((t) => !EXCLUDED_TABLES.includes(t));
  const exclusions = LEGITIMATE_REFUSAL_AUDIT_ACTIONS.map((a) => `'${a}'`).join(', ');
  digestQuery = tables.map((t) => `select '${t}' as t, count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h
    from "${t}" x${t === 'audit_events' ? ` where x.action not in (${exclusions})` : ''}`).join(' union all ');
  openapi = (await server.api.get('/api/v1/openapi.json')).body;
  discovery = (await server.api.get('/.well-known/openid-configuration')).body;
  seeds = await seed();
});
afterAll(async () => {
  agent?.destroy();
  await server?.stop();
});

describe('hostile-input sweep', () => {
  it('management API: every route refuses malformed input with problem+json and writes nothing', async () => {
    const routes = server.portico.routes.filter((r) => isApi(r) && operation(r));
    expect(routes.length).toBe(Object.values(openapi.paths).reduce((n, ops) => n + Object.keys(ops).length, 0));
    for (const route of routes) {
      const reqs: Request[] = [];
      const op = operation(route)!;
      const schema = bodySchema(route);
      const branches = bodyBranches(schema);
      const base = (branches[0] ? sampleObject(branches[0]) : undefined);
      const validBody = base ? jsonBytes(base) : undefined;

      // Path parameters: each in turn hostile, the others real; a valid body, so the id is the only fault.
      for (const [name, label, segment] of hostileSegmentsFor(paramsOf(route.path))) {
        reqs.push(apiRequest(route, `path :${name} ${label}`, { path: fill(route, { [name]: segment(realParam(route, name)) }), body: validBody, mustFail: true }));
      }

      // Query parameters: each constraint broken, NUL, duplicated.
      for (const param of op.parameters.filter((p) => p.in === 'query')) {
        const values: Array<[string, string]> = invalidValues(param.schema)
          .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
          .filter(([label]) => label !== 'a string' && label !== 'a number' && label !== 'a 60,000-character string')
          .map(([label, v]) => [label, pct(String(v))]);
        if (branch(param.schema).type === 'integer') values.push(['not a number', 'abc'], ['NaN', 'NaN'], ['empty', '']);
        if (branch(param.schema).type === 'string') values.push(['a NUL byte', '%00']);
        if (param.name === 'cursor') {
          const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
          values.push(['not a cursor', 'garbage'], ['a cursor of year 275760', cursor(['+275760-09-13T00:00:00.000Z', randomUUID()])],
            ['a cursor of year 0', cursor(['0000-01-01T00:00:00.000Z', randomUUID()])], ['a cursor without its id', cursor(['2026-01-01T00:00:00.000Z'])],
            ['a cursor with SQL', cursor(["2026-01-01T00:00:00.000Z' OR '1'='1", "x' OR '1'='1"])], ['a cursor of the wrong types', cursor([{}, 1])]);
        }
        const valid = pct(String(sample(param.schema, param.name)));
        values.push(['duplicated', `${valid}&${param.name}=${valid}`]);
        for (const [label, value] of values) {
          reqs.push(apiRequest(route, `query ${param.name} ${label}`, { path: `${fill(route)}?${param.name}=${value}`, mustFail: true }));
        }
      }

      // Bodies: every unsafe route, whatever it declares.
      if (UNSAFE.has(route.method)) {
        const deep = '['.repeat(5000) + ']'.repeat(5000);
        const raw: Array<[string, string | Buffer, string | undefined]> = [
          ['malformed JSON', '{"a": ', 'application/json'],
          ['trailing garbage', '{} x', 'application/json'],
          ['a JSON string', '"sweep"', 'application/json'],
          ['JSON null', 'null', 'application/json'],
          ['a JSON array', '[{}]', 'application/json'],
          ['deeply nested JSON', deep, 'application/json'],
          ['text/plain', validBody ?? '{}', 'text/plain'],
          ['a form', 'a=b&a=c', 'application/x-www-form-urlencoded'],
          ['XML', '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', 'application/xml'],
          ['no content type', validBody ?? '{}', undefined],
          ['a UTF-16 body', Buffer.from(validBody?.toString() ?? '{}', 'utf16le'), 'application/json; charset=utf-16le'],
          ['a body over the limit', jsonBytes({ ...base, padding: 'p'.repeat(70_000) }), 'application/json'],
          ['an unknown field', jsonBytes({ ...base, sweepUnknown: 1 }), 'application/json'],
          ['prototype keys', `{"__proto__": {"role": "admin"}, "constructor": {"prototype": {"role": "admin"}}${validBody && validBody.length > 2 ? `, ${validBody.toString().slice(1, -1)}` : ''}}`, 'application/json'],
          ['a NUL byte in a key', jsonBytes({ ...base, 'x\u0000y': 1 }), 'application/json'],
        ];
        for (const [label, body, type] of raw) {
          reqs.push(apiRequest(route, `body ${label}`, { body, headers: type ? { 'content-type': type } : { 'content-type': '' }, mustFail: true }));
        }
        const encoded: Array<[string, Buffer, string]> = [
          ['a gzip bomb', GZIP_BOMB, 'gzip'], ['a body that is not gzip', Buffer.from(validBody ?? '{}'), 'gzip'], ['an unknown content encoding', Buffer.from(validBody ?? '{}'), 'x-sweep'],
        ];
        for (const [label, body, encoding] of encoded) {
          reqs.push(apiRequest(route, `body ${label}`, { body, headers: { 'content-encoding': encoding }, mustFail: true }));
        }
        if (branches.length > 1) {
          reqs.push(apiRequest(route, 'body of every shape at once', { body: jsonBytes(Object.assign({}, ...branches.map(sampleObject))), mustFail: true }));
        }
        for (const shape of branches) {
          const shapeBase = sampleObject(shape);
          for (const name of shape.required ?? []) {
            const { [name]: _dropped, ...rest } = shapeBase;
            reqs.push(apiRequest(route, `body without ${name}`, { body: jsonBytes(rest), mustFail: true }));
          }
          for (const [name, prop] of Object.entries(shape.properties ?? {})) {
            for (const [label, value] of invalidValues(prop)) {
              reqs.push(apiRequest(route, `body ${name} ${label}`, { body: jsonBytes({ ...shapeBase, [name]: value }), mustFail: true }));
            }
            const items = branch(prop).items;
            for (const [itemName, itemProp] of Object.entries(items?.properties ?? {})) {
              for (const [label, value] of invalidValues(itemProp)) {
                reqs.push(apiRequest(route, `body ${name}[].${itemName} ${label}`, { body: jsonBytes({ ...shapeBase, [name]: [{ ...sampleObject(items!), [itemName]: value }] }), mustFail: true }));
              }
            }
          }
        }
      }
      const answers = await sweep(`${route.method} ${route.path}`, reqs);
      // The sweep's credentials are right for the route: every case reached the route's validation.
      const unauthorized = answers.filter((res) => res.status === 401 || res.status === 403);
      if (answers.length && (unauthorized.length || !answers.some((res) => res.status === 400))) {
        problems.push(`${route.method} ${route.path}: the sweep did not reach validation (${answers.map((res) => res.status).join(' ')})`);
      }
    }
    report();
  });

  it('management API: hostile text in every free-text field is stored or refused, never a 5xx', async () => {
    const routes = server.portico.routes.filter((r) => isApi(r) && operation(r));
    let stored = 0;
    for (const route of routes) {
      const op = operation(route)!;
      // Queries: GET never writes, whatever it answers.
      const texts = op.parameters.filter((p) => p.in === 'query' && freeText(p.schema));
      const queries: Request[] = [];
      for (const param of texts) {
        for (const [label, value] of HOSTILE_TEXT) queries.push(apiRequest(route, `query ${param.name} ${label}`, { path: `${fill(route)}?${param.name}=${pct(value)}` }));
      }
      if (route.method === 'GET') {
        queries.push(apiRequest(route, 'unknown and prototype query parameters', { path: `${fill(route)}?__proto__=x&constructor=y&sweep=${pct(SCRIPT)}` }));
        for (const name of paramsOf(route.path).filter((n) => freeText(op.parameters.find((p) => p.name === n)?.schema ?? {}))) {
          for (const [label, value] of HOSTILE_TEXT) queries.push(apiRequest(route, `path :${name} ${label}`, { path: fill(route, { [name]: pct(value) }) }));
        }
      }
      await sweep(`${route.method} ${route.path} (hostile text in the query)`, queries);

      // Bodies: one field at a time, the rest valid and fresh (unique names), so the text gets stored. The texts are
      // dealt out among the fields (a field gets every third one), so each route sees every text.
      const bodies: Request[] = [];
      for (const shape of bodyBranches(bodySchema(route))) {
        const variants: Array<[string, string, (text: string) => unknown]> = [];
        for (const [name, prop] of Object.entries(shape.properties ?? {})) {
          const b = branch(prop);
          if (freeText(prop)) variants.push([name, name, (text) => text]);
          if (b.type === 'array' && b.items && freeText(b.items)) variants.push([`${name}[]`, name, (text) => [text]]);
          for (const [itemName, itemProp] of Object.entries(b.items?.properties ?? {})) {
            if (freeText(itemProp)) variants.push([`${name}[].${itemName}`, name, (text) => [{ ...sampleObject(b.items!), [itemName]: text }]]);
          }
        }
        const stride = Math.min(3, variants.length);
        variants.forEach(([field, name, place], j) => {
          HOSTILE_TEXT.forEach(([label, text], i) => {
            if (i % stride !== j % stride) return;
            bodies.push(apiRequest(route, `body ${field} ${label}`, { body: jsonBytes({ ...sampleObject(shape), [name]: place(text) }), mayWrite: true }));
          });
        });
      }
      const answers = await sweep(`${route.method} ${route.path} (hostile text in the body)`, bodies);
      stored += answers.filter((res) => res.status >= 200 && res.status < 300).length;
      const unauthorized = answers.filter((res) => res.status === 403 || (res.status === 401 && !res.text.includes('invalid_credentials')));
      if (unauthorized.length) problems.push(`${route.method} ${route.path}: the sweep's credentials were refused (${unauthorized.map((res) => res.status).join(' ')})`);
    }
    // What was stored reads back: every GET route once more, with the seeded ids (renamed by the sweep).
    await sweep('GET routes after the hostile text', routes.filter((r) => r.method === 'GET').map((route) => apiRequest(route, 'read back')));
    expect(stored).toBeGreaterThan(100);
    report();
  });

  it('portal pages and the other routes of the route table: hostile ids, forms and queries, never a 5xx', async () => {
    const covered = (r: Route) => isApi(r) || r.path.startsWith('/interaction/') || r.path.startsWith('/openapi/');
    const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
    const QUERY_NAMES = ['q', 'category', 'type', 'status', 'next', 'cursor', 'limit', 'notice', 'state', 'code', 'error', 'iss'];
    for (const route of server.portico.routes.filter((r) => !covered(r))) {
      const admin = route.path.startsWith('/admin');
      const cookie = admin ? seeds.adminCookie : seeds.ownerCookie;
      const csrf = admin ? seeds.adminCsrf : seeds.ownerCsrf;
      const post = route.method === 'POST';
      const reqs: Request[] = [];
      // Hostile ids, with the session's valid CSRF token: only the id stands between the form and its action.
      for (const [name, label, segment] of hostileSegmentsFor(paramsOf(route.path))) {
        reqs.push({ label: `path :${name} ${label}`, method: route.method, path: fill(route, { [name]: segment(realParam(route, name)) }),
          headers: { cookie, ...(post ? FORM : {}) }, body: post ? form([['_csrf', csrf]]) : undefined, mustFail: post });
      }
      if (post) {
        const bodies: Array<[string, string, Record<string, string>]> = [
          ['no CSRF token', form([['name', 'sweep']]), FORM],
          ['a wrong CSRF token', form([['_csrf', `${csrf}x`], ['name', 'sweep']]), FORM],
          ['a duplicated CSRF token', form([['_csrf', csrf], ['_csrf', csrf]]), FORM],
          ['a NUL byte', `_csrf=${csrf}&name=a%00b`, FORM],
          ['a malformed form', '%%%&&==&%E0%A4%A=%&_csrf', FORM],
          ['fields in brackets', `_csrf=${csrf}&name[x]=1&__proto__[admin]=1`, FORM],
          ['a JSON body', JSON.stringify({ _csrf: csrf }), JSON_TYPE],
          ['text/plain', `_csrf=${csrf}`, { 'content-type': 'text/plain' }],
          ['no content type', `_csrf=${csrf}`, { 'content-type': '' }],
          ['a form over the limit', `_csrf=${csrf}&padding=${'p'.repeat(20_000)}`, FORM],
        ];
        for (const [label, body, headers] of bodies) reqs.push({ label, method: 'POST', path: fill(route), body, headers: { cookie, ...headers }, mustFail: true });
        reqs.push({ label: 'a gzip bomb', method: 'POST', path: fill(route), body: GZIP_BOMB, headers: { cookie, ...FORM, 'content-encoding': 'gzip' }, mustFail: true });
      } else {
        for (const [label, value] of HOSTILE_TEXT) {
          reqs.push({ label: `query ${label}`, method: 'GET', path: `${fill(route)}?${QUERY_NAMES.map((n) => `${n}=${pct(value)}`).join('&')}`, headers: { cookie } });
        }
        reqs.push({ label: 'query with NUL bytes, duplicates and brackets', method: 'GET', path: `${fill(route)}?q=%00&q=x&limit=1&limit=2&type[x]=1&__proto__[y]=1&next=%2F%2Fevil.example.com`, headers: { cookie } });
      }
      await sweep(`${route.method} ${route.path}`, reqs);
    }
    report();
  });

  it('protocol endpoints (discovery, OAuth 2.0/OIDC, interactions, /openapi/v1, /gateway/check) refuse hostile input without a 5xx', async () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const sweepAuth = basic(seeds.sweepClient.clientId, seeds.sweepClient.clientSecret);
    const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
    // Fewer values than the management API's sweep: the provider parses every parameter alike.
    const values: Array<[string, string]> = [
      ...HOSTILE_TEXT.filter(([label]) => ['SQL injection', 'script injection', 'lone high surrogate', 'RTL override', 'emoji with ZWJ',
        'combining marks', 'path traversal', 'invalid UTF-8 bytes'].includes(label)),
      ['a NUL byte', 'x\u0000y'], ['8,000 characters', 'x'.repeat(8000)],
    ];
    const pathOf = (key: string) => (typeof discovery[key] === 'string' ? new URL(discovery[key] as string).pathname : undefined);
    const authorizeBase: Array<[string, string]> = [['client_id', seeds.app.clientId], ['response_type', 'code'], ['redirect_uri', 'https://app.example.com/cb'],
      ['scope', 'openid'], ['state', 'sweep'], ['code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'], ['code_challenge_method', 'S256']];
    const authorizeExtra = ['nonce', 'prompt', 'max_age', 'tenant_id', 'request', 'request_uri', 'login_hint', 'claims', 'resource', 'response_mode', 'ui_locales', 'acr_values'];
    const tokenBase: Array<[string, string]> = [['grant_type', 'authorization_code'], ['code', 'sweep-unknown-code'], ['redirect_uri', 'https://app.example.com/cb'], ['code_verifier', 'v'.repeat(43)]];
    const tokenExtra = ['client_id', 'client_secret', 'refresh_token', 'scope', 'resource', 'client_assertion', 'client_assertion_type'];

    interface Endpoint { path: string; get?: boolean; post?: boolean; base: Array<[string, string]>; extra: string[]; headers?: Record<string, string>; mayWrite?: boolean; mustFail?: boolean }
    const endpoints: Endpoint[] = [];
    const add = (path: string | undefined, spec: Omit<Endpoint, 'path'>) => { if (path) endpoints.push({ path, ...spec }); };
    add('/.well-known/openid-configuration', { get: true, base: [], extra: ['sweep', 'callback'] });
    add('/.well-known/oauth-authorization-server', { get: true, base: [], extra: ['sweep'] });
    add(pathOf('jwks_uri'), { get: true, base: [], extra: ['sweep', 'kid'] });
    // Accepted authorization requests start an interaction (a row): refusals must write nothing.
    add(pathOf('authorization_endpoint'), { get: true, post: true, base: authorizeBase, extra: authorizeExtra, mayWrite: true });
    for (const path of [pathOf('token_endpoint'), '/api/v1/oauth2/token']) {
      add(path, { post: true, base: tokenBase, extra: tokenExtra, headers: { authorization: sweepAuth }, mustFail: true });
    }
    for (const key of ['introspection_endpoint', 'revocation_endpoint']) {
      add(pathOf(key), { post: true, base: [['token', 'sweep.unknown.token']], extra: ['token_type_hint', 'client_id', 'client_secret'], headers: { authorization: sweepAuth } });
    }
    // The logout page keeps its confirmation state in a session (a row), as it should.
    add(pathOf('end_session_endpoint'), { get: true, post: true, base: [['state', 'sweep']], extra: ['id_token_hint', 'post_logout_redirect_uri', 'client_id', 'logout_hint', 'ui_locales', 'xsrf', 'logout'], mayWrite: true });
    add(pathOf('pushed_authorization_request_endpoint'), { post: true, base: authorizeBase.map(([k, v]) => [k, k === 'client_id' ? seeds.sweepClient.clientId : v]), extra: authorizeExtra.slice(0, 4), headers: { authorization: sweepAuth }, mayWrite: true });
    add(pathOf('registration_endpoint'), { post: true, base: [], extra: [] });
    for (const path of new Set([pathOf('userinfo_endpoint') ?? '/oauth2/userinfo', '/oauth2/userinfo', '/oauth2/userinfo/me'])) {
      add(path, { get: true, post: true, base: [], extra: ['access_token'], headers: { authorization: 'Bearer sweep.unknown.token' } });
    }

    // The unaltered requests are what the cases alter: an authorization that starts an interaction, a token
    // request refused only for its code, an introspection that finds nothing.
    const baseOf = (path: string | undefined) => endpoints.find((ep) => ep.path === path)!;
    const authorizeRes = await send({ label: 'base', method: 'GET', path: `${baseOf(pathOf('authorization_endpoint')).path}?${form(authorizeBase)}` });
    expect({ status: authorizeRes.status, location: String(authorizeRes.headers.location).replace(/[^/]+$/, '') }).toEqual({ status: 303, location: '/interaction/' });
    for (const path of [pathOf('token_endpoint'), '/api/v1/oauth2/token']) {
      const res = await send({ label: 'base', method: 'POST', path: path!, body: form(tokenBase), headers: { ...FORM, authorization: sweepAuth } });
      expect({ path, status: res.status, error: JSON.parse(res.text).error }).toEqual({ path, status: 400, error: 'invalid_grant' });
    }
    const introspection = await send({ label: 'base', method: 'POST', path: pathOf('introspection_endpoint')!, body: 'token=sweep.unknown.token', headers: { ...FORM, authorization: sweepAuth } });
    expect({ status: introspection.status, body: JSON.parse(introspection.text) }).toEqual({ status: 200, body: { active: false } });

    for (const ep of endpoints) {
      const reqs: Request[] = [];
      const mk = (label: string, method: 'GET' | 'POST', pairs: Array<[string, string]>, extra: Partial<Request> = {}): Request => {
        const encoded = form(pairs);
        return method === 'GET'
          ? { label, method, path: `${ep.path}${encoded ? `?${encoded}` : ''}`, mayWrite: ep.mayWrite, mustFail: ep.mustFail, ...extra, headers: { ...ep.headers, ...extra.headers } }
          : { label, method, path: ep.path, body: encoded, mayWrite: ep.mayWrite, mustFail: ep.mustFail, ...extra, headers: { ...FORM, ...ep.headers, ...extra.headers } };
      };
      const methods = [...(ep.get ? ['GET' as const] : []), ...(ep.post ? ['POST' as const] : [])];
      for (const method of methods) {
        const names = [...ep.base.map(([k]) => k), ...(method === 'GET' || ep.base.length < 5 ? ep.extra : ep.extra.slice(0, 3))];
        for (const name of names) {
          for (const [label, value] of values) {
            const pairs = ep.base.some(([k]) => k === name) ? ep.base.map(([k, v]): [string, string] => [k, k === name ? value : v]) : [...ep.base, [name, value] as [string, string]];
            // An unknown client or an unregistered redirect URI stops the request before anything is kept.
            const identifies = (name === 'client_id' || name === 'redirect_uri') && ep.base.some(([k]) => k === 'redirect_uri');
            reqs.push(mk(`${name} ${label}`, method, pairs, identifies ? { mustFail: true, mayWrite: false } : {}));
          }
        }
        for (const [name, value] of ep.base) {
          reqs.push(mk(`${name} duplicated`, method, [...ep.base, [name, value]], { mustFail: true, mayWrite: false }));
          reqs.push(mk(`without ${name}`, method, ep.base.filter(([k]) => k !== name)));
        }
      }
      if (ep.post) {
        const valid = form(ep.base);
        const raw: Array<[string, string | Buffer, Record<string, string>]> = [
          ['a malformed form', '%%%&&==&%E0%A4%A=%', FORM],
          ['a JSON body', JSON.stringify(Object.fromEntries(ep.base)), JSON_TYPE],
          ['text/plain', valid, { 'content-type': 'text/plain' }],
          ['multipart', '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n', { 'content-type': 'multipart/form-data; boundary=x' }],
          ['no content type', valid, { 'content-type': '' }],
          ['a latin1 charset', valid, { 'content-type': 'application/x-www-form-urlencoded; charset=latin1' }],
          ['a body over 100 KB', `${valid}&padding=${'p'.repeat(100_000)}`, FORM],
          ['a form with brackets', `${valid}&a[b][c]=1&__proto__[x]=1&constructor[prototype][y]=1`, FORM],
          ['a gzip bomb', GZIP_BOMB, { ...FORM, 'content-encoding': 'gzip' }],
        ];
        for (const [label, body, headers] of raw) reqs.push({ label, method: 'POST', path: ep.path, body, headers: { ...ep.headers, ...headers }, mayWrite: ep.mayWrite });
        if (ep.headers?.authorization?.startsWith('Basic ')) {
          const b64 = (text: string) => Buffer.from(text).toString('base64');
          const auths: Array<[string, string | string[]]> = [
            ['Basic that is not base64', 'Basic !!!not-base64'], ['Basic without a colon', `Basic ${b64('no-colon')}`], ['Basic of a colon', `Basic ${b64(':')}`],
            ['Basic with bad percent-encoding', `Basic ${b64('%E0%A4%A:%zz')}`], ['Basic with a NUL', `Basic ${b64(`${seeds.sweepClient.clientId}\u0000:x`)}`],
            ['Basic with invalid UTF-8', `Basic ${Buffer.concat([Buffer.from('a'), INVALID_UTF8_BYTES, Buffer.from(':b')]).toString('base64')}`],
            ['Basic with SQL', `Basic ${b64("x' OR '1'='1:x' OR '1'='1")}`], ['a huge Basic', `Basic ${'A'.repeat(8000)}`],
            ['an empty Basic', 'Basic'], ['a Bearer instead', 'Bearer sweep'],
            // Node keeps the first of two Authorization headers: a garbage one must not let the valid one through.
            ['two Authorization headers', ['Basic Og==', sweepAuth]],
          ];
          for (const [label, value] of auths) reqs.push(mk(label, 'POST', ep.base, { headers: { authorization: value as string }, mustFail: true, mayWrite: false }));
        }
      }
      await sweep(`protocol ${ep.path}`, reqs);
    }

    // Client registration (RFC 7591) takes JSON: every metadata field with every hostile text, as
    // itself and inside an array; odd shapes; and its management endpoint (RFC 7592) with hostile
    // client ids and tokens. An accepted registration writes its client, a refused one nothing.
    const registration = pathOf('registration_endpoint')!;
    const client = { client_name: 'sweep', redirect_uris: ['http://127.0.0.1/cb'], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' };
    const fields = [...Object.keys(client), 'scope', 'logo_uri', 'client_uri', 'contacts', 'application_type', 'post_logout_redirect_uris', 'software_id', 'jwks'];
    const registrations: Request[] = [];
    const json = (label: string, body: unknown, mustFail = false): Request => ({ label, method: 'POST', path: registration, body: JSON.stringify(body), headers: JSON_TYPE, mayWrite: !mustFail, mustFail });
    for (const field of fields) {
      for (const [label, value] of HOSTILE_TEXT) {
        registrations.push(json(`${field} ${label}`, { ...client, [field]: value }), json(`${field} [${label}]`, { ...client, [field]: [value] }));
      }
      for (const [label, value] of [['a number', 1e308], ['null', null], ['an object', { $gt: '' }], ['a nested array', [[['x']]]]] as const) {
        registrations.push(json(`${field} ${label}`, { ...client, [field]: value }));
      }
    }
    registrations.push(
      json('10,000 redirect URIs', { ...client, redirect_uris: Array.from({ length: 10_000 }, (_, i) => `http://127.0.0.1/${i}`) }),
      json('prototype keys', JSON.parse(`{"__proto__": {"token_endpoint_auth_method": "client_secret_basic"}, "constructor": {"prototype": {"x": 1}}, ${JSON.stringify(client).slice(1)}`)),
      { label: 'JSON nested 5,000 deep', method: 'POST', path: registration, body: `${'['.repeat(5000)}${']'.repeat(5000)}`, headers: JSON_TYPE, mustFail: true },
      { label: 'a form instead of JSON', method: 'POST', path: registration, body: form(Object.entries(client).map(([k, v]) => [k, String(v)])), headers: FORM, mustFail: true },
    );
    for (const [label, segment] of [['SQL', "x'%20OR%20'1'%3D'1"], ['NUL', 'x%00y'], ['traversal', '..%2F..%2Fjwks'], ['8,000 characters', 'x'.repeat(8000)], ['invalid UTF-8', '%E0%A4%A']]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        registrations.push({ label: `${method} client id ${label}`, method, path: `${registration}/${segment}`, body: method === 'PUT' ? JSON.stringify(client) : undefined,
          headers: { ...JSON_TYPE, authorization: `Bearer ${label === 'SQL' ? "x' OR '1'='1" : 'sweep.unknown.token'}` }, mustFail: true });
      }
    }
    await sweep(`protocol ${registration} (JSON)`, registrations);

    // Interactions (login and consent pages), from the route table: hostile ids, and hostile forms to the real interaction.
    // The interaction is the one the browser's cookie names (its path is /interaction/<uid>, so a browser sends it to no
    // other uid): hostile uids go without it.
    const { uid, cookie, csrf } = seeds.interaction;
    for (const route of server.portico.routes.filter((r) => r.path.startsWith('/interaction/'))) {
      const reqs: Request[] = [];
      const validForm = form([['_csrf', csrf], ['username', 'sweep-nobody'], ['password', 'sweep-password-1']]);
      const post = route.method === 'POST';
      for (const [name, label, segment] of hostileSegmentsFor(paramsOf(route.path))) {
        reqs.push({ label: `path :${name} ${label}`, method: route.method, path: fill(route, { [name]: segment(realParam(route, name)) }), headers: { ...(name === 'uid' ? {} : { cookie }), ...(post ? FORM : {}) }, body: post ? validForm : undefined, mustFail: true });
      }
      if (post) {
        const bodies: Array<[string, string, Record<string, string>]> = [
          ['no CSRF token', form([['username', 'x'], ['password', 'y']]), FORM],
          ['a wrong CSRF token', form([['_csrf', `${csrf}x`], ['username', 'x']]), FORM],
          ['a duplicated CSRF token', form([['_csrf', csrf], ['_csrf', csrf], ['username', 'x']]), FORM],
          ['a NUL byte', `${validForm}&username=a%00b`, FORM],
          ['a malformed form', '%%%&&==&%E0%A4%A=%', FORM],
          ['a JSON body', JSON.stringify({ _csrf: csrf }), JSON_TYPE],
          ['text/plain', validForm, { 'content-type': 'text/plain' }],
          ['no content type', validForm, { 'content-type': '' }],
          ['a form over the limit', `${validForm}&padding=${'p'.repeat(20_000)}`, FORM],
          ['fields in brackets', `${validForm}&username[x]=1&__proto__[admin]=1`, FORM],
        ];
        for (const [label, body, headers] of bodies) reqs.push({ label, method: 'POST', path: fill(route), body, headers: { cookie, ...headers }, mustFail: true });
        if (route.path.endsWith('/login')) { // the CSRF token is right: hostile credentials reach the password check
          for (const [label, value] of values) {
            for (const field of ['username', 'password']) {
              const fields: Array<[string, string]> = [['_csrf', csrf], ['username', `sweep-nobody-${++serial}`], ['password', 'sweep-password-1']];
              reqs.push({ label: `${field} ${label}`, method: 'POST', path: fill(route), body: form(fields.map(([k, v]) => [k, k === field ? value : v])), headers: { cookie, ...FORM }, mustFail: true });
            }
          }
        }
      } else {
        for (const [label, value] of values) reqs.push({ label: `query ${label}`, method: 'GET', path: `${fill(route)}?sweep=${pct(value)}`, headers: { cookie } });
      }
      await sweep(`${route.method} ${route.path}`, reqs);
    }
    expect((await send({ label: 'still usable', method: 'GET', path: `/interaction/${uid}`, headers: { cookie } })).status).toBe(200);

    // /openapi/v1 (business codes), from the route table.
    const bearers: Array<[string, string | undefined]> = [
      ['no Authorization', undefined], ['an empty Bearer', 'Bearer'], ['a garbage token', 'Bearer sweep'], ['a bare garbage token', 'sweep'],
      ['an unsigned JWT', `Bearer ${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"x","client_id":"x"}').toString('base64url')}.`],
      ['a JWT with a traversing kid', `Bearer ${Buffer.from('{"alg":"RS256","kid":"../../etc/passwd"}').toString('base64url')}.e30.c2ln`],
      ['a JWT of the wrong types', `Bearer ${Buffer.from('{"alg":["RS256"],"kid":{}}').toString('base64url')}.${Buffer.from('[1,2]').toString('base64url')}.x`],
      ['a token of 8,000 characters', `Bearer ${'a'.repeat(8000)}`], ['a token with SQL', "Bearer x' OR '1'='1"],
    ];
    for (const route of server.portico.routes.filter((r) => r.path.startsWith('/openapi/'))) {
      const reqs: Request[] = [];
      if (route.method === 'POST') {
        const creds = { clientId: seeds.app.clientId, clientSecret: 'sweep-wrong-secret' };
        const bodies: Array<[string, string | Buffer, Record<string, string>]> = [
          ['malformed JSON', '{"clientId": ', JSON_TYPE], ['a JSON array', '[]', JSON_TYPE], ['JSON null', 'null', JSON_TYPE],
          ['deeply nested JSON', '['.repeat(5000) + ']'.repeat(5000), JSON_TYPE], ['a form', form(Object.entries(creds)), FORM],
          ['no content type', JSON.stringify(creds), { 'content-type': '' }], ['a latin1 charset', JSON.stringify(creds), { 'content-type': 'application/json; charset=latin1' }],
          ['a body over the limit', jsonBytes({ ...creds, padding: 'p'.repeat(70_000) }), JSON_TYPE],
          ['numbers', jsonBytes({ clientId: 1, clientSecret: 2 }), JSON_TYPE], ['arrays', jsonBytes({ clientId: [creds.clientId], clientSecret: [creds.clientSecret] }), JSON_TYPE],
          ['empty strings', jsonBytes({ clientId: '', clientSecret: '' }), JSON_TYPE], ['no secret', jsonBytes({ clientId: creds.clientId }), JSON_TYPE],
          ['a prototype key', `{"__proto__": {"clientSecret": "x"}, "clientId": "${creds.clientId}"}`, JSON_TYPE],
        ];
        for (const [label, body, headers] of bodies) reqs.push({ label, method: 'POST', path: route.path, body, headers, mustFail: true });
        for (const field of ['clientId', 'clientSecret'] as const) {
          for (const [label, value] of [...values, ...HOSTILE_TEXT.filter(([l]) => l === 'lone low surrogate')]) {
            reqs.push({ label: `${field} ${label}`, method: 'POST', path: route.path, body: jsonBytes({ ...creds, [field]: value }), headers: JSON_TYPE, mustFail: true });
          }
        }
      } else {
        for (const [label, authorization] of bearers) {
          reqs.push({ label, method: route.method, path: `${route.path}?limit=1`, headers: authorization ? { authorization } : {}, mustFail: true });
        }
        // With a valid token: the lists take the management API's page query; a refused call must count nothing.
        const mirror = operation({ method: 'GET', path: route.path.replace('/openapi/v1/', '/api/v1/') });
        for (const param of (mirror?.parameters ?? []).filter((p) => p.name === 'limit' || p.name === 'cursor')) {
          const bad = param.name === 'limit' ? ['0', 'abc', '1.5', '101', '1&limit=2', '%00'] : ['garbage', 'a'.repeat(201), '%00', 'x&cursor=y'];
          for (const value of bad) reqs.push({ label: `valid token, ${param.name}=${value.slice(0, 20)}`, method: route.method, path: `${route.path}?${param.name}=${value}`, headers: { authorization: `Bearer ${seeds.appToken}` }, mustFail: true });
        }
      }
      await sweep(`${route.method} ${route.path}`, reqs);
    }

    // /gateway/check: any method; credentials and the original request in headers (latin1 only, as HTTP allows).
    const gateway: Request[] = [];
    const sdk = (access: string, extra = '') => `SDK-HMAC-SHA256 Access=${access}, SignedHeaders=host;x-sdk-date, Signature=${'0'.repeat(64)}${extra}`;
    const gatewayHeaders: Array<[string, Record<string, string | string[]>]> = [
      ['no credential', {}], ['an API key with SQL', { 'x-api-key': "pk_x' OR '1'='1" }], ['an API key with a script', { 'x-api-key': '<script>alert(1)</script>' }],
      ['a traversing API key', { 'x-api-key': '../../etc/passwd' }], ['an API key of 8,000 characters', { 'x-api-key': `pk_${'a'.repeat(8000)}` }],
      ['an API key of latin1 bytes', { 'x-api-key': 'pk_\u00ff\u00fe\u00e9' }], ['two API keys', { 'x-api-key': [seeds.apiKey, 'pk_other'] }],
      ['a garbage bearer', { authorization: 'Bearer sweep' }], ['an unsigned JWT', { authorization: bearers[4]![1]! }], ['a JWT of the wrong types', { authorization: bearers[6]![1]! }],
      ['an SDK signature with SQL', { authorization: sdk("x' OR '1'='1"), 'x-sdk-date': '20260101T000000Z' }],
      ['an SDK signature with an impossible date', { authorization: sdk('PAKSWEEP'), 'x-sdk-date': '99999999T999999Z' }],
      ['an SDK signature with a garbage date', { authorization: sdk('PAKSWEEP'), 'x-sdk-date': "'; DROP TABLE x; --" }],
      ['an SDK signature naming odd headers', { authorization: 'SDK-HMAC-SHA256 Access=PAKSWEEP, SignedHeaders=../..;__proto__;constructor, Signature=zz', 'x-sdk-date': '20260101T000000Z' }],
      ['an SDK signature repeated', { authorization: `${sdk('A')}, Access=B, Access=C`, 'x-sdk-date': '20260101T000000Z' }],
      ['an SDK signature of 8,000 characters', { authorization: sdk('A'.repeat(8000)), 'x-sdk-date': '20260101T000000Z' }],
      ['a valid key, a product with SQL', { 'x-api-key': seeds.apiKey, 'x-product': "x' OR '1'='1" }],
      ['a valid key, a traversing product', { 'x-api-key': seeds.apiKey, 'x-product': '../sweep-product' }],
      ['a valid key, a traversing URI', { 'x-api-key': seeds.apiKey, 'x-forwarded-uri': '/..%2f..%2fetc/passwd' }],
      ['a valid key, a URI with NUL', { 'x-api-key': seeds.apiKey, 'x-forwarded-uri': '/%00/x' }],
      ['a valid key, an absolute URI', { 'x-api-key': seeds.apiKey, 'x-forwarded-uri': 'http://evil.example.com/x' }],
      ['a valid key, a URI of 8,000 characters', { 'x-api-key': seeds.apiKey, 'x-forwarded-uri': `/${'a'.repeat(8000)}` }],
      ['a valid key, a URI beside the prefix', { 'x-api-key': seeds.apiKey, 'x-forwarded-uri': `${seeds.productPrefix}x/y` }],
      ['a valid key, an odd method and host', { 'x-api-key': seeds.apiKey, 'x-forwarded-method': 'PROPFIND', 'x-forwarded-host': '\u00ff:99999', 'x-forwarded-uri': '*' }],
    ];
    for (const method of ['GET', 'POST', 'HEAD', 'PROPFIND']) {
      for (const [label, headers] of gatewayHeaders) gateway.push({ label: `${method} ${label}`, method, path: '/gateway/check', headers, mustFail: true });
    }
    for (const path of ['/gateway/check/..%2f..%2fapi/v1/admin/settings', '/gateway/check/%00', `/gateway/check/${'a'.repeat(4000)}`, '/gateway/check?x=%00&x=%ED%A0%80']) {
      gateway.push({ label: 'a hostile path', method: 'GET', path, headers: { 'x-api-key': seeds.apiKey }, mustFail: true });
    }
    await sweep('/gateway/check', gateway);
    report();
  });

  it('names the problem: 415 for the wrong type, 413 for oversize, 400 with field paths otherwise', async () => {
    const send_ = (raw: string, type = 'application/json') =>
      server.api.request('POST', '/api/v1/developers', undefined, { raw, headers: { 'content-type': type } });
    expect((await send_('a=b', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await send_(JSON.stringify({ password: 'p'.repeat(70_000) }))).status).toBe(413);
    const unknown = await send_(JSON.stringify({ username: 'valid-name', password: 'long-enough-1', role: 'admin' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: 'body', message: 'unknown field(s): role' }]);
    expect((await send_('{')).body.detail).toBe('The body is not valid JSON.');
    const surrogate = await send_('{"username": "valid-name", "password": "long-enough-\\ud800"}');
    expect(surrogate.body).toMatchObject({ status: 400, code: 'validation_failed', detail: 'Text must be valid Unicode (no lone surrogate escapes such as \\ud800).' });
  });

  it('answers unknown routes 404 and every unserved method 405 with Allow, as problem+json', async () => {
    const unknown = ['/api/v1/nothing-here', '/api/v1/%00', '/api/v1/..%2f..%2fetc%2fpasswd', `/api/v1/${'a'.repeat(4000)}`, '/api/v1/admin/%2e%2e/settings'];
    await sweep('unknown routes', unknown.map((path) => ({ label: 'unknown route', method: 'GET', path, headers: { authorization: `Bearer ${seeds.adminToken}` }, mustFail: true })));
    const missing = await server.api.get('/api/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');

    const byPath = new Map<string, Set<string>>();
    for (const route of server.portico.routes.filter(isApi)) (byPath.get(route.path) ?? byPath.set(route.path, new Set()).get(route.path)!).add(route.method);
    const reqs: Array<Request & { served: Set<string> }> = [];
    for (const [path, served] of byPath) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE', 'MKCOL'].filter((m) => !served.has(m))) {
        const token = path.startsWith('/api/v1/admin/') ? seeds.adminToken : seeds.ownerToken;
        reqs.push({ label: `unserved ${method}`, method, path: fill({ method, path }), headers: { authorization: `Bearer ${token}` }, mustFail: true, served });
      }
    }
    const answers = await sweep('unserved methods', reqs);
    report();
    const wrong = reqs.flatMap((req, i) => {
      const res = answers[i]!;
      let code: unknown;
      try { code = JSON.parse(res.text).code; } catch { /* not JSON: reported below */ }
      const allow = String(res.headers.allow ?? '').split(/,\s*/);
      return res.status === 405 && code === 'method_not_allowed' && [...req.served].every((m) => allow.includes(m))
        ? [] : [`${req.method} ${req.path}: ${res.status} ${String(code)}, Allow: ${String(res.headers.allow)} (serves ${[...req.served].join(', ')})`];
    });
    expect(wrong).toEqual([]);
  });

  it('logged no unexpected error during the sweep', () => {
    expect(sent).toBeGreaterThan(5000);
    const errors = server.logs.filter((line) => JSON.parse(line).level >= 50).map((line) => excerpt(line, 400));
    expect(errors).toEqual([]);
  });
});
