// Refresh tokens for the refresh-grant row, obtained the way a merchant's users get them: one
// login and consent through Portico's pages, then further authorization requests in the same
// browser session (answered at once with a code), each code exchanged at the token endpoint.
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** A cookie jar and redirects followed one by one, stopping at the merchant's redirect URI. */
function browser(stopAt) {
  const jar = new Map();
  async function request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  }
  async function follow(res, url) {
    while (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      if (url.startsWith(stopAt)) return { url };
      await res.arrayBuffer();
      res = await request(url);
    }
    return { url, html: await res.text() };
  }
  return {
    open: async (url) => follow(await request(url), url),
    async submit(html, base, label, fields = {}) {
      const form = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((m) => m[2].includes(`>${label}</button>`));
      if (!form) throw new Error(`no "${label}" form on ${base}`);
      const hidden = Object.fromEntries([...form[2].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]));
      const url = new URL(form[1].replace(/&amp;/g, '&'), base).href;
      const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...hidden, ...fields }) });
      return follow(res, url);
    },
  };
}

/** `count` refresh tokens of one user for one application (confidential, authorization_code + refresh_token). */
export async function refreshTokens(baseUrl, { app, redirectUri, user, count }) {
  const b = browser(redirectUri);
  const authorize = () => b.open(`${baseUrl}/oauth2/authorize?${new URLSearchParams({
    client_id: app.clientId, response_type: 'code', redirect_uri: redirectUri, scope: 'openid', state: 'bench',
  })}`);
  let page = await authorize();
  if (!page.url.startsWith(redirectUri)) page = await b.submit(page.html, page.url, 'Log in', user);
  if (!page.url.startsWith(redirectUri)) page = await b.submit(page.html, page.url, 'Allow');
  const tokens = [];
  for (let i = 0; i < count; i += 1) {
    if (i > 0) page = await authorize();
    const code = new URL(page.url).searchParams.get('code');
    if (!code) throw new Error(`the authorization request ended at ${page.url}`);
    const res = await fetch(`${baseUrl}/oauth2/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
      headers: { authorization: basic(app.clientId, app.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    });
    const body = await res.json();
    if (!body.refresh_token) throw new Error(`the code exchange answered ${res.status}: ${JSON.stringify(body)}`);
    tokens.push(body.refresh_token);
  }
  return tokens;
}
