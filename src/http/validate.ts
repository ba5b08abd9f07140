import type Koa from 'koa';
import { z } from 'zod';
import { ValidationFailed, type FieldError } from './errors.js';

export type Schemas = { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType };
type Parsed<S extends Schemas> = { [K in keyof S]: S[K] extends z.ZodType ? z.output<S[K]> : never };

export function toFieldErrors(where: string, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
}

/**
 * The one validation helper: checks path params, query and body against zod schemas and
 * returns the typed values, or throws 400 validation_failed listing every problem.
 * Route handlers call it first, before any other work.
 */
export function validate<S extends Schemas>(ctx: Koa.Context, schemas: S): Parsed<S> {
  const sources: Record<string, unknown> = { params: ctx.params ?? {}, query: ctx.query, body: ctx.request.body };
  const errors: FieldError[] = [];
  const out: Record<string, unknown> = {};
  for (const [where, schema] of Object.entries(schemas) as Array<[string, z.ZodType]>) {
    const result = schema.safeParse(sources[where]);
    if (result.success) out[where] = result.data;
    else errors.push(...toFieldErrors(where, result.error));
  }
  if (errors.length > 0) throw new ValidationFailed(errors);
  return out as Parsed<S>;
}

// Shared field types. Every text field is bounded and refuses NUL bytes (a database error otherwise).
export const text = (min: number, max: number) =>
  z.string().min(min).max(max).refine((v) => !v.includes('\u0000'), 'must not contain NUL bytes');

export const uuid = z.uuid({ message: 'must be a UUID' });
export const idParams = z.object({ id: uuid });
export const noBody = z.undefined({ message: 'this request takes no body' }).or(z.strictObject({}));
/** For PATCH-like bodies where every field is optional: an empty one is refused. */
export const atLeastOneField = [(v: object) => Object.keys(v).length > 0, 'send at least one field'] as const;
export const reasonBody = z.strictObject({ reason: text(1, 500).optional() }).optional();

declare module 'koa' {
  interface Context { params?: Record<string, string> }
}
