/** PostgreSQL SQLSTATE 23505 (pg and PGlite both expose `code`). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/**
 * A foreign key refused the change: a delete of a row still referenced (23001 under `on delete
 * restrict`, 23503 under `no action`), or an insert naming a row that is gone (23503).
 */
export function isForeignKeyViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return (e?.code === '23001' || e?.code === '23503') && (constraint === undefined || e.constraint === constraint);
}
