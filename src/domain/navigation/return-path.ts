// Where a page sends someone back to after signing in ("deep links survive sign-in"). Only a path on our own origin
// is ever followed: the value passes through a signed cookie and a redirect, and a browser reads `//host`, `/\host`
// and `\\host` as other origins, so anything that is not a plain absolute path is dropped rather than repaired.

/** long enough for any page of ours with its query; a longer value is not a link we made */
const MAX_LENGTH = 512;
const BASE = 'http://return.invalid';

/** the same-origin path `value` names (path and query), or null when it is not one we would follow */
export function safeReturnPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return null;
  // one leading slash, then no second slash or backslash: `//evil` and `/\evil` are protocol-relative to a browser
  if (!value.startsWith('/') || value[1] === '/' || value[1] === '\\') return null;
  // control characters (a browser strips tabs and newlines, which can turn `/\t/evil` into `//evil`), spaces and
  // backslashes anywhere: none occurs in a link of ours
  if (/[\u0000-\u0020\u007f-\u009f\\]/.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  // the provider's own endpoints and the sign-in pages themselves are never a place to come back to (a loop)
  if (/^\/(oidc|interaction|account\/(sign-in|callback))(\/|$)/.test(url.pathname)) return null;
  return `${url.pathname}${url.search}`;
}
