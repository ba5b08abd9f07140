import type { z } from 'zod';
import { PorticoError, ValidationFailed } from '../http/errors.js';
import { toFieldErrors } from '../http/validate.js';

/** The fields of a posted form as a schema expects them: no CSRF field, empty optional fields left out. */
export function formInput<T extends z.ZodType>(schema: T, fields: Record<string, string>, keepEmpty: string[] = []): z.output<T> {
  const input = Object.fromEntries(Object.entries(fields).filter(([key, value]) => key !== '_csrf' && (value !== '' || keepEmpty.includes(key))));
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationFailed(toFieldErrors('body', parsed.error));
  return parsed.data;
}

/** The status of a page re-rendered after a failed post: the error's own (409 for a taken name, ...). */
export function formStatus(err: unknown): number {
  return err instanceof PorticoError ? err.status : 400;
}

/** What a form shows above itself when its post failed: the problem, field by field when it is about fields. */
export function formError(err: unknown): string {
  if (err instanceof ValidationFailed) {
    const errors = (err.extensions.errors as Array<{ path: string; message: string }>) ?? [];
    return errors.map((e) => (e.path ? `${e.path.replace(/^body\./, '')}: ${e.message}` : e.message)).join('; ') || err.message;
  }
  if (err instanceof PorticoError) return err.message;
  throw err;
}
