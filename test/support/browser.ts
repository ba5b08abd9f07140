/**
 * A minimal browser for server-rendered flows: keeps cookies (one jar per host, as a browser
 * does: Portico and a test identity provider both run oidc-provider, whose cookies share names),
 * follows redirects one by one (stopping at a URL the test names), posts forms. No JavaScript,
 * as the pages need none.
 */
export function browser() {
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

  /** Follows redirects from a response until a page, or until the Location starts with `stopAt`. */
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
    /** The cookies this browser holds for the host of `url`. */
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
export type Browser = ReturnType<typeof browser>;

/** The action and hidden fields of the form whose submit button has this label. */
export function formWithButton(html: string, label: string): { action: string; fields: Record<string, string> } {
  for (const match of html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const [, action, body] = match;
    if (!body!.includes(`>${label}</button>`)) continue;
    const fields: Record<string, string> = {};
    for (const input of body!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[input[1]!] = input[2]!;
    return { action: action!.replace(/&amp;/g, '&'), fields };
  }
  throw new Error(`no form with a "${label}" button in:\n${html}`);
}
