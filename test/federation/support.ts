import { formWithButton } from '../support/browser.js';
import type { TestServer } from '../support/server.js';

/**
 * A browser for flows across sites: like test/support/browser.ts (cookies, redirects one by one,
 * forms, no JavaScript), but with one cookie jar per host, as a browser keeps them. Portico and
 * the upstream provider both run oidc-provider, whose cookies have the same names.
 */
export function siteBrowser() {
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (url: string) => {
    const host = new URL(url).hostname;
    if (!jars.has(host)) jars.set(host, new Map());
    return jars.get(host)!;
  };

  async function request(url: string, init: RequestInit = {}): Promise<Response> {
    const jar = jarOf(url);
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects until a page, or until the next URL starts with `stopAt` (not requested). */
  async function follow(res: Response, from: string, stopAt?: string): Promise<{ res: Response; url: string }> {
    let url = from;
    for (let hops = 0; hops < 15 && res.status >= 300 && res.status < 400; hops += 1) {
      url = new URL(res.headers.get('location')!, url).href;
      if (stopAt && url.startsWith(stopAt)) return { res, url };
      res = await request(url);
    }
    return { res, url };
  }

  return {
    cookiesOf: jarOf,
    async open(url: string, stopAt?: string) {
      return follow(await request(url), url, stopAt);
    },
    async submit(action: string, base: string, fields: Record<string, string>, stopAt?: string) {
      const url = new URL(action, base).href;
      const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
      return follow(res, url, stopAt);
    },
  };
}
export type SiteBrowser = ReturnType<typeof siteBrowser>;

/**
 * Clicks "Log in with <name>" on the portal's log-in page (at the issuer's host, localhost, apart
 * from the providers' 127.0.0.1); with `stopAtCallback`, stops before Portico's callback.
 */
export async function portalSso(server: TestServer, name: string, options: { browser?: SiteBrowser; stopAtCallback?: boolean } = {}) {
  const b = options.browser ?? siteBrowser();
  const site = server.portico.issuer;
  const login = await b.open(`${site}/login`);
  const form = formWithButton(await login.res.text(), `Log in with ${name}`);
  const done = await b.submit(form.action, login.url, form.fields, options.stopAtCallback ? `${site}/sso/` : undefined);
  return { ...done, browser: b };
}

/** The account of the browser's portal session, if it has one. */
export async function sessionAccount(server: TestServer, b: SiteBrowser) {
  const { res } = await b.open(`${server.portico.issuer}/api/v1/me`);
  return res.status === 200 ? ((await res.json()) as { account: { id: string; username: string; email: string | null; status: string; role: string } }).account : undefined;
}

/** Registers a provider through the admin API and returns its answer. */
export async function registerProvider(server: TestServer, body: Record<string, unknown>) {
  const res = await server.api.post('/api/v1/admin/identity-providers', body, { token: await server.adminToken() });
  if (res.status !== 201) throw new Error(`registering ${String(body.slug)} failed: ${res.status} ${res.text}`);
  return res.body as { id: string; slug: string; redirectUri: string };
}
