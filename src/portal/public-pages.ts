import type Router from '@koa/router';
import type Koa from 'koa';
import { clearSessionCookies, setSessionCookies } from '../accounts/routes.js';
import { registerBody } from '../accounts/schemas.js';
import { renderMarkdown } from '../catalog/markdown.js';
import { idOrSlugParams, PRODUCT_TYPES, productListQuery } from '../catalog/schemas.js';
import { subscribeBody } from '../subscriptions/schemas.js';
import type { AppContext } from '../context.js';
import { AccountNotActive, InvalidCredentials, RateLimited } from '../http/errors.js';
import { actorOf, ownerOf, sessionOf } from '../http/session.js';
import { validate } from '../http/validate.js';
import type { Services } from '../services.js';
import { formError, formInput, formStatus } from './forms.js';
import { LOGIN_MESSAGES } from './notices.js';
import { safeNext, type PageSessions } from './page-session.js';

const subscribeForm = subscribeBody.pick({ consumerId: true });

const TYPE_LABELS = { model: 'Model', mcp: 'MCP', agent: 'Agent' } as const;

/** The catalog, product pages, sign-up, log in and log out. */
export function mountPublicPages(router: Router, ctx: AppContext, services: Services, pages: PageSessions): void {
  const secureCookies = ctx.issuer.startsWith('https:');

  async function startSession(koaCtx: Koa.Context, username: string, password: string): Promise<void> {
    const result = await services.sessions.login({ ...actorOf(koaCtx), userAgent: koaCtx.get('User-Agent') || null }, username, password);
    setSessionCookies(koaCtx, result.token, result.csrfToken, secureCookies);
  }

  router.get('/', async (koaCtx) => {
    // A GET form sends its empty fields too ("category="): they mean "any".
    koaCtx.query = Object.fromEntries(Object.entries(koaCtx.query).filter(([, value]) => value !== ''));
    const { query } = validate(koaCtx, { query: productListQuery });
    const [page, categories] = await Promise.all([services.catalog.list(query), services.catalog.categories(query.type)]);
    const tabs = [{ label: 'All', href: '/', current: !query.type }, ...PRODUCT_TYPES.map((type) => ({ label: TYPE_LABELS[type], href: `/?type=${type}`, current: query.type === type }))];
    const more = page.nextCursor ? `/?${new URLSearchParams({ ...(query.type ? { type: query.type } : {}), ...(query.category ? { category: query.category } : {}), ...(query.q ? { q: query.q } : {}), cursor: page.nextCursor })}` : null;
    await pages.render(koaCtx, 'catalog', { title: 'API catalog', products: page.items, tabs, categories, query, more, typeLabels: TYPE_LABELS });
  });

  router.get('/products/:idOrSlug', async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idOrSlugParams });
    const product = await services.catalog.get(params.idOrSlug);
    const session = await pages.current(koaCtx);
    const consumers = session ? await services.consumers.listOfAccount(session.account.id) : [];
    await pages.render(koaCtx, 'product', {
      title: product.name, product, typeLabel: TYPE_LABELS[product.type], consumers,
      overviewHtml: renderMarkdown(product.overview), guideHtml: renderMarkdown(product.guide),
    });
  });

  router.post('/products/:idOrSlug/subscribe', pages.requireLogin(), async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idOrSlugParams });
    const { consumerId } = formInput(subscribeForm, await pages.form(koaCtx));
    const product = await services.catalog.get(params.idOrSlug);
    const subscription = await services.subscriptions.subscribe(ownerOf(koaCtx), { productId: product.id, consumerId });
    pages.redirect(koaCtx, '/console/subscriptions', subscription.status === 'approved' ? 'subscribed' : 'subscription-pending');
  });

  router.get('/signup', async (koaCtx) => {
    await pages.render(koaCtx, 'signup', { title: 'Sign up', values: {} });
  });

  router.post('/signup', async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      const input = formInput(registerBody, fields);
      await services.rateLimits.admitRegistration(actorOf(koaCtx));
      const account = await services.accounts.register(actorOf(koaCtx), input);
      if (account.status === 'pending') {
        return await pages.render(koaCtx, 'signup-pending', { title: 'Waiting for approval', username: account.username });
      }
      await startSession(koaCtx, input.username, input.password);
      pages.redirect(koaCtx, '/console/consumers', 'signed-up');
    } catch (err) {
      if (err instanceof RateLimited) koaCtx.set('Retry-After', String(err.retryAfter));
      await pages.render(koaCtx, 'signup', { title: 'Sign up', error: formError(err), values: { username: fields.username, email: fields.email } }, formStatus(err));
    }
  });

  /** The log-in page's "Log in with <name>" buttons (federation/routes.ts starts the sign-in). */
  const ssoButtons = async () => ({ ssoProviders: await services.federation.enabledProviders(), ssoAction: '/login/sso/' });

  router.get('/login', async (koaCtx) => {
    await pages.render(koaCtx, 'signin', { title: 'Log in', next: safeNext(koaCtx.query.next), ...await ssoButtons() });
  });

  router.post('/login', async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    const next = safeNext(fields.next);
    try {
      await startSession(koaCtx, (fields.username ?? '').slice(0, 256), (fields.password ?? '').slice(0, 1024));
      pages.redirect(koaCtx, next);
    } catch (err) {
      if (!(err instanceof InvalidCredentials || err instanceof AccountNotActive || err instanceof RateLimited)) throw err;
      if (err instanceof RateLimited) koaCtx.set('Retry-After', String(err.retryAfter));
      const reason = err.extensions.reason;
      await pages.render(koaCtx, 'signin', {
        title: 'Log in', next, username: fields.username?.slice(0, 256), ...await ssoButtons(),
        error: err instanceof RateLimited ? err.message : `${LOGIN_MESSAGES[err.code]}${typeof reason === 'string' ? ` Reason: ${reason}` : ''}`,
      }, err.status);
    }
  });

  router.post('/logout', pages.requireLogin(), async (koaCtx) => {
    await pages.form(koaCtx);
    await services.sessions.logout(actorOf(koaCtx), sessionOf(koaCtx));
    clearSessionCookies(koaCtx);
    pages.redirect(koaCtx, '/', 'logged-out');
  });
}
