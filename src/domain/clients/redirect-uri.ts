// Where a provider may send codes and users back to: the rules of OAuth 2.0 Security BCP and RFC 8252 (native apps),
// checked once here for every way a client is registered or changed (CLI, services), so that what is stored is what
// the provider will accept and nothing an attacker could widen.
import { ValidationError } from '../errors.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
// schemes a browser runs or reads locally: never a place to send a code
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'filesystem:']);

export type RedirectKind = 'web' | 'loopback' | 'private-use';

function refuse(what: string, uri: string, why: string): never {
  throw new ValidationError('invalid_redirect_uri', `${what} "${uri}" ${why}`);
}

/**
 * Checks one redirect (or post-logout redirect) URI and says what kind it is. Exact strings only: the provider
 * compares them character for character, so a wildcard would never match and only misleads the operator.
 */
export function checkRedirectUri(uri: string, what = 'Redirect URI'): RedirectKind {
  if (uri.includes('*')) refuse(what, uri, 'has a wildcard: register every exact URI (the provider compares them exactly).');
  if (uri.includes('#')) refuse(what, uri, 'must not have a fragment (#…).');
  const u = URL.parse(uri);
  if (!u || !/^[a-z][a-z0-9+.-]*:/i.test(uri)) refuse(what, uri, 'is not an absolute URI: start it with https://.');
  if (u.username || u.password) refuse(what, uri, 'must not carry a user name or password.');
  if (u.protocol === 'https:') {
    if (!u.hostname) refuse(what, uri, 'has no host.');
    return 'web';
  }
  if (u.protocol === 'http:') {
    if (LOOPBACK_HOSTS.has(u.hostname)) return 'loopback';
    refuse(what, uri, 'uses http: only loopback addresses (127.0.0.1, [::1], localhost) may; use https.');
  }
  if (FORBIDDEN_SCHEMES.has(u.protocol)) refuse(what, uri, `uses the ${u.protocol.slice(0, -1)} scheme, which can never be a redirect target.`);
  // "localhost:8080/callback" parses as the scheme "localhost:": the operator forgot the scheme
  if (LOOPBACK_HOSTS.has(u.protocol.slice(0, -1)) || /^\d/.test(u.pathname)) {
    refuse(what, uri, `has no scheme: write http://${uri} (loopback) or https://….`);
  }
  // RFC 8252 §7.1: a native app's private-use scheme is a reverse domain name it controls (com.example.app:/cb)
  if (!u.protocol.slice(0, -1).includes('.')) {
    refuse(what, uri, 'uses a private-use scheme that is not a reverse domain name: native apps use one like com.example.app:/callback.');
  }
  return 'private-use';
}

/** a back-channel logout URI: the provider calls it server to server, so https (or http on loopback, development) */
export function checkBackchannelUri(uri: string): string {
  const kind = checkRedirectUri(uri, 'Back-channel logout URI');
  if (kind === 'private-use') refuse('Back-channel logout URI', uri, 'must be an https URL the provider can call.');
  return uri;
}

/**
 * The OIDC application type the URIs call for: a private-use scheme is a native app's (oidc-provider accepts those
 * only from `native` clients); everything else is a web client.
 */
export function applicationType(uris: string[]): 'web' | 'native' {
  return uris.some((u) => checkRedirectUri(u) === 'private-use') ? 'native' : 'web';
}
