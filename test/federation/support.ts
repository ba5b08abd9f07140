import { browser, formWithButton, type Browser } from '../support/browser.js';
import type { TestServer } from '../support/server.js';

/**
 * Clicks "Log in with <name>" on the portal's log-in page (at the issuer's host, localhost, apart
 * from the providers' 127.0.0.1); with `stopAtCallback`, stops before Portico's callback.
 */
export async function portalSso(server: TestServer, name: string, options: { browser?: Browser; stopAtCallback?: boolean } = {}) {
  const b = options.browser ?? browser();
  const site = server.portico.issuer;
  const login = await b.open(`${site}/login`);
  const form = formWithButton(await login.res.text(), `Log in with ${name}`);
  const done = await b.submit(form.action, login.url, form.fields, options.stopAtCallback ? `${site}/sso/` : undefined);
  return { ...done, browser: b };
}

/** The account of the browser's portal session, if it has one. */
export async function sessionAccount(server: TestServer, b: Browser) {
  const { res } = await b.open(`${server.portico.issuer}/api/v1/me`);
  return res.status === 200 ? ((await res.json()) as { account: { id: string; username: string; email: string | null; status: string; role: string } }).account : undefined;
}

/** Registers a provider through the admin API and returns its answer. */
export async function registerProvider(server: TestServer, body: Record<string, unknown>) {
  const res = await server.api.post('/api/v1/admin/identity-providers', body, { token: await server.adminToken() });
  if (res.status !== 201) throw new Error(`registering ${String(body.slug)} failed: ${res.status} ${res.text}`);
  return res.body as { id: string; slug: string; redirectUri: string };
}
