import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { browser, formWithButton } from '../support/browser.js';
import { ADMIN } from '../support/constants.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { logIn as logInAt, namedForm, openPage } from './pages.js';

let server: TestServer;
let url: string;
let adminToken: string;
let admin: ReturnType<typeof browser>;

const logIn = (username: string, password: string) => logInAt(url, username, password);
const page = (path: string) => openPage(admin, `${url}${path}`);

beforeAll(async () => {
  server = await startTestServer();
  url = server.portico.url;
  adminToken = await server.adminToken();
  admin = await logIn(ADMIN.username, ADMIN.password);
});
afterAll(async () => { await server?.stop(); });

describe('admin pages', () => {
  it('refuse a developer with a 403 page and send an anonymous visitor to log in', async () => {
    await server.developer('adm-outsider');
    const developer = await logIn('adm-outsider', 'adm-outsider-password-1');
    const refused = await developer.open(`${url}/admin/settings`);
    expect(refused.res.status).toBe(403);
    expect(refused.res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await refused.res.text()).toContain('This page is for administrators.');

    const anonymous = await browser().open(`${url}/admin/products`, `${url}/login`);
    expect(anonymous.url).toBe(`${url}/login?next=%2Fadmin%2Fproducts`);
    const post = await browser().submit('/admin/settings', url, { developerApproval: 'manual' }, `${url}/login`);
    expect(post.url).toBe(`${url}/login?next=%2Fadmin`);
    expect((await server.api.get('/api/v1/admin/settings', { token: adminToken })).body.developerApproval).toBe('auto');
  });

  it('approves a pending developer from the queue', async () => {
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'manual' }, { token: adminToken });
    const registered = await server.api.post('/api/v1/developers', { username: 'adm-pending', password: 'adm-pending-password-1' });
    await server.api.put('/api/v1/admin/settings', { developerApproval: 'auto' }, { token: adminToken });
    expect(registered.body.status).toBe('pending');

    const queue = await page('/admin');
    expect(queue.status).toBe(200);
    expect(queue.html).toContain('<nav class="tabs" aria-label="Administration">');
    expect(queue.html).toContain('<a href="/admin" aria-current="page">Queue</a>');
    const approve = namedForm(queue.html, 'Approve developer adm-pending', 'Approve');
    expect(approve.action).toBe(`/admin/developers/${registered.body.id}/approve`);
    const done = await admin.submit(approve.action, url, approve.fields);
    expect(done.url).toBe(`${url}/admin?notice=approved`);
    const after = await done.res.text();
    expect(after).toContain('Approved.');
    expect(after).not.toContain('Approve developer adm-pending');
    expect((await server.api.post('/api/v1/auth/login', { username: 'adm-pending', password: 'adm-pending-password-1' })).status).toBe(200);
  });

  it('rejects a pending subscription with a reason the developer sees', async () => {
    const product = (await server.api.post('/api/v1/admin/products', {
      slug: 'adm-manual', name: 'Manual Product', type: 'model', category: 'Text', routePrefix: '/adm/manual', subscriptionApproval: 'manual',
    }, { token: adminToken })).body;
    const developer = await server.developer('adm-subscriber');
    const [consumer] = (await server.api.get('/api/v1/consumers', { token: developer.token })).body.items;
    const requested = await server.api.post('/api/v1/subscriptions', { productId: product.id, consumerId: consumer.id }, { token: developer.token });
    expect(requested.body.status).toBe('pending');

    const queue = await page('/admin');
    const reject = namedForm(queue.html, 'Reject subscription of adm-subscriber to Manual Product', 'Reject');
    const done = await admin.submit(reject.action, url, { ...reject.fields, reason: 'Not for production use' });
    expect(done.url).toBe(`${url}/admin?notice=rejected`);
    expect(await done.res.text()).not.toContain('Reject subscription of adm-subscriber');
    const [mine] = (await server.api.get('/api/v1/subscriptions', { token: developer.token })).body.items;
    expect(mine).toMatchObject({ id: requested.body.id, status: 'rejected', reason: 'Not for production use' });
  });

  it('bans and unbans from the developers list, coming back to the same filter', async () => {
    const { id } = await server.developer('adm-banned');
    const active = await page('/admin/developers?status=active');
    expect(active.html).toContain('<a href="/admin/developers?status=active" aria-current="page">Active</a>');
    const ban = namedForm(active.html, 'Ban developer adm-banned', 'Ban');
    const banned = await admin.submit(ban.action, url, { ...ban.fields, reason: 'Abuse' });
    expect(banned.url).toBe(`${url}/admin/developers?status=active&notice=banned`);
    expect((await server.api.post('/api/v1/auth/login', { username: 'adm-banned', password: 'adm-banned-password-1' })).body.code).toBe('account_banned');

    const list = await page('/admin/developers?status=banned');
    expect(list.html).toContain('Reason: Abuse');
    const unban = namedForm(list.html, 'Unban developer adm-banned', 'Unban');
    expect(unban.action).toBe(`/admin/developers/${id}/unban`);
    const unbanned = await admin.submit(unban.action, url, { ...unban.fields, back: 'https://evil.example/' });
    expect(unbanned.url).toBe(`${url}/admin?notice=unbanned`);
    expect((await server.api.post('/api/v1/auth/login', { username: 'adm-banned', password: 'adm-banned-password-1' })).status).toBe(200);
  });

  it('creates a product through the form, edits it to a draft, then deletes it after confirmation', async () => {
    const samples = [{ title: 'Call it', request: 'POST /adm/form', response: '{"ok":true}' }];
    const form = formWithButton((await page('/admin/products/new')).html, 'Create product');
    const fields = {
      slug: 'adm-form', name: 'Form Tools', type: 'mcp', category: 'Tools', description: 'Made by a form', routePrefix: '/adm/form',
      resourceUri: 'https://mcp.example.com/form', status: 'published', subscriptionApproval: 'manual', overview: '# Overview', guide: 'Use it.',
      sampleRequests: JSON.stringify(samples),
    };
    const created = await admin.submit(form.action, url, { ...form.fields, ...fields });
    expect(created.url).toBe(`${url}/admin/products?notice=saved`);
    const list = await created.res.text();
    expect(list).toContain('Form Tools');
    const product = (await server.api.get('/api/v1/products/adm-form')).body;
    expect(product).toMatchObject({ type: 'mcp', resourceUri: 'https://mcp.example.com/form', subscriptionApproval: 'manual', overview: '# Overview', sampleRequests: samples });
    expect(list).toContain(`<a href="/admin/products/${product.id}" aria-label="Edit Form Tools">Edit</a>`);

    const editor = await page(`/admin/products/${product.id}`);
    expect(editor.html).toContain('value="adm-form"');
    expect(editor.html).toContain('<option value="manual" selected>manual</option>');
    const save = formWithButton(editor.html, 'Save product');
    const edited = await admin.submit(save.action, url, { ...save.fields, ...fields, status: 'draft', subscriptionApproval: '', resourceUri: '' });
    expect(edited.url).toBe(`${url}/admin/products?notice=saved`);
    expect(await edited.res.text()).toContain('<span class="badge draft">draft</span>');
    expect((await server.api.get('/api/v1/products/adm-form')).status).toBe(404);
    expect(await server.portico.services.catalog.get(product.id, { includeDrafts: true })).toMatchObject({ status: 'draft', subscriptionApproval: null, resourceUri: null });

    const confirm = await page(`/admin/products/${product.id}/delete`);
    expect(confirm.html).toContain('deletes every subscription to it');
    const del = formWithButton(confirm.html, 'Delete product');
    const deleted = await admin.submit(del.action, url, del.fields);
    expect(deleted.url).toBe(`${url}/admin/products?notice=deleted`);
    expect(await deleted.res.text()).not.toContain('Form Tools');
    await expect(server.portico.services.catalog.get(product.id, { includeDrafts: true })).rejects.toMatchObject({ status: 404 });
  });

  it('shows a clear error for sample requests that are not valid JSON, and creates nothing', async () => {
    const form = formWithButton((await page('/admin/products/new')).html, 'Create product');
    const fields = { slug: 'adm-bad-json', name: 'Bad JSON', type: 'model', category: 'Text', routePrefix: '/adm/bad-json', status: 'published', subscriptionApproval: '' };
    const bad = await admin.submit(form.action, url, { ...form.fields, ...fields, sampleRequests: '[{"title": "x",' });
    expect(bad.res.status).toBe(400);
    const html = await bad.res.text();
    expect(html).toContain('sampleRequests: is not valid JSON');
    expect(html).toContain('value="adm-bad-json"');
    expect(html).toContain('[{&quot;title&quot;: &quot;x&quot;,</textarea>');

    const incomplete = await admin.submit(form.action, url, { ...form.fields, ...fields, sampleRequests: '[{"title": "x"}]' });
    expect(incomplete.res.status).toBe(400);
    expect(await incomplete.res.text()).toContain('sampleRequests.0.request');
    expect((await server.api.get('/api/v1/products/adm-bad-json')).status).toBe(404);
  });

  it('rejects a go-live review and a quota request from the queue, with reasons the owner sees', async () => {
    const { token } = await server.developer('adm-apps');
    const create = async (name: string) => (await server.api.post('/api/v1/applications', { name }, { token })).body as { id: string };
    const hasty = await create('Hasty');
    const busy = await create('Busy');
    for (const app of [hasty, busy]) await server.api.post(`/api/v1/applications/${app.id}/go-live`, undefined, { token });
    await server.api.post(`/api/v1/admin/applications/${busy.id}/approve`, undefined, { token: adminToken });

    const queue = await page('/admin');
    const reject = namedForm(queue.html, 'Reject application Hasty of adm-apps', 'Reject');
    const rejected = await admin.submit(reject.action, url, { ...reject.fields, reason: 'Add a privacy policy' });
    expect(rejected.url).toBe(`${url}/admin?notice=rejected`);
    expect(await rejected.res.text()).not.toContain('Reject application Hasty');
    expect((await server.api.get(`/api/v1/applications/${hasty.id}`, { token })).body).toMatchObject({ stage: 'development', reviewNote: 'Add a privacy policy' });

    for (let i = 0; i < 80_000; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: busy.id }, 100_000);
    expect((await server.api.post(`/api/v1/applications/${busy.id}/quota-requests`, { dailyQuota: 1_000_000, reason: 'Sale' }, { token })).status).toBe(201);
    const withRequest = await page('/admin');
    expect(withRequest.html).toContain('100,000 → <strong>1,000,000</strong>');
    const refuse = namedForm(withRequest.html, 'Reject quota request of Busy of adm-apps', 'Reject');
    const refused = await admin.submit(refuse.action, url, { ...refuse.fields, reason: 'Too much at once' });
    expect(refused.url).toBe(`${url}/admin?notice=rejected`);
    const [request] = (await server.api.get(`/api/v1/applications/${busy.id}/quota-requests`, { token })).body.items;
    expect(request).toMatchObject({ status: 'rejected', decisionReason: 'Too much at once', grantedQuota: null });
    expect((await server.api.get(`/api/v1/applications/${busy.id}`, { token })).body.dailyQuota).toBe(100_000);
  });

  it('lists applications by stage, and suspends and reinstates one, coming back to the same filter', async () => {
    const online = await page('/admin/applications?stage=online');
    expect(online.html).toContain('<a href="/admin/applications" aria-current="page">Applications</a>');
    expect(online.html).toContain('<a href="/admin/applications?stage=online" aria-current="page">Online</a>');
    expect(online.html).toContain('Busy');
    expect(online.html).not.toContain('Hasty');
    const suspend = namedForm(online.html, 'Suspend application Busy of adm-apps', 'Suspend');
    const suspended = await admin.submit(suspend.action, url, { ...suspend.fields, reason: 'Abuse reports' });
    expect(suspended.url).toBe(`${url}/admin/applications?stage=online&notice=suspended`);
    const after = await suspended.res.text();
    expect(after).toContain('<span class="badge suspended">suspended</span>');
    expect(after).toContain('Reason: Abuse reports');

    const list = await page('/admin/applications?suspended=true');
    expect(list.html).toContain('<a href="/admin/applications?suspended=true" aria-current="page">Suspended</a>');
    const reinstate = namedForm(list.html, 'Reinstate application Busy of adm-apps', 'Reinstate');
    const reinstated = await admin.submit(reinstate.action, url, reinstate.fields);
    expect(reinstated.url).toBe(`${url}/admin/applications?suspended=true&notice=reinstated`);
    expect(await reinstated.res.text()).toContain('No applications here.');
    const audit = (await server.api.get('/api/v1/admin/audit?targetType=application', { token: adminToken })).body.items.map((e: { action: string }) => e.action);
    expect(audit.slice(0, 2)).toEqual(['application.reinstated', 'application.suspended']);
  });

  it('turns the loopback http exception on and off with a checkbox', async () => {
    const form = formWithButton((await page('/admin/settings')).html, 'Save settings');
    const checked = await admin.submit(form.action, url, { ...form.fields, developerApproval: 'auto', subscriptionApproval: 'auto', consumerDailyQuota: '100000', allowLoopbackHttpRedirects: 'true' });
    expect(checked.url).toBe(`${url}/admin/settings?notice=saved`);
    expect(await checked.res.text()).toMatch(/<input type="checkbox" name="allowLoopbackHttpRedirects" value="true"[^>]* checked>/);
    expect((await server.api.get('/api/v1/admin/settings', { token: adminToken })).body.allowLoopbackHttpRedirects).toBe(true);

    // Unchecked, the browser sends nothing: that means off.
    const unchecked = await admin.submit(form.action, url, { ...form.fields, developerApproval: 'auto', subscriptionApproval: 'auto', consumerDailyQuota: '100000' });
    expect(await unchecked.res.text()).not.toMatch(/name="allowLoopbackHttpRedirects"[^>]* checked>/);
    expect((await server.api.get('/api/v1/admin/settings', { token: adminToken })).body.allowLoopbackHttpRedirects).toBe(false);
  });

  it('saves settings through the form', async () => {
    const settings = await page('/admin/settings');
    expect(settings.html).toMatch(/<label>Developer approval\s*<select name="developerApproval"/);
    expect(settings.html).toMatch(/<label>Subscription approval\s*<select name="subscriptionApproval"/);
    const form = formWithButton(settings.html, 'Save settings');
    const invalid = await admin.submit(form.action, url, { ...form.fields, developerApproval: 'manual', subscriptionApproval: 'auto', consumerDailyQuota: '0' });
    expect(invalid.res.status).toBe(400);
    expect(await invalid.res.text()).toContain('consumerDailyQuota: Too small');

    const saved = await admin.submit(form.action, url, {
      ...form.fields, developerApproval: 'manual', subscriptionApproval: 'manual', consumerDailyQuota: '2500', clientRegistration: 'token', confidentialClientRegistration: 'true',
    });
    expect(saved.url).toBe(`${url}/admin/settings?notice=saved`);
    const savedHtml = await saved.res.text();
    expect(savedHtml).toContain('value="2500"');
    expect(savedHtml).toContain('<option value="token" selected>token</option>');
    expect(savedHtml).toMatch(/name="confidentialClientRegistration" value="true"[^>]* checked>/);
    const api = await server.api.get('/api/v1/admin/settings', { token: adminToken });
    expect(api.body).toEqual({ developerApproval: 'manual', subscriptionApproval: 'manual', consumerDailyQuota: 2500, allowLoopbackHttpRedirects: false, clientRegistration: 'token', confidentialClientRegistration: true });
    await server.api.put('/api/v1/admin/settings', {
      developerApproval: 'auto', subscriptionApproval: 'auto', consumerDailyQuota: 100_000, clientRegistration: 'open', confidentialClientRegistration: false,
    }, { token: adminToken });
  });

  it('refuses posts without the CSRF field and changes nothing', async () => {
    const { id } = await server.developer('adm-csrf');
    const post = (path: string, fields: Record<string, string>) => admin.submit(path, url, fields);
    expect((await post('/admin/settings', { developerApproval: 'manual', subscriptionApproval: 'manual', consumerDailyQuota: '5' })).res.status).toBe(403);
    expect((await post('/admin/settings', { _csrf: 'forged', developerApproval: 'manual' })).res.status).toBe(403);
    expect((await post(`/admin/developers/${id}/ban`, { reason: 'no token' })).res.status).toBe(403);
    expect((await post('/admin/products', { slug: 'adm-csrf', name: 'x', type: 'model', category: 'x', routePrefix: '/adm/csrf' })).res.status).toBe(403);
    expect((await server.api.get('/api/v1/admin/settings', { token: adminToken })).body).toEqual({ developerApproval: 'auto', subscriptionApproval: 'auto', consumerDailyQuota: 100_000, allowLoopbackHttpRedirects: false, clientRegistration: 'open', confidentialClientRegistration: false });
    expect((await server.api.post('/api/v1/auth/login', { username: 'adm-csrf', password: 'adm-csrf-password-1' })).status).toBe(200);
    expect((await server.api.get('/api/v1/products/adm-csrf')).status).toBe(404);
  });

  it('lists the actions done in the audit log, with filters', async () => {
    const log = await page('/admin/audit');
    expect(log.status).toBe(200);
    for (const action of ['account.approved', 'subscription.rejected', 'account.banned', 'account.unbanned', 'product.created', 'product.updated', 'product.deleted', 'settings.updated']) {
      expect(log.html).toContain(`<td>${action}</td>`);
    }
    expect(log.html).toContain('&quot;reason&quot;:&quot;Not for production use&quot;');

    const filtered = await page('/admin/audit?action=product.deleted&targetType=&targetId=');
    expect(filtered.status).toBe(200);
    expect(filtered.html).toContain('<td>product.deleted</td>');
    expect(filtered.html).not.toContain('<td>product.created</td>');
    expect(filtered.html).toContain('value="product.deleted"');

    // Enough events for a second page (50 a page); the oldest, the bootstrap admin, is on it.
    for (let quota = 1; quota <= 25; quota += 1) await server.api.put('/api/v1/admin/settings', { consumerDailyQuota: 1000 + quota }, { token: adminToken });
    const first = await page('/admin/audit');
    expect(first.html).not.toContain('<td>admin.created</td>');
    const more = /<a class="button secondary" href="([^"]+)">More<\/a>/.exec(first.html)![1]!;
    expect(more).toMatch(/^\/admin\/audit\?cursor=/);
    const second = await page(more.replace(/&amp;/g, '&'));
    expect(second.status).toBe(200);
    expect(second.html).toContain('<td>admin.created</td>');
  });
});
