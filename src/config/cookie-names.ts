// Cookie names. On an https issuer every cookie is Secure, and gets the strongest prefix its path allows (RFC 6265bis):
// `__Host-` (Secure, no Domain, Path=/) where the path is `/`; `__Secure-` where the cookie is bound to a path (the
// provider's interaction cookies live under /interaction/<uid> and /oidc/auth/<uid>, the account sign-in's state
// under /account). On plain http (development, loopback tests) browsers refuse prefixed cookies, so there are none.
export function cookieNames(secure: boolean) {
  // on http: the libraries' usual names (oidc-provider's `_session`…, @fastify/csrf-protection's `_csrf`)
  const host = (name: string, plain: string) => (secure ? `__Host-${name}` : plain);
  const pathBound = (name: string, plain: string) => (secure ? `__Secure-${name}` : plain);
  return {
    /** the provider's session (Path=/) */
    session: host('session', '_session'),
    /** the provider's interaction (Path=/interaction/<uid>) and its resume (Path=/oidc/auth/<uid>) */
    interaction: pathBound('interaction', '_interaction'),
    resume: pathBound('interaction_resume', '_interaction_resume'),
    /** our forms' CSRF secret (Path=/) */
    csrf: host('csrf', '_csrf'),
    /** the device cookie (Path=/) */
    device: host('gh_device', 'gh_device'),
    /** the account pages' sign-in state (Path=/account) */
    accountState: pathBound('gh_account_state', 'gh_account_state'),
    /** the language chosen with the page footer's switcher (Path=/) */
    locale: host('gh_locale', 'gh_locale'),
  };
}
