import { browser, formWithButton } from '../support/browser.js';

/** Logs in through the portal's form and returns the browser holding the session. */
export async function logIn(url: string, username: string, password: string) {
  const b = browser();
  const form = formWithButton(await (await b.open(`${url}/login`)).res.text(), 'Log in');
  const done = await b.submit(form.action, url, { ...form.fields, username, password });
  if (done.res.status !== 200) throw new Error(`log in of ${username} failed: ${done.res.status}`);
  return b;
}

/** The form a row's button sits in, found by the form's accessible name. */
export function namedForm(html: string, name: string, button: string) {
  const at = html.indexOf(`aria-label="${name}"`);
  if (at < 0) throw new Error(`no form named "${name}" in:\n${html}`);
  return formWithButton(html.slice(html.lastIndexOf('<form', at)), button);
}

/** Opens a page in a browser and reads it. */
export async function openPage(b: ReturnType<typeof browser>, url: string) {
  const { res, url: at } = await b.open(url);
  return { status: res.status, url: at, html: await res.text() };
}
