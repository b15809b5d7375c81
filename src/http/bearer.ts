/** the token of an `Authorization: Bearer <token>` header (RFC 6750), or null */
export function bearerToken(header: unknown): string | null {
  const m = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1]! : null;
}
