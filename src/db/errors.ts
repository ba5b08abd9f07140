/** PostgreSQL SQLSTATE 23505 (pg and PGlite both expose `code`). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** A delete refused because rows still reference the row: 23001 (on delete restrict) or 23503 (no action). */
export function isStillReferenced(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string } | null;
  return (e?.code === '23001' || e?.code === '23503') && (constraint === undefined || e.constraint === constraint);
}
