// `npm run bench` (builds first): Portico's throughput on the hot paths, measured from outside.
//
// Portico runs as a separate process (`node dist/src/main.js`, PORT=0, its ready line read from
// its log) on a fresh embedded database in a temporary DATA_DIR, and, when DATABASE_URL is set,
// once more on a fresh PostgreSQL database created beside it (dropped after). Everything the run
// needs is seeded through the API. autocannon drives it from this process over 127.0.0.1, one row
// at a time: a warm-up whose figures are dropped, then a fixed duration.
//
// Rows: /gateway/check with an API key, an AK/SK signature and a JWT; POST /oauth2/token
// (client_credentials, Basic), POST /openapi/v1/token (JSON), refresh grants (rotated refresh
// tokens from the authorization-code flow), password logins (argon2id), introspection of a JWT;
// then client_credentials against a bare oidc-provider (scripts/bench/bare-provider.mjs, its own
// process, configured alike) and the ratio of the two rates. The cost of counting: the API-key
// row on servers restarted alternately with USAGE_COUNTING=on and off, --counting-pairs times
// (5), the median of the pairs (one pair alone is at the mercy of the machine's noise).
//
// Options: --json (only JSON on stdout; progress goes to stderr), --duration=<s> (10),
// --warmup=<s> (2), --connections=<n> (50), --cpu-prof=<dir> (profile the server processes
// with `node --cpu-prof` and print where their time went to stderr), --counting-pairs=<n> (5).
// The server logs at LOG_LEVEL (default info, Portico's default: one access-log line per
// request, written to a file in the temporary directory).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readProfile, summariseProfile } from './bench/cpu-profile.mjs';
import { measure } from './bench/load.mjs';
import { BARE_CLIENT, BARE_READY } from './bench/bare-provider.mjs';
import { refreshTokens } from './bench/refresh-tokens.mjs';
import { seedScale } from './bench/scale-seed.mjs';
import { PRODUCT, REDIRECT_URI, seed } from './bench/seed.mjs';
import { signRequest } from './bench/sdk-signer.mjs';
import { createPostgresDatabase, killAll, logPath, startServer } from './bench/server.mjs';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    'cpu-prof': { type: 'string' },
    'counting-pairs': { type: 'string', default: '5' },
    scale: { type: 'boolean', default: false },
  },
});
const settings = {
  duration: Number(args.duration), warmup: Number(args.warmup), connections: Number(args.connections), pipelining: 1,
  logLevel: process.env.LOG_LEVEL || 'info', countingPairs: Number(args['counting-pairs']),
};
for (const [name, option] of [['duration', 'duration'], ['connections', 'connections'], ['countingPairs', 'counting-pairs']]) {
  if (!(Number.isInteger(settings[name]) && settings[name] > 0)) throw new Error(`--${option} must be a positive whole number`);
}
if (!(Number.isInteger(settings.warmup) && settings.warmup >= 0)) throw new Error('--warmup must be a whole number of seconds');
const profileDir = args['cpu-prof'] && path.resolve(args['cpu-prof']);
if (profileDir) fs.mkdirSync(profileDir, { recursive: true });

const ADMIN = { username: 'bench-admin', password: 'bench-admin-password' };
const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const APP_QUOTA = 100_000; // an online application's daily quota
const HIGHEST_EXPECTED_RATE = 25_000; // JWT checks/s this machine could possibly reach: sizes the applications
// The original request the API gateway asks about (the AK/SK row signs exactly this one).
const ORIGINAL = { method: 'POST', host: 'api.bench.example', uri: `${PRODUCT.routePrefix}/chat/completions?stream=false` };
const FORWARDED = { 'X-Forwarded-Method': ORIGINAL.method, 'X-Forwarded-Host': ORIGINAL.host, 'X-Forwarded-Uri': ORIGINAL.uri };

const TARGETS = {
  'api-key': { text: '>= 5,000/s, p99 < 15 ms', met: (r) => r.requestsPerSecond >= 5000 && r.p99Ms < 15 },
  'ak-sk': { text: '>= 4,000/s', met: (r) => r.requestsPerSecond >= 4000 },
  jwt: { text: '>= 4,000/s', met: (r) => r.requestsPerSecond >= 4000 },
};
const COUNTING_TARGET = 0.10;
const BARE_RATIO_TARGET = 0.85; // Portico's client_credentials grants/s over the bare provider's
const BARE_SCRIPT = fileURLToPath(new URL('./bench/bare-provider.mjs', import.meta.url));

const progress = (message) => process.stderr.write(`bench: ${message}\n`);

// Whatever happens, no server process outlives the bench, and temporary state goes.
const cleanups = [];
async function cleanUp() {
  while (cleanups.length) await cleanups.pop()().catch((err) => progress(`clean-up: ${err.message}`));
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    killAll();
    cleanUp().finally(() => process.exit(130));
  });
}

let serverPid; // of the Portico process the rows are measuring
async function withServer(options, work) {
  const server = await startServer({ ...options, nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
  serverPid = server.pid;
  let done = false;
  try {
    const result = await work(server);
    done = true;
    return result;
  } finally {
    // A failed stop matters only when the work itself went well (else it would hide the cause).
    await server.stop().catch((err) => { if (done) throw err; progress(`stopping Portico: ${err.message}`); });
  }
}

/** One request through fetch first: a seeding mistake shows as a clear message, not as 100 % errors. */
async function probe(name, { url, method = 'GET', headers, body }) {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${name}: a first request answered ${res.status}: ${text}`);
}

async function row(id, name, request) {
  if (request.probe) await request.probe();
  else await probe(name, request.requests ? { ...request.requests[0], url: request.url } : request);
  progress(`  ${name}: ${settings.warmup} s warm-up, ${settings.duration} s measured, ${settings.connections} connections`);
  const result = await measure({ ...request, serverPid, duration: settings.duration, warmup: settings.warmup, connections: settings.connections });
  const target = TARGETS[id];
  return { id, name, ...result, target: target?.text ?? null, met: target ? target.met(result) : null };
}

/** Every row on one database; `database` names it, `databaseUrl` is set for PostgreSQL. */
async function runOn(database, databaseUrl) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-bench-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, PORTICO_SECRET: SECRET, LOG_LEVEL: settings.logLevel,
    PORTICO_ADMIN_USERNAME: ADMIN.username, PORTICO_ADMIN_PASSWORD: ADMIN.password,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const applications = Math.max(2, Math.ceil((HIGHEST_EXPECTED_RATE * (settings.duration + settings.warmup)) / APP_QUOTA));
  const rows = [];
  let seeded;

  progress(`${database}: starting Portico (counting on)`);
  await withServer({ env, dataDir, logFile: logPath(dataDir, 'portico-counting-on') }, async ({ url, pid }) => {
    progress(`${database}: Portico pid ${pid} on ${url}; seeding (${applications} applications)`);
    seeded = await seed(url, { admin: ADMIN, applications });
    const check = `${url}/gateway/check`;

    rows.push(await row('api-key', '/gateway/check, API key', { url: check, headers: { ...FORWARDED, 'X-API-Key': seeded.apiKey } }));

    // Signed now: X-Sdk-Date is good for 15 minutes, far longer than the row.
    const { host, ...signed } = signRequest({
      method: ORIGINAL.method, url: `https://${ORIGINAL.host}${ORIGINAL.uri}`, headers: { 'Content-Type': 'application/json' },
      accessKey: seeded.accessKey, secretKey: seeded.secretKey, payload: '{"prompt":"hello"}',
    });
    rows.push(await row('ak-sk', '/gateway/check, AK/SK signature', { url: check, headers: { ...signed, ...FORWARDED, 'X-Forwarded-Host': host } }));

    // Each connection takes the applications' tokens in turn, so no application's quota runs out.
    rows.push(await row('jwt', `/gateway/check, JWT (${applications} applications)`, {
      url: check,
      requests: seeded.applications.map((app) => ({ method: 'GET', path: '/gateway/check', headers: { ...FORWARDED, Authorization: `Bearer ${app.token}` } })),
    }));

    const [app] = seeded.applications;
    const basic = Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64');
    rows.push(await row('oauth2-token', 'POST /oauth2/token, client_credentials', {
      url: `${url}/oauth2/token`, method: 'POST', body: 'grant_type=client_credentials',
      headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    }));
    rows.push(await row('openapi-token', 'POST /openapi/v1/token', {
      url: `${url}/openapi/v1/token`, method: 'POST', body: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
      headers: { 'Content-Type': 'application/json' },
    }));

    // Every refresh token is good for one use (rotation; a reused one revokes the grant): each
    // request takes one from the pool and puts back the one it is answered with. A request cut off
    // at the end of a phase loses its token, hence three per connection.
    progress(`${database}: refresh tokens through the login and consent pages`);
    const pool = await refreshTokens(url, { app: seeded.web, redirectUri: REDIRECT_URI, user: seeded.users[0], count: settings.connections * 3 });
    const refreshBody = () => `grant_type=refresh_token&refresh_token=${encodeURIComponent(pool.pop())}`;
    const keep = (status, body) => { if (status === 200) pool.push(JSON.parse(body).refresh_token); };
    const webBasic = Buffer.from(`${encodeURIComponent(seeded.web.clientId)}:${encodeURIComponent(seeded.web.clientSecret)}`).toString('base64');
    const formHeaders = (credentials) => ({ Authorization: `Basic ${credentials}`, 'Content-Type': 'application/x-www-form-urlencoded' });
    rows.push(await row('refresh', 'POST /oauth2/token, refresh_token (rotated)', {
      url: `${url}/oauth2/token`,
      requests: [{ method: 'POST', path: '/oauth2/token', headers: formHeaders(webBasic), setupRequest: (req) => ({ ...req, body: refreshBody() }), onResponse: keep }],
      probe: async () => {
        const res = await fetch(`${url}/oauth2/token`, { method: 'POST', headers: formHeaders(webBasic), body: refreshBody() });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`refresh: a first request answered ${res.status}: ${text}`);
        keep(res.status, text);
      },
    }));

    // Successful logins are not limited, but an attempt counts against its username until it is
    // answered: the requests take the accounts in turn across connections (a few at a time each).
    let nextUser = 0;
    const loginBody = () => JSON.stringify(seeded.users[nextUser++ % seeded.users.length]);
    rows.push(await row('password-login', `POST /api/v1/auth/login (${seeded.users.length} accounts, argon2id)`, {
      url: `${url}/api/v1/auth/login`,
      requests: [{ method: 'POST', path: '/api/v1/auth/login', headers: { 'Content-Type': 'application/json' }, setupRequest: (req) => ({ ...req, body: loginBody() }) }],
      probe: () => probe('login', { url: `${url}/api/v1/auth/login`, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: loginBody() }),
    }));

    rows.push(await row('introspection', 'POST /oauth2/introspect, JWT access token', {
      url: `${url}/oauth2/introspect`, method: 'POST', body: `token=${app.token}`, headers: formHeaders(basic),
    }));
  });

  // The yardstick: the same client_credentials grant from a bare oidc-provider, right after.
  progress(`${database}: bare oidc-provider (in-memory adapter)`);
  const bareBasic = Buffer.from(`${BARE_CLIENT.clientId}:${BARE_CLIENT.clientSecret}`).toString('base64');
  const bare = await withServer({ env: {}, dataDir, logFile: logPath(dataDir, 'bare-provider'), script: BARE_SCRIPT, ready: BARE_READY }, ({ url }) =>
    row('bare-client-credentials', 'bare oidc-provider: POST /oauth2/token, client_credentials', {
      url: `${url}/oauth2/token`, method: 'POST', body: 'grant_type=client_credentials',
      headers: { Authorization: `Basic ${bareBasic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    }));
  rows.push(bare);
  const grants = rows.find((r) => r.id === 'oauth2-token').requestsPerSecond;
  const bareRatio = { value: round4(grants / bare.requestsPerSecond), target: `>= ${BARE_RATIO_TARGET * 100} %`, met: grants / bare.requestsPerSecond >= BARE_RATIO_TARGET };

  // The cost of counting: the API-key row on servers restarted alternately with counting on and
  // off (fresh processes both, the order swapped every pair), the median of the pairs' costs.
  const pairs = [];
  for (let pair = 0; pair < settings.countingPairs; pair += 1) {
    const measured = {};
    for (const counting of pair % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
      progress(`${database}: counting cost, pair ${pair + 1} of ${settings.countingPairs}: Portico with USAGE_COUNTING=${counting}`);
      await withServer({ env: { ...env, USAGE_COUNTING: counting }, dataDir, logFile: logPath(dataDir, `portico-counting-${counting}-${pair}`) }, async ({ url }) => {
        measured[counting] = await row(`api-key-counting-${counting}`, `/gateway/check, API key, USAGE_COUNTING=${counting}`, {
          url: `${url}/gateway/check`, headers: { ...FORWARDED, 'X-API-Key': seeded.apiKey },
        });
      });
    }
    pairs.push(measured);
  }
  const median = (values) => { const sorted = [...values].sort((a, b) => a - b); return sorted[Math.floor(sorted.length / 2)]; };
  const costOf = (on, off) => 1 - on / off;
  const costs = pairs.map((p) => costOf(p.on.requestsPerSecond, p.off.requestsPerSecond));
  const cpuCosts = pairs.every((p) => p.on.requestsPerServerCpuSecond && p.off.requestsPerServerCpuSecond)
    ? pairs.map((p) => costOf(p.on.requestsPerServerCpuSecond, p.off.requestsPerServerCpuSecond)) : null;
  // The table shows the uncounted row of the pair whose cost is the median.
  const medianPair = pairs[costs.indexOf(median(costs))];
  rows.splice(3, 0, { ...medianPair.off, id: 'api-key-uncounted', name: '/gateway/check, API key, USAGE_COUNTING=off (median pair)' });
  const countingCost = {
    value: round4(median(costs)), pairs: costs.map(round4), byServerCpuTime: cpuCosts && round4(median(cpuCosts)),
    target: `<= ${COUNTING_TARGET * 100} %`, met: median(costs) <= COUNTING_TARGET,
  };
  return { database, rows, countingCost, bareRatio };
}

/** Resident memory of a process in MiB (Linux /proc). */
const rssMiB = (pid) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);

/**
 * --scale: the same rows on a database of 10,000 API keys and 1,000 applications, then on one of
 * 1,000,000 and 100,000 (scripts/bench/scale-seed.mjs, stored as Portico stores them), each read
 * by a freshly started server; rows spread over keys and applications sampled from the whole set,
 * and the server's RSS after them. The goal: rates within 10 % of the small case and memory
 * bounded by the caches' sizes, not by the data.
 */
async function runScale(databaseUrl) {
  const sizes = [{ name: 'small', apiKeys: 10_000, applications: 1_000 }, { name: 'scale', apiKeys: 1_000_000, applications: 100_000 }];
  const cases = [];
  for (const size of sizes) {
    const database = await createPostgresDatabase(databaseUrl);
    cleanups.push(() => database.drop());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'portico-bench-'));
    cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env = {
      PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, PORTICO_SECRET: SECRET, LOG_LEVEL: settings.logLevel,
      PORTICO_ADMIN_USERNAME: ADMIN.username, PORTICO_ADMIN_PASSWORD: ADMIN.password, DATABASE_URL: database.url,
    };
    progress(`scale (${size.name}): seeding ${size.apiKeys.toLocaleString('en-US')} API keys and ${size.applications.toLocaleString('en-US')} applications`);
    const { seeded, scaled } = await withServer({ env, dataDir, logFile: logPath(dataDir, 'portico-seed') }, async ({ url }) => {
      const base = await seed(url, { admin: ADMIN, applications: 1 });
      return { seeded: base, scaled: await seedScale(database.url, { secret: SECRET, apiKeys: size.apiKeys, applications: size.applications, productId: base.productId, samples: 1_000, progress }) };
    });
    progress(`scale (${size.name}): seeded in ${scaled.seconds} s; a fresh server reads it`);
    const result = await withServer({ env, dataDir, logFile: logPath(dataDir, 'portico-scale') }, async ({ url, pid }) => {
      const check = `${url}/gateway/check`;
      const tokenRequest = (app) => ({
        method: 'POST', path: '/oauth2/token', body: 'grant_type=client_credentials',
        headers: { Authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      const rows = [
        await row('api-key', '/gateway/check, one API key', { url: check, headers: { ...FORWARDED, 'X-API-Key': seeded.apiKey } }),
        await row('api-key-spread', `/gateway/check, ${scaled.apiKeys.length.toLocaleString('en-US')} API keys in turn`, {
          url: check, requests: scaled.apiKeys.map((key) => ({ method: 'GET', path: '/gateway/check', headers: { ...FORWARDED, 'X-API-Key': key } })),
        }),
        await row('oauth2-token', 'POST /oauth2/token, client_credentials, one client', { url: `${url}/oauth2/token`, ...tokenRequest(seeded.applications[0]) }),
        await row('oauth2-token-spread', `POST /oauth2/token, client_credentials, ${scaled.applications.length.toLocaleString('en-US')} clients in turn`, {
          url: `${url}/oauth2/token`, requests: scaled.applications.map(tokenRequest),
        }),
      ];
      return { rows, rssMiB: rssMiB(pid) };
    });
    cases.push({ ...size, seedSeconds: scaled.seconds, ...result });
  }
  const [small, scale] = cases;
  const comparison = small.rows.map((r, i) => ({
    id: r.id, name: r.name, small: r.requestsPerSecond, scale: scale.rows[i].requestsPerSecond,
    ratio: round4(scale.rows[i].requestsPerSecond / r.requestsPerSecond), met: scale.rows[i].requestsPerSecond >= 0.9 * r.requestsPerSecond,
  }));
  return { cases, comparison, rss: { smallMiB: small.rssMiB, scaleMiB: scale.rssMiB } };
}

function scaleTable({ cases, comparison, rss }) {
  const header = ['row', 'small req/s', 'scale req/s', 'scale/small', 'p99 ms small/scale', 'non-200', 'target', ''];
  const lines = comparison.map((c, i) => [
    c.name, fmt(c.small), fmt(c.scale), `${(c.ratio * 100).toFixed(1)} %`,
    `${fmt(cases[0].rows[i].p99Ms, 2)} / ${fmt(cases[1].rows[i].p99Ms, 2)}`, fmt(cases[0].rows[i].non200 + cases[1].rows[i].non200),
    '>= 90 %', c.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells) => cells.map((c, i) => (i > 0 && i < 6 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [
    render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render), '',
    ...cases.map((c) => `${c.name}: ${c.apiKeys.toLocaleString('en-US')} API keys, ${c.applications.toLocaleString('en-US')} applications (seeded in ${c.seedSeconds} s); server RSS after the rows ${c.rssMiB} MiB`),
    `RSS, scale over small: ${rss.scaleMiB} / ${rss.smallMiB} MiB`,
  ].join('\n');
}

const round4 = (n) => Math.round(n * 10_000) / 10_000;
const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');

function table(runs) {
  const header = ['database', 'row', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-200', 'errors', 'CPU % server/bench/other', 'req/server CPU-s', 'target', ''];
  const lines = runs.flatMap((run) => run.rows.map((r) => [
    run.database, r.name, fmt(r.requestsPerSecond), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), fmt(r.requests),
    r.non200 ? `${fmt(r.non200)} (${Object.entries(r.statusCodes).filter(([c]) => c !== '200').map(([c, n]) => `${c}: ${n}`).join(', ')})` : '0',
    fmt(r.errors), r.cpuPercent ? `${r.cpuPercent.server}/${r.cpuPercent.loadGenerator}/${r.cpuPercent.other}` : '-',
    fmt(r.requestsPerServerCpuSecond ?? NaN),
    r.target ?? '', r.met === null ? '' : r.met ? 'met' : 'MISSED',
  ]));
  const numeric = new Set([2, 3, 4, 5, 7, 8, 9]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [
    render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render), '',
    'CPU %: of one core, during the measured seconds: the Portico process, this process (autocannon), the rest of the machine;',
    'req/server CPU-s: requests per second of the Portico process\'s own CPU time (what one uncontended core would serve).',
    ...runs.map(({ database, countingCost: c }) => `cost of counting (${database}): 1 - API-key rate counted / uncounted, median of ${c.pairs.length} pairs`
      + ` (${c.pairs.map((v) => `${(v * 100).toFixed(1)} %`).join(', ')}) = ${(c.value * 100).toFixed(1)} %`
      + ` (target ${c.target}: ${c.met ? 'met' : 'MISSED'})`
      + (c.byServerCpuTime === null ? '' : `; per second of server CPU: ${(c.byServerCpuTime * 100).toFixed(1)} %`)),
    ...runs.map(({ database, bareRatio: r }) => `client_credentials grants, Portico over bare oidc-provider (${database}): ${(r.value * 100).toFixed(1)} %`
      + ` (target ${r.target}: ${r.met ? 'met' : 'MISSED'})`),
  ].join('\n');
}

// Other processes on the machine take CPU from both sides: say how busy it was when the run began.
const loadAverage = os.loadavg().map((n) => Number(n.toFixed(2)));
let failed = false;
const runs = [];
if (args.scale && !process.env.DATABASE_URL) throw new Error('--scale needs DATABASE_URL (PostgreSQL)');
try {
  if (args.scale) {
    const scale = await runScale(process.env.DATABASE_URL);
    if (args.json) process.stdout.write(`${JSON.stringify({ machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart: loadAverage }, settings, scale: { ...scale, cases: scale.cases.map((c) => ({ ...c, rows: c.rows.map(({ window, ...r }) => r) })) } }, null, 2)}\n`);
    else console.log(`Portico benchmark, scale mode: ${os.cpus().length} CPUs, Node ${process.version}, load average at start ${loadAverage.join(' ')}; ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s per row\n\n${scaleTable(scale)}`);
    failed = scale.cases.some((c) => c.rows.some((r) => r.non200 > 0 || r.errors > 0));
  } else {
    runs.push(await runOn('embedded'));
    if (process.env.DATABASE_URL) {
      const database = await createPostgresDatabase(process.env.DATABASE_URL);
      cleanups.push(() => database.drop());
      progress(`postgresql: created database ${database.name}`);
      runs.push(await runOn('postgresql', database.url));
    }
    const report = {
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, loadAverageAtStart: loadAverage },
      settings,
      runs: runs.map((run) => ({ ...run, rows: run.rows.map(({ window, ...r }) => r) })),
    };
    failed = runs.some((run) => run.rows.some((r) => r.non200 > 0 || r.errors > 0));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      console.log(`Portico benchmark: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), Node ${report.machine.node}, `
        + `load average at start ${loadAverage.join(' ')}; `
        + `autocannon in the bench process, Portico in its own; ${settings.connections} connections, pipelining 1, `
        + `${settings.warmup} s warm-up + ${settings.duration} s per row; server LOG_LEVEL=${settings.logLevel}\n`);
      console.log(table(runs));
    }
  }
  if (failed) progress('some requests were not answered 200: the figures of those rows are not valid');
} finally {
  await cleanUp();
  killAll();
}

// Per row, where the server's time went while it was measured (only the samples of that window).
if (profileDir && runs.length) {
  const profiles = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => readProfile(path.join(profileDir, f)));
  for (const run of runs) {
    for (const r of run.rows) {
      const lines = profiles.flatMap((profile) => summariseProfile(profile, r.window));
      if (lines.length) process.stderr.write(`server CPU profile, ${run.database}, ${r.name}:\n${lines.join('\n')}\n`);
    }
  }
}
process.exitCode = failed ? 1 : 0;
