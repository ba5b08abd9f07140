import { afterAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';
import { SIGNING_KEYS_TOPIC, rotateSigningKey } from '../../src/oidc/keys.js';
import { onPostgres, startTwoNodes, type TwoNodes } from '../support/cluster.js';
import { apiClient } from '../support/http.js';
import { runCli } from '../support/process.js';
import { startTestServer, type TestServer } from '../support/server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

interface App { clientId: string; clientSecret: string }

/** A developer's application, made through the API of `url`. */
async function application(url: string, username: string): Promise<App> {
  const api = apiClient(url);
  await api.post('/api/v1/developers', { username, password: `${username}-password` });
  const session = (await api.post('/api/v1/auth/login', { username, password: `${username}-password` })).body.token as string;
  return (await api.post('/api/v1/applications', { name: `${username} back end` }, { token: session })).body as App;
}

async function tokenFrom(url: string, app: App): Promise<string> {
  const res = await fetch(`${url}/oauth2/token`, {
    method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }),
    headers: { authorization: basic(app.clientId, app.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
  });
  const body = await res.json() as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

async function publishedKids(url: string): Promise<string[]> {
  const { keys } = await (await fetch(`${url}/oauth2/jwks`)).json() as { keys: Array<{ kid: string }> };
  return keys.map((k) => k.kid);
}

async function activeOn(url: string, app: App, token: string): Promise<boolean> {
  const res = await fetch(`${url}/oauth2/introspect`, {
    method: 'POST', body: new URLSearchParams({ token }),
    headers: { authorization: basic(app.clientId, app.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
  });
  return ((await res.json()) as { active?: boolean }).active === true;
}

describe('a key rotation on a running server', () => {
  let server: TestServer | undefined;
  afterAll(async () => { await server?.stop(); });

  it('publishes the new key at once on the notification, signs with it once it activates, and keeps accepting the old key\'s tokens', async () => {
    server = await startTestServer();
    const { url, context } = server.portico;
    const app = await application(url, 'rotation-live');
    const before = await tokenFrom(url, app);
    const oldKid = kidOf(before);
    expect(await publishedKids(url)).toEqual([oldKid]);

    const { kid, activatesAt } = await rotateSigningKey(context.db, context.keys.seal, context.clock, 1);
    // Without the notification nothing changes on a running server ...
    expect(await publishedKids(url)).toEqual([oldKid]);
    // ... with it, the key is published at once, and tokens are still signed with the old key.
    await context.bus.publish(context.db, SIGNING_KEYS_TOPIC, { kid });
    await sleep(100);
    expect((await publishedKids(url)).sort()).toEqual([oldKid, kid].sort());
    if (Date.now() < activatesAt.getTime() - 200) expect(kidOf(await tokenFrom(url, app))).toBe(oldKid);

    // Its activation time comes: the server signs with the new key by itself.
    await sleep(Math.max(0, activatesAt.getTime() - Date.now()) + 300);
    const after = await tokenFrom(url, app);
    expect(kidOf(after)).toBe(kid);
    expect(await publishedKids(url)).toEqual([kid, oldKid]); // the signing key first
    expect(await activeOn(url, app, before)).toBe(true);
    expect(await activeOn(url, app, after)).toBe(true);
  });
});

onPostgres('live key rotation on two nodes', () => {
  let cluster: TwoNodes | undefined;
  afterAll(async () => { await cluster?.stop(); });

  it('`keys rotate` on one node reaches both without a restart; tokens of both keys verify on both throughout', async () => {
    cluster = await startTwoNodes('http://localhost:39874');
    const { urls } = cluster;
    const app = await application(urls[0]!, 'rotation-two-nodes');
    const firstTokens = await Promise.all(urls.map((url) => tokenFrom(url, app)));
    const oldKid = kidOf(firstTokens[0]!);
    expect(firstTokens.map(kidOf)).toEqual([oldKid, oldKid]);

    const graceSeconds = 3;
    const rotated = await runCli(['keys', 'rotate', '--grace-seconds', String(graceSeconds)], cluster.env);
    expect(rotated).toMatchObject({ code: 0 });
    const rotatedAt = Date.now();
    const newKid = /added signing key (\S+):/.exec(rotated.stdout)![1]!;

    // Both nodes publish the new key within a second of the command.
    while ((await Promise.all(urls.map(publishedKids))).some((kids) => !kids.includes(newKid))) {
      expect(Date.now() - rotatedAt).toBeLessThan(1_000);
      await sleep(50);
    }

    // Until the grace period is over and a little after: every new token, from either node, carries
    // a key both nodes already publish, and every token so far verifies on both nodes.
    const tokens = [...firstTokens];
    const issued: Array<{ kid: string; at: number }> = [];
    while (Date.now() < rotatedAt + graceSeconds * 1000 + 1_500) {
      for (const url of urls) {
        const token = await tokenFrom(url, app);
        const at = Date.now() - rotatedAt;
        issued.push({ kid: kidOf(token), at });
        for (const published of await Promise.all(urls.map(publishedKids))) expect(published).toContain(kidOf(token));
        tokens.push(token);
      }
      for (const token of tokens.slice(-6)) {
        for (const url of urls) expect(await activeOn(url, app, token)).toBe(true);
      }
      await sleep(200);
    }
    // The old key signed during the grace period, the new one after it, on both nodes.
    expect(issued.filter((t) => t.at < graceSeconds * 1000 - 300).every((t) => t.kid === oldKid)).toBe(true);
    expect(issued.filter((t) => t.at > graceSeconds * 1000 + 500).every((t) => t.kid === newKid)).toBe(true);
    expect(issued.filter((t) => t.at > graceSeconds * 1000 + 500)).not.toHaveLength(0);
    // Tokens of the old key still verify everywhere.
    for (const token of firstTokens) for (const url of urls) expect(await activeOn(url, app, token)).toBe(true);
  }, 60_000);
});
