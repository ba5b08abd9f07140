import { z } from 'zod';

/** Keyset cursor over (timestamp, id), opaque to clients. */
export interface Cursor { at: Date; id: string }

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

const cursorParam = z.string().max(200).transform((value, ctx) => {
  try {
    const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as [string, string];
    // Only what encodeCursor makes: an ISO instant PostgreSQL can hold, and a uuid.
    const date = new Date(at);
    // (Year 0 parses in JavaScript but is out of PostgreSQL's range.)
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(at) || Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1
      || !z.uuid().safeParse(id).success) {
      throw new Error('not a cursor');
    }
    return { at: date, id };
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this list' });
    return z.NEVER;
  }
});

/** `?limit=&cursor=` of every list; merge extra filters into it with `.extend`. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorParam.optional(),
});

export interface Page<T> { items: T[]; nextCursor: string | null }

/** Takes `limit + 1` rows fetched in order and returns one page with the next cursor. */
export function toPage<Row, T>(rows: Row[], limit: number, key: (row: Row) => Cursor, render: (row: Row) => T): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    items: pageRows.map(render),
    nextCursor: more && last ? encodeCursor(key(last).at, key(last).id) : null,
  };
}
