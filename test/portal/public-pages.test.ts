import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { browser, formWithButton } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let admin: string;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.adminToken();
  for (const [slug, type, category, name] of [['page-chat', 'model', 'Text', 'Page Chat'], ['page-agent', 'agent', 'Support', 'Helpdesk Agent'], ['page-mcp', 'mcp', 'Data', 'Weather Tools']]) {
    await server.api.post('/api/v1/admin/products', { slug, name, type, category, routePrefix: `/pages/${slug}`, description: `About ${name}` }, { token: admin });
  }
});
afterAll(async () => { await server?.stop(); });

/** Signs up through the form and returns the logged-in browser. */
async function signUp(username: string) {
  const b = browser();
  const { res } = await b.open(`${server.portico.url}/signup`);
  const form = formWithButton(await res.text(), 'Sign up');
  const done = await b.submit(form.action, server.portico.url, { ...form.fields, username, password: `${username}-password-1` });
  return { b, landing: done };
}

describe('portal pages', () => {
  it('the catalog has type tabs, a category filter and search, all without JavaScript', async () => {
    const b = browser();
    const home = await (await b.open(`${server.portico.url}/`)).res.text();
    expect(home).toContain('<a href="/" aria-current="page">All</a>');
    expect(home).toMatch(/Page Chat[\s\S]*Helpdesk Agent|Helpdesk Agent[\s\S]*Page Chat/);
    const agents = await (await b.open(`${server.portico.url}/?type=agent`)).res.text();
    expect(agents).toContain('<a href="/?type=agent" aria-current="page">Agent</a>');
    expect(agents).toContain('Helpdesk Agent');
    expect(agents).not.toContain('Page Chat');
    expect(agents).toContain('<option>Support</option>');
    const found = await (await b.open(`${server.portico.url}/?q=weath&category=`)).res.text(); // as the form sends it
    expect(found).toContain('Weather Tools');
    expect(found).not.toContain('Helpdesk Agent');
    const bad = await b.open(`${server.portico.url}/?type=robot`);
    expect(bad.res.status).toBe(400);
    expect(bad.res.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('a product page renders markdown safely and escapes everything else', async () => {
    await server.api.post('/api/v1/admin/products', {
      slug: 'page-xss', name: '<script>alert("name")</script>', type: 'model', category: 'Test', routePrefix: '/pages/xss',
      overview: '**Bold** <script>alert(1)</script> [x](javascript:alert(2))', guide: '<img src=x onerror=alert(3)>',
      sampleRequests: [{ title: 'Sample', request: '</code><script>alert(4)</script>' }],
    }, { token: admin });
    const { res } = await browser().open(`${server.portico.url}/products/page-xss`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('<strong>Bold</strong>');
    expect(html).not.toMatch(/<script|<img|href="javascript:/i);
    expect(html).toContain('&lt;/code&gt;&lt;script&gt;');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('Log in</a> to subscribe');
    expect((await browser().open(`${server.portico.url}/products/no-such-thing`)).res.status).toBe(404);
  });

  it('sign-up logs a newcomer in; under manual approval it says to wait', async () => {
    const { b, landing } = await signUp('page-newcomer');
    expect(landing.url).toBe(`${server.portico.url}/console/consumers?notice=signed-up`);
    const console = await landing.res.text();
    expect(console).toContain('Welcome! Your account is ready.');
    expect(console).toContain('default');
    expect(b.cookiesOf(server.portico.url).has('portico_session')).toBe(true);

    await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: admin });
    const { landing: waiting } = await signUp('page-waiting');
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: admin });
    expect(await waiting.res.text()).toContain('waiting for approval');

    const { landing: taken } = await signUp('page-newcomer');
    expect(taken.res.status).toBe(409);
    expect(await taken.res.text()).toContain('This username is taken.');
  });

  it('log in goes back to the page asked for, never to another site; log out ends the session', async () => {
    await server.developer('page-login');
    const b = browser();
    const { res, url } = await b.open(`${server.portico.url}/console/subscriptions`);
    expect(url).toBe(`${server.portico.url}/login?next=%2Fconsole%2Fsubscriptions`);
    const form = formWithButton(await res.text(), 'Log in');
    expect(form.fields.next).toBe('/console/subscriptions');
    const wrong = await b.submit(form.action, server.portico.url, { ...form.fields, username: 'page-login', password: 'not-the-password' });
    expect(wrong.res.status).toBe(401);
    expect(await wrong.res.text()).toContain('Wrong username or password.');
    const ok = await b.submit(form.action, server.portico.url, { ...form.fields, username: 'page-login', password: 'page-login-password-1' });
    expect(ok.url).toBe(`${server.portico.url}/console/subscriptions`);

    const evil = browser();
    const evilForm = formWithButton(await (await evil.open(`${server.portico.url}/login?next=//evil.example`)).res.text(), 'Log in');
    const redirected = await evil.submit(evilForm.action, server.portico.url, { ...evilForm.fields, username: 'page-login', password: 'page-login-password-1' });
    expect(redirected.url).toBe(`${server.portico.url}/console/consumers`);

    const logout = formWithButton(await ok.res.text(), 'Log out');
    const out = await b.submit(logout.action, server.portico.url, logout.fields);
    expect(out.url).toBe(`${server.portico.url}/?notice=logged-out`);
    expect((await b.open(`${server.portico.url}/console/consumers`)).url).toContain('/login?next=');
  });

  it('hostile page input gets an HTML 4xx, never a 500', async () => {
    const { b } = await signUp('page-hostile');
    const url = server.portico.url;
    for (const path of ['/products/a%00b', `/products/${'x'.repeat(65)}`]) {
      const { res } = await b.open(`${url}${path}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
    }
    const product = await (await b.open(`${url}/products/page-chat`)).res.text();
    const subscribe = formWithButton(product, 'Subscribe');
    for (const consumerId of ['abc', '12345678-1234-1234-1234-1234567890ab', '']) {
      expect((await b.submit(subscribe.action, url, { ...subscribe.fields, consumerId })).res.status).toBe(400);
    }
    const odd = await (await b.open(`${url}/?notice=constructor`)).res.text();
    expect(odd).not.toContain('role="status"');
  });

  it('behind TLS ended by an untrusted proxy (https issuer), pages still set their cookies, marked Secure', async () => {
    const tls = await startTestServer({ env: { ISSUER: 'https://portal.example.com' } });
    try {
      const res = await fetch(`${tls.portico.url}/login`);
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie().join('\n')).toMatch(/portico_visitor=[^;]+;.*secure/i);
    } finally {
      await tls.stop();
    }
  });

  it('forms without the CSRF token are refused and change nothing', async () => {
    const { b } = await signUp('page-csrf');
    const post = (path: string, fields: Record<string, string>) => b.submit(path, server.portico.url, fields);
    expect((await post('/console/consumers', { name: 'sneaky' })).res.status).toBe(403);
    expect((await post('/console/consumers', { name: 'sneaky', _csrf: 'forged' })).res.status).toBe(403);
    expect((await post('/login', { username: 'page-csrf', password: 'page-csrf-password-1' })).res.status).toBe(403);
    const token = (await server.api.post('/api/v1/auth/login', { username: 'page-csrf', password: 'page-csrf-password-1' })).body.token;
    expect((await server.api.get('/api/v1/consumers', { token })).body.items.map((c: { name: string }) => c.name)).toEqual(['default']);
  });

  it('the console creates consumers and credentials, shows them, and deletes after confirmation', async () => {
    const { b, landing } = await signUp('page-console');
    const url = server.portico.url;
    const create = formWithButton(await landing.res.text(), 'Create consumer');
    const tooLong = await b.submit(create.action, url, { ...create.fields, name: 'x'.repeat(65) });
    expect(tooLong.res.status).toBe(400);
    expect(await tooLong.res.text()).toContain('name: Too big');
    const created = await b.submit(create.action, url, { ...create.fields, name: 'batch jobs', description: 'nightly' });
    expect(created.url).toBe(`${url}/console/consumers?notice=consumer-created`);
    const page = await created.res.text();
    expect(page).toContain('batch jobs');

    const token = (await server.api.post('/api/v1/auth/login', { username: 'page-console', password: 'page-console-password-1' })).body.token;
    const consumer = (await server.api.get('/api/v1/consumers', { token })).body.items.find((c: { name: string }) => c.name === 'batch jobs');
    const keyForm = [...page.matchAll(/<form method="post" action="([^"]+)" class="inline">\s*<input type="hidden" name="_csrf" value="([^"]+)">\s*<input type="hidden" name="type" value="api-key">/g)]
      .find((m) => m[1] === `/console/consumers/${consumer.id}/credentials`);
    const withKey = await b.submit(keyForm![1]!, url, { _csrf: keyForm![2]!, type: 'api-key' });
    const [credential] = (await server.api.get(`/api/v1/consumers/${consumer.id}/credentials`, { token })).body.items;
    expect(await withKey.res.text()).toContain(`<code>${credential.apiKey}</code>`);

    const confirm = await b.open(`${url}/console/consumers/${consumer.id}/delete`);
    const confirmHtml = await confirm.res.text();
    expect(confirmHtml).toContain('revokes its credentials at once');
    const del = formWithButton(confirmHtml, 'Delete consumer');
    const deleted = await b.submit(del.action, url, del.fields);
    expect(deleted.url).toBe(`${url}/console/consumers?notice=consumer-deleted`);
    expect(await server.portico.services.credentials.findApiKeyOwner(credential.apiKey)).toBeUndefined();
    const stranger = await signUp('page-console-stranger');
    expect((await stranger.b.open(`${url}/console/consumers/${(await server.api.get('/api/v1/consumers', { token })).body.items[0].id}/delete`)).res.status).toBe(404);
  });

  it('subscribes from the product page and cancels from the console', async () => {
    const { b } = await signUp('page-subscriber');
    const url = server.portico.url;
    const product = await (await b.open(`${url}/products/page-agent`)).res.text();
    const subscribe = formWithButton(product, 'Subscribe');
    const consumerId = /<option value="([^"]+)" selected>default<\/option>/.exec(product)![1]!;
    const done = await b.submit(subscribe.action, url, { ...subscribe.fields, consumerId });
    expect(done.url).toBe(`${url}/console/subscriptions?notice=subscribed`);
    const list = await done.res.text();
    expect(list).toContain('Helpdesk Agent');
    expect(list).toContain('<span class="badge approved">approved</span>');
    const again = await b.submit(subscribe.action, url, { ...subscribe.fields, consumerId });
    expect(again.res.status).toBe(409);
    const cancel = formWithButton(list, 'Cancel');
    const cancelled = await b.submit(cancel.action, url, cancel.fields);
    expect(await cancelled.res.text()).toContain('<span class="badge cancelled">cancelled</span>');
  });
});
