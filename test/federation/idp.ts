import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import Koa from 'koa';
import mount from 'koa-mount';
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';

/**
 * Upstream identity providers for the federation tests, on their own loopback ports: a real
 * oidc-provider instance (the enterprise IdP), and a hand-made one whose ID tokens can be wrong on
 * purpose. Their issuers use 127.0.0.1 while Portico's uses localhost, so a browser keeps their
 * cookies apart.
 */

export interface IdpUser { sub: string; preferred_username?: string; email?: string; email_verified?: boolean; name?: string }
export interface IdpClient { client_id: string; client_secret: string; redirect_uris: string[] }

async function listen(): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: http.Server): Promise<void> {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await closed;
}

/** oidc-provider's storage, in memory (its own development adapter warns on every start). */
function memoryAdapter() {
  const store = new Map<string, AdapterPayload>();
  return class MemoryAdapter implements Adapter {
    constructor(private readonly model: string) {}
    private key(id: string) { return `${this.model}:${id}`; }
    async upsert(id: string, payload: AdapterPayload) { store.set(this.key(id), payload); }
    async find(id: string) { return store.get(this.key(id)); }
    async findByUid(uid: string) { return [...store.entries()].find(([k, v]) => k.startsWith(`${this.model}:`) && v.uid === uid)?.[1]; }
    async findByUserCode() { return undefined; }
    async consume(id: string) { const p = store.get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id: string) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId: string) { for (const [k, v] of store) if (v.grantId === grantId) store.delete(k); }
  };
}

const COOKIE_KEYS = ['test-idp-cookie-key'];

export interface TestIdp {
  issuer: string;
  /** Who the next login at this provider signs in as; null: the person declines (error=access_denied). */
  signInAs: string | null;
  close(): Promise<void>;
}

async function formOf(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

const LOGIN_PAGE = (uid: string, error = '') => `<!doctype html><html lang="en"><head><title>Corp sign-in</title></head><body>
<h1>Corp sign-in</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login"><label>Username <input name="username"></label><button type="submit">Sign in</button></form>
</body></html>`;

/**
 * The enterprise IdP: oidc-provider with a statically registered client and test users. It logs
 * the user named by `signInAs` in at once, or, with `loginPage`, asks for a username on a page of
 * its own (for a real browser). Consent is given at once. Profile claims come from userinfo, as
 * oidc-provider's defaults give them (not in an ID token issued with an access token).
 */
export async function startIdp(options: { clients: IdpClient[]; users: IdpUser[]; loginPage?: boolean }): Promise<TestIdp> {
  const { server, origin } = await listen();
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const users = new Map(options.users.map((u) => [u.sub, u]));
  const provider = new Provider(origin, {
    adapter: memoryAdapter(),
    clients: options.clients as never,
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'idp-key', alg: 'RS256', use: 'sig' }] as never },
    cookies: { keys: COOKIE_KEYS },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    ttl: { AccessToken: 300, AuthorizationCode: 60, Grant: 3600, IdToken: 300, Interaction: 600, Session: 3600 },
    async findAccount(_ctx, sub) {
      const user = users.get(sub);
      return user && { accountId: sub, claims: async () => ({ ...user }) };
    },
  });
  const idp: TestIdp = { issuer: origin, signInAs: null, close: () => stop(server) };

  // The provider's cookies are set through this app's context (koa-mount): the same signing keys.
  const app = new Koa({ keys: COOKIE_KEYS });
  app.use(async (ctx, next) => {
    const posted = /^\/interaction\/[^/]+\/login$/.test(ctx.path) && ctx.method === 'POST';
    if (!posted && !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result: Record<string, unknown>;
    if (details.prompt.name === 'login' && options.loginPage) {
      const username = posted ? (await formOf(ctx.req)).get('username') : undefined;
      const user = [...users.values()].find((u) => u.preferred_username === username);
      if (!user) {
        ctx.type = 'html';
        ctx.body = LOGIN_PAGE(details.uid, posted ? 'Unknown user.' : '');
        return undefined;
      }
      result = { login: { accountId: user.sub } };
    } else if (details.prompt.name === 'login') {
      result = idp.signInAs ? { login: { accountId: idp.signInAs } } : { error: 'access_denied', error_description: 'The user declined.' };
    } else {
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      result = { consent: { grantId: await grant.save() } };
    }
    ctx.status = 303;
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
  });
  app.use(mount(provider));
  server.on('request', app.callback());
  return idp;
}

/** What the hand-made IdP does wrong in the ID token it issues. */
export type Tamper = 'none' | 'unpublished-key' | 'issuer' | 'audience' | 'expired' | 'nonce';

export interface FakeIdp { issuer: string; tamper: Tamper; close(): Promise<void> }

/**
 * A minimal OpenID provider by hand: discovery, JWKS, an authorization endpoint that answers at
 * once with a code, and a token endpoint whose ID token (claims in it, no userinfo) is made wrong
 * as `tamper` says: signed by a key it does not publish (same kid), for another issuer or
 * audience, expired, or with another nonce.
 */
export async function startFakeIdp(options: { clientId: string; user: IdpUser }): Promise<FakeIdp> {
  const { server, origin } = await listen();
  const published = await generateKeyPair('RS256', { extractable: true });
  const unpublished = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(published.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce: string }>();
  const fake: FakeIdp = { issuer: origin, tamper: 'none', close: () => stop(server) };

  async function idToken(nonce: string): Promise<string> {
    const t = fake.tamper;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...options.user, nonce: t === 'nonce' ? 'another-nonce' : nonce })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(t === 'issuer' ? 'http://127.0.0.1:1' : origin)
      .setAudience(t === 'audience' ? 'another-client' : options.clientId)
      .setIssuedAt(t === 'expired' ? now - 7200 : now)
      .setExpirationTime(t === 'expired' ? now - 3600 : now + 300)
      .sign(t === 'unpublished-key' ? unpublished.privateKey : published.privateKey);
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url!, origin);
    const json = (body: unknown) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(body)); };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json({
        issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks`,
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'], code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') return json({ keys: [publicJwk] });
    if (url.pathname === '/authorize') {
      const code = `code-${codes.size + 1}`;
      codes.set(code, { nonce: url.searchParams.get('nonce') ?? '' });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.statusCode = 303;
      res.setHeader('location', back.href);
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        const issued = codes.get(new URLSearchParams(body).get('code') ?? '');
        if (!issued) { res.statusCode = 400; return json({ error: 'invalid_grant' }); }
        idToken(issued.nonce).then((id_token) => json({ access_token: 'opaque-access-token', token_type: 'Bearer', expires_in: 300, id_token }));
      });
      return undefined;
    }
    res.statusCode = 404;
    return res.end();
  });
  return fake;
}

/** A server answering every request with this status and body (discovery documents that are wrong). */
export async function startStaticServer(answer: (origin: string) => { status: number; body: string }): Promise<{ origin: string; close(): Promise<void> }> {
  const { server, origin } = await listen();
  server.on('request', (_req, res) => {
    const { status, body } = answer(origin);
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  return { origin, close: () => stop(server) };
}
