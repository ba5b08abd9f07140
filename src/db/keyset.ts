import { sql, type SelectQueryBuilder } from 'kysely';
import type { Cursor } from '../http/pagination.js';

/**
 * One page of a list in (time, id) order: the rows after the cursor, `limit + 1` of them so that
 * `toPage` can tell whether more follow. Column names as SQL references ('created_at', 'table.id').
 */
export function keysetPage<QB extends SelectQueryBuilder<any, any, any>>(
  query: QB, page: { cursor?: Cursor; limit: number }, columns: { at: string; id: string }, order: 'asc' | 'desc' = 'desc',
): QB {
  const at = sql.ref(columns.at);
  const id = sql.ref(columns.id);
  let paged = query;
  if (page.cursor) {
    paged = paged.where(sql<boolean>`(${at}, ${id}) ${sql.raw(order === 'desc' ? '<' : '>')} (${page.cursor.at}, ${page.cursor.id})`) as QB;
  }
  return paged.orderBy(at, order).orderBy(id, order).limit(page.limit + 1) as QB;
}
