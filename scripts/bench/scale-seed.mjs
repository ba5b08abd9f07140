// The scale mode's data: a million API keys and a hundred thousand applications (OAuth clients)
// written straight into a PostgreSQL database that the bench's own seed (seed.mjs) has already
// migrated and seeded, stored exactly as Portico stores them, so that a Portico server started on
// the database serves every one of them: /gateway/check with any of the API keys, a
// client_credentials grant with any of the applications' client id and secret.
//
// Through the API this would take hours (argon2 per developer, one transaction with an audit
// event per credential), so the rows are inserted with multi-row `INSERT ... SELECT FROM unnest(...)`
// of 10,000 rows, the next batch built while PostgreSQL writes the last one. Everything derived
// from PORTICO_SECRET (the API keys' lookup hash, the sealed API keys and client secrets, the
// password hash) is computed with Portico's own functions from the built output (dist/src), so the
// formats cannot drift (the sealing contexts and the secret check value included). Key material
// comes from the CSPRNG (Portico's randomToken: crypto.randomBytes).
//
// What is not written: audit events (the API would write one per account, consumer,
// subscription, credential and application; nothing on the hot paths reads them), usage counters
// (they start empty, as every day does) and AK/SK pairs (only API keys are asked for).
//
// The shape (which developer has how many consumers, keys, applications) comes from a seeded
// PRNG, so two runs of the same sizes have the same shape; every secret is random. It follows
// Portico's rules and what a busy platform looks like: developers sign up over two years; most
// keep their default consumer with one or two keys, some run several consumers (environments),
// 15 % of consumers sit at the limit of 10 credentials (rotation); one developer in ten never makes
// a key; every consumer with keys has an approved subscription to the bench product (so every key
// passes the gateway); applications favour older developers (the busiest has a few hundred, most
// none), 70 % online (100,000 calls a day), 25 % in development and 5 % in review (5,000), 45 %
// also do the code flow (a loopback http redirect URI in development, https past it), every one
// has client_credentials. Nothing is banned, pending or suspended: any sampled key or client works.
// At 1,000,000 keys and 100,000 applications: ~178,000 developers, ~282,000 consumers, ~264,000
// subscriptions.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const dist = (file) => new URL(`../../dist/src/${file}`, import.meta.url).href;

/** Rows per INSERT statement. */
const BATCH = 10_000;
/** The password of every seeded developer (one argon2id hash, made once, shared by all). */
export const SCALE_DEVELOPER_PASSWORD = 'scale-developer-password';
const USERNAME_PREFIX = 'scale-dev-';

const DAY_MS = 86_400_000;
/** Accounts were created over the last two years, oldest first. */
const HISTORY_MS = 730 * DAY_MS;

// The distribution: weights, not counts.
/** Consumers per developer: most keep the default consumer only; a few run several environments. */
const CONSUMERS_PER_DEVELOPER = [[1, 60], [2, 25], [3, 10], [4, 2], [5, 1.5], [6, 1], [8, 0.5]];
/** API keys per consumer (at most MAX_CREDENTIALS_PER_CONSUMER): mostly one or two, 15 % at the limit (rotation). */
const KEYS_PER_CONSUMER = [[1, 30], [2, 20], [3, 12], [4, 8], [5, 8], [6, 2], [7, 2], [8, 2], [9, 1], [10, 15]];
/** Developers who signed up and never made a key: an account and its default consumer, nothing else. */
const DORMANT_SHARE = 0.1;
/** Names of a developer's consumers after `default` (unique per owner, as Portico requires). */
const CONSUMER_NAMES = ['production', 'staging', 'testing', 'mobile', 'backend', 'partner', 'analytics'];
/** Application stages: online (100,000 calls a day), still in development or in review (5,000). */
const STAGES = [['online', 70], ['development', 25], ['review', 5]];
const QUOTA = { online: 100_000, development: 5_000, review: 5_000 };
/** Share of applications that also do the code flow (with a redirect URI); the rest are client_credentials only. */
const WEB_SHARE = 0.45;

/** mulberry32: a small seeded PRNG for the shape only (never for key material). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function weighted(table, random) {
  const total = table.reduce((sum, [, w]) => sum + w, 0);
  let x = random() * total;
  for (const [value, w] of table) {
    x -= w;
    if (x < 0) return value;
  }
  return table[table.length - 1][0];
}

/** `count` indexes spread evenly over `0..total-1` (all of them when there are fewer). */
function spread(total, count) {
  const n = Math.min(total, count);
  const picked = new Set();
  for (let i = 0; i < n; i += 1) picked.add(Math.floor((i * total) / n));
  return picked;
}

/**
 * Who owns what, without key material: accounts (a created_at each), consumers (owner, default or
 * not, how many keys, whether subscribed) and applications (consumer, stage, web or not). Keys
 * are handed out consumer by consumer until `apiKeys` are placed; developers come one after the
 * other, a dormant one now and then.
 */
function planShape({ apiKeys, applications, maxPerConsumer, now }) {
  const random = prng(0x5ca1e);
  const accounts = []; // { id, at }
  const consumers = []; // { id, account, name, isDefault, keys, subscribed, at }
  const addAccount = () => {
    const account = { id: randomUUID(), at: 0 };
    accounts.push(account);
    return accounts.length - 1;
  };
  const addConsumer = (account, k, keys) => {
    consumers.push({ id: randomUUID(), account, name: k === 0 ? 'default' : CONSUMER_NAMES[k - 1], isDefault: k === 0, keys, subscribed: keys > 0, at: 0 });
  };
  let left = apiKeys;
  while (left > 0) {
    const account = addAccount();
    if (random() < DORMANT_SHARE) {
      addConsumer(account, 0, 0);
      continue;
    }
    const n = weighted(CONSUMERS_PER_DEVELOPER, random);
    for (let k = 0; k < n; k += 1) {
      // A developer's last consumers may get no key once the total is placed; they stay, unsubscribed.
      const keys = Math.min(Math.min(weighted(KEYS_PER_CONSUMER, random), maxPerConsumer), left);
      addConsumer(account, k, keys);
      left -= keys;
    }
  }
  // Applications use subscribed consumers (so their tokens pass the gateway too); with no key at
  // all, one developer with a subscribed default consumer holds them.
  let subscribed = consumers.flatMap((c, i) => (c.subscribed ? [i] : []));
  if (applications > 0 && subscribed.length === 0) {
    addConsumer(addAccount(), 0, 0);
    consumers[consumers.length - 1].subscribed = true;
    subscribed = [consumers.length - 1];
  }

  // Sign-ups spread over two years, oldest first; a default consumer is made with its account,
  // further consumers within 90 days, everything else after its consumer.
  const start = now - HISTORY_MS;
  accounts.forEach((a, i) => { a.at = Math.floor(start + ((i + random()) * HISTORY_MS) / accounts.length); });
  for (const c of consumers) {
    const owner = accounts[c.account].at;
    c.at = c.isDefault ? owner : Math.floor(owner + random() * Math.min(90 * DAY_MS, now - owner));
  }

  // Older developers have more applications: the consumer is picked with u², so the oldest quarter
  // of subscribed consumers gets half of them.
  const apps = [];
  for (let j = 0; j < applications; j += 1) {
    const consumer = subscribed[Math.floor(subscribed.length * random() ** 2)];
    const stage = weighted(STAGES, random);
    const since = consumers[consumer].at;
    apps.push({ consumer, stage, web: random() < WEB_SHARE, at: Math.floor(since + random() * (now - since)) });
  }
  return { accounts, consumers, apps, random };
}

/** What Portico's applications service stores as the client's metadata (toClientMetadata there). */
function clientMetadata(name, grantTypes, redirectUris) {
  return { client_name: name, redirect_uris: redirectUris, grant_types: grantTypes, token_endpoint_auth_method: 'client_secret_basic' };
}

/**
 * Runs the statements of `batches` (an iterable of parameter lists, built lazily) one after the
 * other on `client`, building each next batch while PostgreSQL executes the previous one.
 */
async function pump(client, text, batches, onBatch = () => {}) {
  let inFlight;
  for (const values of batches) {
    if (inFlight) onBatch(await inFlight);
    inFlight = client.query({ text, values }).then((r) => r.rowCount);
    inFlight.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
  }
  if (inFlight) onBatch(await inFlight);
}

function* chunks(total, size = BATCH) {
  for (let from = 0; from < total; from += size) yield [from, Math.min(total, from + size)];
}

const toTime = (param) => `to_timestamp(${param} / 1000.0)`;

const SQL = {
  accounts: `insert into accounts (id, username, email, password_hash, role, status, email_verified, created_at, updated_at)
    select id, username, email, $4, 'developer', 'active', false, ${toTime('at')}, ${toTime('at')}
    from unnest($1::uuid[], $2::text[], $3::text[], $5::float8[]) as u (id, username, email, at)`,
  consumers: `insert into consumers (id, account_id, name, is_default, created_at)
    select id, account_id, name, is_default, ${toTime('at')}
    from unnest($1::uuid[], $2::uuid[], $3::text[], $4::bool[], $5::float8[]) as u (id, account_id, name, is_default, at)`,
  // Approved: what a subscription under automatic approval (the default) is at once.
  subscriptions: `insert into subscriptions (account_id, consumer_id, product_id, status, created_at, updated_at)
    select account_id, consumer_id, $3, 'approved', ${toTime('at')}, ${toTime('at')}
    from unnest($1::uuid[], $2::uuid[], $4::float8[]) as u (account_id, consumer_id, at)`,
  credentials: `insert into credentials (id, consumer_id, type, key_hash, access_key, sealed_secret, created_at)
    select id, consumer_id, 'api-key', key_hash, null, sealed_secret, ${toTime('at')}
    from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::float8[]) as u (id, consumer_id, key_hash, sealed_secret, at)`,
  applications: `insert into applications (id, account_id, consumer_id, name, stage, daily_quota, created_at, updated_at)
    select id, account_id, consumer_id, name, stage, daily_quota, ${toTime('at')}, ${toTime('at')}
    from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::int[], $7::float8[]) as u (id, account_id, consumer_id, name, stage, daily_quota, at)`,
  oauthClients: `insert into oauth_clients (client_id, application_id, account_id, consumer_id, metadata, sealed_secret, first_party, created_at, updated_at)
    select client_id, application_id, account_id, consumer_id, metadata, sealed_secret, false, ${toTime('at')}, ${toTime('at')}
    from unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::jsonb[], $6::text[], $7::float8[]) as u (client_id, application_id, account_id, consumer_id, metadata, sealed_secret, at)`,
};

/**
 * Seeds `apiKeys` API keys and `applications` applications into the database at `databaseUrl`
 * (migrated, with the product `productId` published, as the bench's seed leaves it), sealed under
 * `secret` (the servers' PORTICO_SECRET). Resolves with samples spread over the whole set:
 * `apiKeys` (plaintext keys), `applications` ({clientId, clientSecret, applicationId, dailyQuota}),
 * `developers` ({password, usernames}: every seeded developer has that password), the seconds it
 * took and the rows written.
 */
export async function seedScale(databaseUrl, { secret, apiKeys = 1_000_000, applications = 100_000, productId, samples = 10_000, progress = () => {} } = {}) {
  if (typeof secret !== 'string' || secret.length < 32) throw new Error('seedScale: `secret` must be the servers\' PORTICO_SECRET (>= 32 characters)');
  if (typeof productId !== 'string') throw new Error('seedScale: `productId` (the bench product\'s id) is required');
  for (const [name, n] of [['apiKeys', apiKeys], ['applications', applications], ['samples', samples]]) {
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`seedScale: \`${name}\` must be a whole number >= 0`);
  }
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const say = (message) => progress(`scale seed: ${message} (${elapsed().toFixed(1)} s)`);

  const [{ deriveKeys }, { seal }, { keyedHash, randomToken }, { hashPassword }, credentials, clients, { checkValue }] = await Promise.all([
    import(dist('crypto/keys.js')), import(dist('crypto/seal.js')), import(dist('crypto/tokens.js')),
    import(dist('crypto/passwords.js')), import(dist('consumers/credentials.js')), import(dist('oidc/clients.js')), import(dist('db/instance.js')),
  ]);
  const { API_KEY_PREFIX, MAX_CREDENTIALS_PER_CONSUMER } = credentials;
  const keys = deriveKeys(secret);
  const now = Date.now();

  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'portico-scale-seed' });
  await client.connect();
  try {
    // The database must be one sealed under this secret (src/db/instance.ts's check value), and
    // the product must exist: otherwise every row written would be unreadable or refused.
    const instance = await client.query('select secret_check from instance');
    if (instance.rows[0]?.secret_check !== checkValue(keys.check)) {
      throw new Error('seedScale: the database was not set up with this PORTICO_SECRET (start Portico on it first, with the same secret)');
    }
    const product = await client.query('select status from products where id = $1', [productId]);
    if (product.rowCount === 0) throw new Error(`seedScale: no product ${productId}`);
    if (product.rows[0].status !== 'published') say(`warning: product ${productId} is ${product.rows[0].status}; the gateway serves published products only`);

    const plan = planShape({ apiKeys, applications, maxPerConsumer: MAX_CREDENTIALS_PER_CONSUMER, now });
    const { accounts, consumers, apps, random } = plan;
    const subscribed = consumers.filter((c) => c.subscribed);
    const passwordHash = await hashPassword(SCALE_DEVELOPER_PASSWORD);
    const username = (i) => `${USERNAME_PREFIX}${String(i + 1).padStart(7, '0')}`;
    say(`planned ${accounts.length} developers, ${consumers.length} consumers (${subscribed.length} subscribed), ${apiKeys} API keys, ${applications} applications`);

    const rows = { accounts: 0, consumers: 0, subscriptions: 0, credentials: 0, applications: 0, oauthClients: 0 };
    const count = (table) => (n) => { rows[table] += n; };

    // 1. Developers, their consumers, the subscriptions of the consumers that hold keys.
    await client.query('begin');
    await pump(client, SQL.accounts, (function* () {
      for (const [from, to] of chunks(accounts.length)) {
        const slice = accounts.slice(from, to);
        yield [slice.map((a) => a.id), slice.map((_, i) => username(from + i)), slice.map((_, i) => `${username(from + i)}@scale.example`), passwordHash, slice.map((a) => a.at)];
      }
    })(), count('accounts'));
    await pump(client, SQL.consumers, (function* () {
      for (const [from, to] of chunks(consumers.length)) {
        const slice = consumers.slice(from, to);
        yield [slice.map((c) => c.id), slice.map((c) => accounts[c.account].id), slice.map((c) => c.name), slice.map((c) => c.isDefault), slice.map((c) => c.at)];
      }
    })(), count('consumers'));
    await pump(client, SQL.subscriptions, (function* () {
      for (const [from, to] of chunks(subscribed.length)) {
        const slice = subscribed.slice(from, to);
        yield [slice.map((c) => accounts[c.account].id), slice.map((c) => c.id), productId,
          slice.map((c) => Math.floor(c.at + random() * Math.min(7 * DAY_MS, now - c.at)))];
      }
    })(), count('subscriptions'));
    await client.query('commit');
    say(`${rows.accounts} accounts, ${rows.consumers} consumers, ${rows.subscriptions} subscriptions`);

    // 2. The API keys, consumer by consumer: random key, its keyed hash, sealed to its row.
    const keySamples = spread(apiKeys, samples);
    const sampledKeys = [];
    await client.query('begin');
    await pump(client, SQL.credentials, (function* () {
      let consumer = 0;
      let placed = 0; // keys placed on `consumer`
      for (const [from, to] of chunks(apiKeys)) {
        const ids = []; const consumerIds = []; const hashes = []; const sealed = []; const times = [];
        for (let k = from; k < to; k += 1) {
          while (placed >= consumers[consumer].keys) { consumer += 1; placed = 0; }
          placed += 1;
          const c = consumers[consumer];
          const id = randomUUID();
          const apiKey = randomToken(API_KEY_PREFIX);
          ids.push(id);
          consumerIds.push(c.id);
          hashes.push(keyedHash(keys.lookup, apiKey));
          sealed.push(seal(keys.seal, apiKey, credentials.sealingContext(id)));
          times.push(Math.floor(c.at + random() * (now - c.at)));
          if (keySamples.has(k)) sampledKeys.push(apiKey);
        }
        yield [ids, consumerIds, hashes, sealed, times];
      }
    })(), (n) => {
      rows.credentials += n;
      if (rows.credentials % 100_000 === 0 || rows.credentials === apiKeys) say(`${rows.credentials} API keys`);
    });
    await client.query('commit');

    // 3. Applications and their OAuth clients (client id 128 bits, secret 256 bits, sealed to the client id).
    const appSamples = spread(applications, samples);
    const sampledApps = [];
    const appsPerOwner = new Map();
    const appRows = []; // filled by the first pump, read by the second
    await client.query('begin');
    await pump(client, SQL.applications, (function* () {
      for (const [from, to] of chunks(applications)) {
        const batch = [];
        for (let j = from; j < to; j += 1) {
          const app = apps[j];
          const c = consumers[app.consumer];
          const nth = (appsPerOwner.get(c.account) ?? 0) + 1;
          appsPerOwner.set(c.account, nth);
          const row = { id: randomUUID(), accountId: accounts[c.account].id, consumerId: c.id, name: `${username(c.account)} app ${nth}`, stage: app.stage, dailyQuota: QUOTA[app.stage], at: app.at, web: app.web };
          batch.push(row);
        }
        appRows.push(batch);
        yield [batch.map((r) => r.id), batch.map((r) => r.accountId), batch.map((r) => r.consumerId), batch.map((r) => r.name),
          batch.map((r) => r.stage), batch.map((r) => r.dailyQuota), batch.map((r) => r.at)];
      }
    })(), count('applications'));
    await pump(client, SQL.oauthClients, (function* () {
      let j = 0;
      for (const batch of appRows) {
        const values = [[], [], [], [], [], [], []];
        for (const r of batch) {
          const clientId = randomToken('', 16);
          const clientSecret = randomToken('', 32);
          // Web applications: the code flow too, with a redirect URI (https once past development).
          const metadata = r.web
            ? clientMetadata(r.name, ['authorization_code', 'refresh_token', 'client_credentials'],
              [r.stage === 'development' ? `http://localhost:${3000 + (j % 1000)}/callback` : `https://app-${j + 1}.scale.example/oauth/callback`])
            : clientMetadata(r.name, ['client_credentials'], []);
          [clientId, r.id, r.accountId, r.consumerId, JSON.stringify(metadata), seal(keys.seal, clientSecret, clients.sealingContext(clientId)), r.at]
            .forEach((v, i) => values[i].push(v));
          if (appSamples.has(j)) sampledApps.push({ clientId, clientSecret, applicationId: r.id, dailyQuota: r.dailyQuota });
          j += 1;
        }
        yield values;
      }
    })(), count('oauthClients'));
    await client.query('commit');
    say(`${rows.applications} applications with their clients`);

    // Fresh statistics and visibility maps, and the written pages flushed, so that neither the
    // plans nor PostgreSQL's catching up (autovacuum, hint bits, the checkpoint) weigh on the rows
    // measured next.
    await client.query('vacuum (analyze) accounts, consumers, subscriptions, credentials, applications, oauth_clients');
    await client.query('checkpoint');
    say('vacuumed, analyzed, checkpointed');

    const developerSamples = [...spread(accounts.length, Math.min(samples, 100))].map(username);
    return {
      apiKeys: sampledKeys,
      applications: sampledApps,
      developers: { password: SCALE_DEVELOPER_PASSWORD, usernames: developerSamples },
      seconds: Math.round(elapsed() * 10) / 10,
      rows,
    };
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}
