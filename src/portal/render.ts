import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type Koa from 'koa';
import { asClientError } from '../http/problem.js';

// views/ sits at the repository root: two levels above src/portal, three above dist/src/portal.
const here = path.dirname(fileURLToPath(import.meta.url));
export const VIEWS_DIR = [path.resolve(here, '../../views'), path.resolve(here, '../../../views')]
  .find((dir) => fs.existsSync(path.join(dir, 'layout.eta'))) ?? path.resolve('views');

// Escapes every <%= %> (the default); templates are read once and cached.
const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true });

/** Renders a page of views/ as the response, with headers that keep it out of frames and caches. */
export function renderPage(ctx: Koa.Context, template: string, data: Record<string, unknown>, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src https:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'");
  ctx.body = eta.render(template, data);
}

/** For page routes: an error becomes an HTML page with its status instead of problem+json. */
export function htmlErrors(): Koa.Middleware {
  return async function renderErrorPage(ctx, next) {
    try {
      await next();
    } catch (err) {
      const known = asClientError(err);
      if (known) return renderPage(ctx, 'error', { title: known.title, message: known.message }, known.status);
      // Unexpected: logged with the request id, and the visitor gets a page without details.
      ctx.state.log?.error({ err }, 'unexpected error');
      renderPage(ctx, 'error', { title: 'Something went wrong', message: `Try again later. (Request ${ctx.state.requestId})` }, 500);
    }
  };
}

const STYLESHEET = fs.readFileSync(path.join(VIEWS_DIR, 'portico.css'));

/** GET /assets/portico.css */
export function serveStylesheet(ctx: Koa.Context): void {
  ctx.type = 'text/css; charset=utf-8';
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.body = STYLESHEET;
}
