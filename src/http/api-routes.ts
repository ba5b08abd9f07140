import type Router from '@koa/router';
import type Koa from 'koa';
import type { z } from 'zod';
import { validate, type Schemas } from './validate.js';

/**
 * Who may call a route, as the OpenAPI document tells it. 'org-admin': the platform admin or an
 * admin of the organization in the path (the service decides; others get 404). 'application': an
 * application's back end with its client_credentials access token (no session).
 */
export type Access = 'anyone' | 'session' | 'admin' | 'org-admin' | 'application';
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** One management API route as documented: the schemas it validates with are the documentation. */
export interface ApiRoute {
  method: Method;
  path: string;
  summary: string;
  access: Access;
  schemas: Schemas;
  status: 200 | 201 | 204;
}

type Schema = z.ZodType | undefined;
type Output<T extends Schema> = T extends z.ZodType ? z.output<T> : undefined;

interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema> {
  summary: string;
  /** 200 by default; a 204 route's handler returns nothing. */
  status?: ApiRoute['status'];
  /** Overrides the access of the registrar (a public router with one session-only route). */
  access?: Access;
  /** Middleware run before validation (for example requireSession). */
  use?: Koa.Middleware[];
  params?: P;
  query?: Q;
  body?: B;
}

type Handler<P extends Schema, Q extends Schema, B extends Schema> =
  (input: { params: Output<P>; query: Output<Q>; body: Output<B> }, ctx: Koa.Context) => unknown;
type Register = <P extends Schema = undefined, Q extends Schema = undefined, B extends Schema = undefined>(
  path: string, spec: RouteSpec<P, Q, B>, handler: Handler<P, Q, B>) => void;
export type ApiRegistrar = Record<Method, Register>;

/** Every route registered through `apiRoutes`, for the OpenAPI document. */
export type RouteCatalog = ApiRoute[];

/**
 * Registers management API routes on a Koa router: each route validates its params, query and
 * body with its zod schemas (one guard, before any other work), answers with the handler's
 * return value, and is recorded in the catalog the OpenAPI document is generated from.
 */
export function apiRoutes(router: Router, catalog: RouteCatalog, access: Access): ApiRegistrar {
  const register = (method: Method): Register => (path, spec, handler) => {
    const schemas: Schemas = {};
    for (const where of ['params', 'query', 'body'] as const) if (spec[where]) schemas[where] = spec[where];
    const status = spec.status ?? 200;
    catalog.push({ method, path, summary: spec.summary, access: spec.access ?? access, schemas, status });
    router[method](path, ...(spec.use ?? []), async (ctx: Koa.Context) => {
      const result = await handler(validate(ctx, schemas) as never, ctx);
      ctx.status = status;
      if (status !== 204) ctx.body = result;
    });
  };
  return { get: register('get'), post: register('post'), put: register('put'), patch: register('patch'), delete: register('delete') };
}
