import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { browser, formWithButton } from '../support/browser.js';
import { ADMIN } from '../support/constants.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { logIn, namedForm, openPage } from './pages.js';

let server: TestServer;
let url: string;
let admin: ReturnType<typeof browser>;
let developer: ReturnType<typeof browser>;
let token: string;
/** The application the tests below take through its stages. */
let app: { id: string; clientId: string };
/** Its client secret, from the last rotation. */
let secret: string;

const SECRET_BLOCK = /<h2 id="secret-heading">Client secret<\/h2>\s*<p><code>([^<]+)<\/code><\/p>/;
const detail = () => openPage(developer, `${url}/console/applications/${app.id}`);
const compatToken = (clientSecret: string) => server.api.post('/openapi/v1/token', { clientId: app.clientId, clientSecret });

beforeAll(async () => {
  server = await startTestServer();
  url = server.portico.url;
  token = (await server.developer('app-maker')).token;
  await server.api.post('/api/v1/consumers', { name: 'storefront' }, { token });
  developer = await logIn(url, 'app-maker', 'app-maker-password-1');
  admin = await logIn(url, ADMIN.username, ADMIN.password);
});
afterAll(async () => { await server?.stop(); });

describe('the console\'s application pages', () => {
  it('create an application through the form and show its secret only on the answer to that post', async () => {
    const list = await openPage(developer, `${url}/console/applications`);
    expect(list.html).toContain('<a href="/console/applications" aria-current="page">Applications</a>');
    expect(list.html).toContain('No applications yet.');
    expect(list.html).toMatch(/<option value="[^"]+">storefront<\/option>/);
    const form = formWithButton(list.html, 'Create application');

    const refused = await developer.submit(form.action, url, { ...form.fields, name: 'Shop', redirectUris: 'http://shop.example/cb' });
    expect(refused.res.status).toBe(400);
    const again = await refused.res.text();
    expect(again).toContain('redirectUris.0: must be https');
    expect(again).toContain('value="Shop"');

    const consumers = (await server.api.get('/api/v1/consumers', { token })).body.items as Array<{ id: string; name: string }>;
    const storefront = consumers.find((c) => c.name === 'storefront')!;
    const created = await developer.submit(form.action, url, {
      ...form.fields, name: 'Shop', redirectUris: 'https://shop.example/cb\r\n\r\nhttp://localhost:8080/cb\r\n', consumerId: storefront.id,
    });
    expect(created.res.status).toBe(201);
    expect(created.url).toBe(`${url}/console/applications`); // no redirect: the secret is in this answer only
    const html = await created.res.text();
    expect(html).toContain('Application created.');
    const secret = SECRET_BLOCK.exec(html)![1]!;

    const [listed] = (await server.api.get('/api/v1/applications', { token })).body.items;
    app = listed;
    expect(listed).toMatchObject({ name: 'Shop', stage: 'development', dailyQuota: 5000, consumerId: storefront.id, redirectUris: ['https://shop.example/cb', 'http://localhost:8080/cb'] });
    expect(html).toContain(`<code>${app.clientId}</code>`);
    expect((await compatToken(secret)).body.code).toBe(1000);

    const page = await detail();
    expect(page.status).toBe(200);
    expect(page.html).not.toContain(secret);
    expect(page.html).not.toContain('secret-heading');
    expect(page.html).toContain('<span class="badge development">development</span>');
    expect(page.html).toContain(`<code>${app.clientId}</code>`);
    expect(page.html).toContain('<dd>storefront</dd>');
    expect(page.html).toContain('<dd>5,000 calls</dd>');
    const chart = /<svg class="usage-chart"[\s\S]*?<\/svg>/.exec(page.html)![0];
    expect(chart.match(/<rect /g)).toHaveLength(30);
    expect(page.html).toMatch(/Today: <strong>\d+<\/strong> of 5,000 calls/);
    expect(page.html).toContain('<td>Created</td>');

    const listed2 = await openPage(developer, `${url}/console/applications`);
    expect(listed2.html).toContain(`<a href="/console/applications/${app.id}">Shop</a>`);
    expect(listed2.html).not.toContain(secret);
  });

  it('rotate the secret, showing the new one once', async () => {
    const rotate = formWithButton((await detail()).html, 'Rotate secret');
    const rotated = await developer.submit(rotate.action, url, rotate.fields);
    expect(rotated.res.status).toBe(200);
    const html = await rotated.res.text();
    expect(html).toContain('Secret rotated.');
    secret = SECRET_BLOCK.exec(html)![1]!;
    expect((await compatToken(secret)).body.code).toBe(1000);
    expect((await detail()).html).not.toContain(secret);
  });

  it('edit the name and redirect URIs through the form: a refused URI keeps the values, an empty list means none', async () => {
    const page = await detail();
    expect(page.html).toContain('https://shop.example/cb\nhttp://localhost:8080/cb</textarea>');
    const edit = formWithButton(page.html, 'Save changes');
    expect(edit.action).toBe(`/console/applications/${app.id}`);

    const refused = await developer.submit(edit.action, url, { ...edit.fields, name: 'Corner shop', redirectUris: 'https://shop.example/cb\r\nhttp://shop.example/cb' });
    expect(refused.res.status).toBe(400);
    const again = await refused.res.text();
    expect(again).toContain('redirectUris.1: must be https');
    expect(again).toContain('value="Corner shop"');
    expect(again).toContain('https://shop.example/cb\r\nhttp://shop.example/cb</textarea>');
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body.name).toBe('Shop');

    const renamed = await developer.submit(edit.action, url, { ...edit.fields, name: 'Corner shop', redirectUris: '' });
    expect(renamed.url).toBe(`${url}/console/applications/${app.id}?notice=application-saved`);
    const html = await renamed.res.text();
    expect(html).toContain('Application saved.');
    expect(html).toContain('<h1>Corner shop</h1>');
    expect(html).toContain('<span class="muted">none</span>');
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body).toMatchObject({ name: 'Corner shop', redirectUris: [] });

    await developer.submit(edit.action, url, { ...edit.fields, name: 'Shop', redirectUris: 'https://shop.example/cb\r\n\r\nhttp://localhost:8080/cb\r\n' });
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body).toMatchObject({ name: 'Shop', redirectUris: ['https://shop.example/cb', 'http://localhost:8080/cb'] });
    expect((await detail()).html).toContain('<td>Changed</td>');
  });

  it('go live through the form once every redirect URI is https; an admin approves it in the queue', async () => {
    const goLive = formWithButton((await detail()).html, 'Go live');
    const refused = await developer.submit(goLive.action, url, goLive.fields);
    expect(refused.res.status).toBe(409);
    expect(await refused.res.text()).toContain('change these first: http://localhost:8080/cb.');

    await server.api.patch(`/api/v1/applications/${app.id}`, { redirectUris: ['https://shop.example/cb'] }, { token });
    const asked = await developer.submit(goLive.action, url, goLive.fields);
    expect(asked.url).toBe(`${url}/console/applications/${app.id}?notice=go-live-requested`);
    const waiting = await asked.res.text();
    expect(waiting).toContain('<span class="badge review">review</span>');
    expect(waiting).toContain('Waiting for an administrator\'s review.');
    expect(waiting).not.toContain('>Go live</button>');
    expect(waiting).toContain('Go-live requested <span class="muted">(development → review)</span>');

    const queue = await openPage(admin, `${url}/admin`);
    const approve = namedForm(queue.html, 'Approve application Shop of app-maker', 'Approve');
    expect(approve.action).toBe(`/admin/applications/${app.id}/approve`);
    const approved = await admin.submit(approve.action, url, approve.fields);
    expect(approved.url).toBe(`${url}/admin?notice=approved`);
    expect(await approved.res.text()).not.toContain('Approve application Shop');

    const online = await detail();
    expect(online.html).toContain('<span class="badge online">online</span>');
    expect(online.html).toContain('<dd>100,000 calls</dd>');
    expect(online.html).toMatch(/Go-live approved <span class="muted">\(review → online\)<\/span><\/td>\s*<td>administrator<\/td>/);
  });

  it('refuse an http loopback redirect URI once the application is online, keeping the values', async () => {
    const edit = formWithButton((await detail()).html, 'Save changes');
    const refused = await developer.submit(edit.action, url, { ...edit.fields, name: 'Shop', redirectUris: 'https://shop.example/cb\r\nhttp://localhost:8080/cb' });
    expect(refused.res.status).toBe(400);
    const again = await refused.res.text();
    expect(again).toContain('redirectUris.1: must be https (http only for localhost, 127.0.0.1 or [::1] while in development)');
    expect(again).toContain('https://shop.example/cb\r\nhttp://localhost:8080/cb</textarea>');
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body.redirectUris).toEqual(['https://shop.example/cb']);
  });

  it('refuse a quota raise below 80 % with the figures, accept it from 80 %, and show the figure the admin granted', async () => {
    const form = namedForm((await detail()).html, 'Request a higher quota', 'Request a higher quota');
    const early = await developer.submit(form.action, url, { ...form.fields, dailyQuota: '250000', reason: 'Launch week' });
    expect(early.res.status).toBe(409);
    const refusal = await early.res.text();
    expect(refusal).toMatch(/Today&#39;s use is \d+ of 100,000 calls \(0\.0 %\); a raise can be requested from 80 % \(80,000 calls\)\./);
    expect(refusal).toContain('value="250000"');
    expect(refusal).toContain('Launch week</textarea>');

    for (let i = 0; i < 80_000; i += 1) await server.portico.services.usage.consume({ kind: 'application', id: app.id }, 100_000);
    const asked = await developer.submit(form.action, url, { ...form.fields, dailyQuota: '250000', reason: 'Launch week' });
    expect(asked.url).toBe(`${url}/console/applications/${app.id}?notice=quota-requested`);
    const pending = await asked.res.text();
    expect(pending).toContain('Your request for 250,000 calls a day is waiting for an administrator.');
    expect(pending).toContain('<span class="badge pending">pending</span>');
    expect(pending).not.toContain('>Request a higher quota</button>');
    expect(pending).toMatch(/Today: <strong>80,0\d\d<\/strong> of 100,000 calls \(80\.0 %\)/);
    expect(pending).toContain('class="bar high"');

    const queue = await openPage(admin, `${url}/admin`);
    const approve = namedForm(queue.html, 'Approve quota request of Shop of app-maker', 'Approve');
    const granted = await admin.submit(approve.action, url, { ...approve.fields, dailyQuota: '200000' });
    expect(granted.url).toBe(`${url}/admin?notice=approved`);
    expect(await granted.res.text()).toContain('No quota request is waiting.');

    const raised = await detail();
    expect(raised.html).toContain('<dd>200,000 calls</dd>');
    expect(raised.html).toContain('<span class="badge approved">approved</span>');
    expect(raised.html).toContain('granted: 200,000');
    expect(raised.html).toContain('>Request a higher quota</button>'); // no open request any more
  });

  it('refuse posts without the CSRF field and change nothing', async () => {
    const before = (await server.api.get(`/api/v1/applications/${app.id}`, { token })).body;
    for (const [path, fields] of [
      ['/console/applications', { name: 'No token' }],
      [`/console/applications/${app.id}`, { name: 'No token', redirectUris: '' }],
      [`/console/applications/${app.id}/delete`, {}],
      [`/console/applications/${app.id}/delete`, { _csrf: 'forged' }],
      [`/console/applications/${app.id}/secret`, {}],
      [`/console/applications/${app.id}/go-live`, {}],
      [`/console/applications/${app.id}/quota-requests`, { dailyQuota: '500000', reason: 'x' }],
      [`/console/applications/${app.id}/quota-requests`, { _csrf: 'forged', dailyQuota: '500000', reason: 'x' }],
      [`/admin/applications/${app.id}/suspend`, { reason: 'no token' }],
    ] as const) {
      const res = await (path.startsWith('/admin') ? admin : developer).submit(path, url, fields);
      expect([path, res.res.status]).toEqual([path, 403]);
    }
    expect((await server.api.get('/api/v1/applications', { token })).body.items).toHaveLength(1);
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body).toEqual(before);
    expect((await compatToken('wrong')).body.code).toBe(1101); // the client still exists, not suspended
  });

  it('answer 404 for another developer\'s application, and 400 for an id that is not one', async () => {
    await server.developer('app-snoop');
    const snoop = await logIn(url, 'app-snoop', 'app-snoop-password-1');
    const page = await openPage(snoop, `${url}/console/applications/${app.id}`);
    expect(page.status).toBe(404);
    expect(page.html).toContain('No such application.');
    expect((await openPage(snoop, `${url}/console/applications`)).html).not.toContain('Shop');

    const list = await openPage(snoop, `${url}/console/applications`);
    const csrf = formWithButton(list.html, 'Create application').fields._csrf!;
    expect((await snoop.submit(`/console/applications/${app.id}/secret`, url, { _csrf: csrf })).res.status).toBe(404);
    expect((await snoop.submit(`/console/applications/${app.id}/go-live`, url, { _csrf: csrf })).res.status).toBe(404);
    expect((await snoop.submit(`/console/applications/${app.id}`, url, { _csrf: csrf, name: 'Mine now', redirectUris: '' })).res.status).toBe(404);
    expect((await openPage(snoop, `${url}/console/applications/${app.id}/delete`)).status).toBe(404);
    expect((await snoop.submit(`/console/applications/${app.id}/delete`, url, { _csrf: csrf })).res.status).toBe(404);
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).body.name).toBe('Shop');
    expect((await openPage(snoop, `${url}/console/applications/not-an-id`)).status).toBe(400);
  });

  it('delete the application after the confirmation page', async () => {
    const page = await detail();
    expect(page.html).toContain(`<a class="button secondary" href="/console/applications/${app.id}/delete">Delete application</a>`);
    const confirm = await openPage(developer, `${url}/console/applications/${app.id}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('<h1>Delete application Shop?</h1>');
    expect(confirm.html).toContain(`<a class="button secondary" href="/console/applications/${app.id}">Keep it</a>`);

    expect((await compatToken(secret)).body.code).toBe(1000);
    const remove = formWithButton(confirm.html, 'Delete application');
    const deleted = await developer.submit(remove.action, url, remove.fields);
    expect(deleted.url).toBe(`${url}/console/applications?notice=application-deleted`);
    const html = await deleted.res.text();
    expect(html).toContain('Application deleted.');
    expect(html).toContain('No applications yet.');
    expect((await server.api.get(`/api/v1/applications/${app.id}`, { token })).status).toBe(404);
    expect((await detail()).status).toBe(404);
    expect((await compatToken(secret)).body.code).toBe(1101); // the client is gone
  });
});
