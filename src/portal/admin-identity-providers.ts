import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { createProviderBody, DEFAULT_SCOPES, updateProviderBody } from '../federation/schemas.js';
import type { FederationService } from '../federation/service.js';
import { actorOf } from '../http/session.js';
import { idParams, validate } from '../http/validate.js';
import { formError, formInput, formStatus } from './forms.js';
import type { PageSessions } from './page-session.js';

type FormValues = Record<string, string>;
type Provider = Awaited<ReturnType<FederationService['get']>>;

const words = (value: string | undefined) => (value ?? '').split(/[\s,]+/).filter(Boolean);

/**
 * The provider form's texts as the API's body: scopes and email domains are typed as lists
 * separated by spaces or commas; an unchecked "enabled" sends nothing (false); an empty secret
 * keeps the stored one (update) and empty scopes the defaults (create).
 */
function providerForm<T extends z.ZodType>(body: T, mode: 'create' | 'update') {
  return z.preprocess((input) => {
    const fields = input as Record<string, string | undefined>;
    const scopes = words(fields.scopes);
    return {
      ...(mode === 'create' ? { slug: fields.slug ?? '', clientSecret: fields.clientSecret ?? '' } : {}),
      ...(fields.clientSecret ? { clientSecret: fields.clientSecret } : {}),
      name: fields.name ?? '', issuer: fields.issuer ?? '', clientId: fields.clientId ?? '',
      ...(scopes.length ? { scopes } : {}),
      enabled: fields.enabled === 'true', emailDomains: words(fields.emailDomains),
    };
  }, body);
}
const createForm = providerForm(createProviderBody, 'create');
const updateForm = providerForm(updateProviderBody, 'update');

function valuesOf(provider: Provider): FormValues {
  return {
    slug: provider.slug, name: provider.name, issuer: provider.issuer, clientId: provider.clientId,
    scopes: provider.scopes.join(' '), enabled: String(provider.enabled), emailDomains: provider.emailDomains.join(' '),
  };
}

/** What the form posted, to show beside the error; never the secret. */
function postedValues(fields: FormValues): FormValues {
  const { slug = '', name = '', issuer = '', clientId = '', scopes = '', emailDomains = '' } = fields;
  return { slug, name, issuer, clientId, scopes, emailDomains, enabled: String(fields.enabled === 'true') };
}

/** /admin/identity-providers: enterprise SSO providers, their editor (with the redirect URI to register upstream), deletion. */
export function mountAdminIdentityProviderPages(router: Router, federation: FederationService, pages: PageSessions): void {
  const admin = pages.requireAdmin();

  async function editor(koaCtx: Koa.Context, data: { provider?: Provider; values: FormValues; error?: string }, status = 200) {
    const title = data.provider ? `Edit ${data.provider.name}` : 'New identity provider';
    await pages.render(koaCtx, 'admin-identity-provider-form', { title, ...data }, status);
  }

  router.get('/admin/identity-providers', admin, async (koaCtx) => {
    const page = await federation.list({ limit: 100 });
    await pages.render(koaCtx, 'admin-identity-providers', { title: 'Identity providers', providers: page.items });
  });

  // Before /:id, which would take "new" for an id.
  router.get('/admin/identity-providers/new', admin, (koaCtx) =>
    editor(koaCtx, { values: { scopes: DEFAULT_SCOPES.join(' '), enabled: 'true' } }));

  router.post('/admin/identity-providers', admin, async (koaCtx) => {
    const fields = await pages.form(koaCtx);
    try {
      const created = await federation.create(actorOf(koaCtx), formInput(createForm, fields));
      pages.redirect(koaCtx, `/admin/identity-providers/${created.id}`, 'saved');
    } catch (err) {
      await editor(koaCtx, { values: postedValues(fields), error: formError(err) }, formStatus(err));
    }
  });

  router.get('/admin/identity-providers/:id', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const provider = await federation.get(params.id);
    await editor(koaCtx, { provider, values: valuesOf(provider) });
  });

  router.post('/admin/identity-providers/:id', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const fields = await pages.form(koaCtx);
    const provider = await federation.get(params.id);
    try {
      await federation.update(actorOf(koaCtx), provider.id, formInput(updateForm, fields));
      pages.redirect(koaCtx, `/admin/identity-providers/${provider.id}`, 'saved');
    } catch (err) {
      await editor(koaCtx, { provider, values: postedValues(fields), error: formError(err) }, formStatus(err));
    }
  });

  router.get('/admin/identity-providers/:id/delete', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    const provider = await federation.get(params.id);
    await pages.render(koaCtx, 'admin-identity-provider-delete', { title: `Delete identity provider ${provider.name}?`, provider });
  });

  router.post('/admin/identity-providers/:id/delete', admin, async (koaCtx) => {
    const { params } = validate(koaCtx, { params: idParams });
    await pages.form(koaCtx);
    await federation.remove(actorOf(koaCtx), params.id);
    pages.redirect(koaCtx, '/admin/identity-providers', 'deleted');
  });
}
