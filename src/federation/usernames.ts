/**
 * The username of a new federated account (api.md section 3): from `preferred_username`, else the
 * email's local part, else the subject, reduced to what usernames allow (letters, digits, ".",
 * "_", "-"; 3 to 64 characters). The account service then makes it unique (`-2`, `-3`, ...).
 */
export function usernameBaseOf(claims: { sub: string; preferred_username?: unknown; email?: unknown }): string {
  for (const source of [claims.preferred_username, claims.email, claims.sub]) {
    if (typeof source !== 'string') continue;
    const base = cleaned(source.includes('@') ? source.slice(0, source.lastIndexOf('@')) : source);
    if (base.length >= 3) return base;
  }
  return 'user';
}

function cleaned(value: string): string {
  return value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '') // "José" -> "Jose"
    .replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')
    .slice(0, 56) // room for a "-NN" suffix within 64
    .replace(/-+$/, '');
}
