/**
 * Constraint violations, recognised the same way on SQLite (better-sqlite3 error codes) and
 * PostgreSQL (SQLSTATE). Repositories catch them and re-read the rows to find out which
 * business rule a race broke, rather than parsing dialect-specific messages.
 */
function codeOf(err: unknown): unknown {
  return err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
