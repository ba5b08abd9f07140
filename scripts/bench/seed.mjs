// Seeds the benchmark's callers through the API, as an operator and a developer would: a product,
// an approved subscription of the developer's default consumer, an API key and an AK/SK pair on
// it (with a daily quota high enough for any run), online applications with their tokens, a web
// application (authorization code and refresh tokens) and the accounts the login row signs in as.
export const PRODUCT = { slug: 'bench-model', routePrefix: '/bench/model' };
const DEVELOPER = { username: 'bench-developer', password: 'bench-developer-password' };
export const REDIRECT_URI = 'https://merchant.bench.example/callback';
/** Registrations from one address are limited (20 per 10 minutes): the developer and these fit. */
const LOGIN_ACCOUNTS = 10;

function client(baseUrl) {
  return async function call(method, pathname, body, token) {
    const res = await fetch(baseUrl + pathname, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body && JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${pathname} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/**
 * `applications` online applications (client_credentials only), each with a token from
 * /openapi/v1/token: an online application's daily quota is 100,000 calls and can be raised only
 * once 80 % of it is used, so the JWT row spreads its calls over several.
 */
export async function seed(baseUrl, { admin, applications }) {
  const call = client(baseUrl);
  const adminToken = (await call('POST', '/api/v1/auth/login', admin)).token;
  const register = async (account) => {
    const developer = await call('POST', '/api/v1/developers', account);
    if (developer.status === 'pending') await call('POST', `/api/v1/admin/developers/${developer.id}/approve`, {}, adminToken);
  };

  await register(DEVELOPER);
  const users = Array.from({ length: LOGIN_ACCOUNTS }, (_, i) => ({ username: `bench-user-${i + 1}`, password: `bench-user-password-${i + 1}` }));
  for (const user of users) await register(user);
  const devToken = (await call('POST', '/api/v1/auth/login', DEVELOPER)).token;
  const consumers = (await call('GET', '/api/v1/consumers', undefined, devToken)).items;
  const consumerId = (consumers.find((c) => c.isDefault) ?? consumers[0]).id;

  const product = await call('POST', '/api/v1/admin/products', {
    slug: PRODUCT.slug, name: 'Bench model', type: 'model', category: 'text', description: 'The benchmark product',
    overview: '', guide: '', sampleRequests: [], routePrefix: PRODUCT.routePrefix,
  }, adminToken);
  const subscription = await call('POST', '/api/v1/subscriptions', { productId: product.id, consumerId }, devToken);
  if (subscription.status === 'pending') await call('POST', `/api/v1/admin/subscriptions/${subscription.id}/approve`, {}, adminToken);

  const { apiKey } = await call('POST', `/api/v1/consumers/${consumerId}/credentials`, { type: 'api-key' }, devToken);
  const { accessKey, secretKey } = await call('POST', `/api/v1/consumers/${consumerId}/credentials`, { type: 'ak-sk' }, devToken);
  await call('PUT', `/api/v1/admin/consumers/${consumerId}/quota`, { dailyQuota: 1_000_000_000 }, adminToken);

  const apps = [];
  for (let i = 0; i < applications; i += 1) {
    const app = await call('POST', '/api/v1/applications', { name: `Bench ${i + 1}`, grantTypes: ['client_credentials'], consumerId }, devToken);
    await call('POST', `/api/v1/applications/${app.id}/go-live`, undefined, devToken);
    const online = await call('POST', `/api/v1/admin/applications/${app.id}/approve`, {}, adminToken);
    const { token } = await call('POST', '/openapi/v1/token', { clientId: app.clientId, clientSecret: app.clientSecret });
    apps.push({ id: app.id, clientId: app.clientId, clientSecret: app.clientSecret, dailyQuota: online.dailyQuota, token });
  }
  const web = await call('POST', '/api/v1/applications', { name: 'Bench web', redirectUris: [REDIRECT_URI], consumerId }, devToken);
  return { consumerId, productId: product.id, apiKey, accessKey, secretKey, applications: apps, users, web: { clientId: web.clientId, clientSecret: web.clientSecret } };
}
