import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.js';
import type { Database } from '../../src/db/types.js';
import { createOidcAdapter, storageId, sweepExpiredOidcPayloads } from '../../src/oidc/adapter.js';
import { migrations } from '../../migrations/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { manualClock } from '../support/server.js';

// The storage contract of oidc-provider's adapter. CI runs it on PGlite and on PostgreSQL.
let database: TestDatabase;
let handle: DatabaseHandle;
let db: Kysely<Database>;
const clock = manualClock();
beforeAll(async () => {
  database = await createTestDatabase();
  handle = await openDatabase({ dataDir: database.env.DATA_DIR, databaseUrl: database.env.DATABASE_URL });
  db = handle.db;
});
afterAll(async () => {
  await handle?.close();
  await database?.drop();
});

const sealKey = randomBytes(32);
const adapterFor = (model: string) => createOidcAdapter(db, clock, { sealKey })(model);

describe('the oidc-provider adapter', () => {
  it('stores, finds and overwrites by id, per model', async () => {
    const tokens = adapterFor('RefreshToken');
    await tokens.upsert('rt-1', { jti: 'rt-1', grantId: 'g-1', accountId: 'acc' }, 60);
    expect(await tokens.find('rt-1')).toEqual({ jti: 'rt-1', grantId: 'g-1', accountId: 'acc' });
    expect(await adapterFor('AccessToken').find('rt-1')).toBeUndefined();
    expect(await tokens.find('missing')).toBeUndefined();
    await tokens.upsert('rt-1', { jti: 'rt-1', grantId: 'g-1', accountId: 'other' }, 60);
    expect(await tokens.find('rt-1')).toMatchObject({ accountId: 'other' });
  });

  it('honours expiry on read, and the sweep removes only expired rows', async () => {
    const codes = adapterFor('AuthorizationCode');
    await codes.upsert('short', { jti: 'short' }, 10);
    await codes.upsert('long', { jti: 'long' }, 1000);
    await adapterFor('Client').upsert('forever', { client_id: 'forever' }, undefined);
    clock.advance(11_000);
    expect(await codes.find('short')).toBeUndefined();
    expect(await codes.find('long')).toBeDefined();
    expect(await sweepExpiredOidcPayloads(db, clock.now())).toBeGreaterThanOrEqual(1);
    const ids = { short: storageId('AuthorizationCode', 'short'), long: storageId('AuthorizationCode', 'long'), forever: 'forever' };
    const left = await db.selectFrom('oidc_payloads').select('id').where('id', 'in', Object.values(ids)).execute();
    expect(left.map((r) => r.id).sort()).toEqual([ids.forever, ids.long].sort());
  });

  it('keeps no token, code or session id as it is: rows are keyed by its hash, and the payload holds no copy', async () => {
    const secret = `rt-${randomBytes(16).toString('hex')}`;
    await adapterFor('RefreshToken').upsert(secret, { jti: secret, grantId: 'g-secret' }, 60);
    const session = `sess-${randomBytes(16).toString('hex')}`;
    await adapterFor('Session').upsert(session, { jti: session, uid: 'uid-secret', accountId: 'a' }, 60);
    const rows = await db.selectFrom('oidc_payloads').selectAll().where('model', 'in', ['RefreshToken', 'Session']).execute();
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(session);
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([storageId('RefreshToken', secret), storageId('Session', session)]));
    // The provider gets its ids back, by id and (a session) by uid.
    expect(await adapterFor('RefreshToken').find(secret)).toEqual({ jti: secret, grantId: 'g-secret' });
    expect(await adapterFor('Session').findByUid('uid-secret')).toEqual({ jti: session, uid: 'uid-secret', accountId: 'a' });
    // An interaction keeps no copy of its session's id.
    await adapterFor('Interaction').upsert('ia-1', { jti: 'ia-1', session: { accountId: 'a', uid: 'uid-secret', cookie: session } }, 60);
    expect(JSON.stringify(await db.selectFrom('oidc_payloads').selectAll().where('model', '=', 'Interaction').execute())).not.toContain(session);
    expect(await adapterFor('Interaction').find('ia-1')).toEqual({ jti: 'ia-1', session: { accountId: 'a', uid: 'uid-secret' } });
    // Grants and interactions are no credentials: kept under their own ids.
    await adapterFor('Grant').upsert('grant-plain', { jti: 'grant-plain' }, 60);
    expect(await db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Grant').where('id', '=', 'grant-plain').executeTakeFirst()).toBeDefined();
  });

  it('re-keys the artifacts an earlier version stored under their own ids (migration 0014)', async () => {
    const earlier = await createTestDatabase();
    const opened = await openDatabase({ dataDir: earlier.env.DATA_DIR, databaseUrl: earlier.env.DATABASE_URL });
    try {
      const legacy = (model: string, id: string) => ({ model, id, payload: JSON.stringify({ jti: id, grantId: 'g-old' }), grant_id: 'g-old', expires_at: new Date(Date.now() + 60_000) });
      await opened.db.insertInto('oidc_payloads').values([legacy('RefreshToken', 'old-refresh'), legacy('Session', 'old-session'), legacy('Grant', 'g-old')]).execute();
      await migrations['0014_hashed_oidc_ids']!.up(opened.db);
      const adapter = (model: string) => createOidcAdapter(opened.db, clock, { sealKey })(model);
      expect(await adapter('RefreshToken').find('old-refresh')).toMatchObject({ jti: 'old-refresh', grantId: 'g-old' });
      expect(await adapter('Session').find('old-session')).toMatchObject({ jti: 'old-session' });
      expect(await adapter('Grant').find('g-old')).toMatchObject({ jti: 'g-old' });
      const refresh = await opened.db.selectFrom('oidc_payloads').selectAll().where('model', '=', 'RefreshToken').executeTakeFirstOrThrow();
      expect(JSON.stringify(refresh)).not.toContain('old-refresh');
    } finally {
      await opened.close();
      await earlier.drop();
    }
  });

  it('finds sessions by uid and device codes by user code', async () => {
    await adapterFor('Session').upsert('sess-1', { uid: 'uid-1', accountId: 'a' }, 60);
    expect(await adapterFor('Session').findByUid('uid-1')).toMatchObject({ accountId: 'a' });
    expect(await adapterFor('Session').findByUid('uid-2')).toBeUndefined();
    await adapterFor('DeviceCode').upsert('dc-1', { userCode: 'ABCD-EFGH' }, 60);
    expect(await adapterFor('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH' });
  });

  it('consumes once: the time is reported, a second consume fails', async () => {
    const tokens = adapterFor('RefreshToken');
    await tokens.upsert('rt-once', { jti: 'rt-once' }, 60);
    await tokens.consume('rt-once');
    const found = await tokens.find('rt-once');
    expect(found?.consumed).toBe(Math.floor(clock.now().getTime() / 1000));
    await expect(tokens.consume('rt-once')).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('lets exactly one of two concurrent consumes win', async () => {
    const tokens = adapterFor('RefreshToken');
    for (let i = 0; i < 5; i += 1) {
      await tokens.upsert(`race-${i}`, { jti: `race-${i}` }, 60);
      const results = await Promise.allSettled([tokens.consume(`race-${i}`), adapterFor('RefreshToken').consume(`race-${i}`)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    }
  });

  it('destroys one row, and revokes every row of a grant of its model', async () => {
    const tokens = adapterFor('RefreshToken');
    await tokens.upsert('g2-a', { jti: 'g2-a', grantId: 'g-2' }, 60);
    await tokens.upsert('g2-b', { jti: 'g2-b', grantId: 'g-2' }, 60);
    await tokens.upsert('g3-a', { jti: 'g3-a', grantId: 'g-3' }, 60);
    await adapterFor('AuthorizationCode').upsert('g2-code', { jti: 'g2-code', grantId: 'g-2' }, 60);
    await tokens.destroy('g3-a');
    expect(await tokens.find('g3-a')).toBeUndefined();
    await tokens.revokeByGrantId('g-2');
    expect(await tokens.find('g2-a')).toBeUndefined();
    expect(await tokens.find('g2-b')).toBeUndefined();
    expect(await adapterFor('AuthorizationCode').find('g2-code')).toBeDefined();
  });
});
