import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestServer, type TestServer } from '../support/server.js';
import { startFakeIdp, type FakeIdp, type Tamper } from './idp.js';
import { portalSso, registerProvider, sessionAccount } from './support.js';

// The ID token is checked in full: signature (against the keys the provider publishes), issuer,
// audience, expiry and nonce. A hand-made provider gets one of them wrong at a time.
let server: TestServer;
let fake: FakeIdp;
const CLIENT_ID = 'portico-at-fake';

const subjectLinked = async () => (await server.portico.context.db.selectFrom('federated_identities').select('account_id')
  .where('subject', '=', 'fake-dora').execute()).length > 0;

beforeAll(async () => {
  server = await startTestServer();
  fake = await startFakeIdp({ clientId: CLIENT_ID, user: { sub: 'fake-dora', preferred_username: 'dora', email: 'dora@fake.example', email_verified: true } });
  await registerProvider(server, { slug: 'fake', name: 'Fake IdP', issuer: fake.issuer, clientId: CLIENT_ID, clientSecret: 'fake-client-secret' });
});
afterAll(async () => {
  await fake?.close();
  await server?.stop();
});

describe('the ID token of an enterprise sign-in', () => {
  const refusals: Tamper[] = ['unpublished-key', 'issuer', 'audience', 'expired', 'nonce'];
  it.each(refusals)('is refused with a clear 502 page when wrong: %s', async (tamper) => {
    fake.tamper = tamper;
    const { res } = await portalSso(server, 'Fake IdP');
    const html = await res.text();
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 502, type: 'text/html; charset=utf-8' });
    expect(html).toContain('The answer of Fake IdP could not be verified, so you were not signed in.');
    expect(await subjectLinked()).toBe(false);
  });

  it('signs in when nothing is wrong, with the claims of the ID token (no userinfo endpoint)', async () => {
    fake.tamper = 'none';
    const { res, browser } = await portalSso(server, 'Fake IdP');
    expect(res.status).toBe(200);
    expect(await sessionAccount(server, browser)).toMatchObject({ username: 'dora', email: 'dora@fake.example', status: 'active' });
    expect(await subjectLinked()).toBe(true);
  });
});
