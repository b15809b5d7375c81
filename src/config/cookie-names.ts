// Cookie names. On an https issuer every cookie is Secure, and gets the strongest prefix its path allows (RFC 6265bis):
// `__Host-` (Secure, no Domain, Path=/) where the path is `/`; `__Secure-` where the cookie is bound to a path (the
// provider's interaction cookies live under /interaction/<uid> and /oidc/auth/<uid>, the account sign-in's state
// under /account). On plain http (development, loopback tests) browsers refuse prefixed cookies, so there are none.
export function cookieNames(secure: boolean) {
  const host = (name: string) => (secure ? `__Host-${name}` : name);
  const pathBound = (name: string) => (secure ? `__Secure-${name}` : name);
  return {
    /** the provider's session (Path=/) */
    session: host('session'),
    /** the provider's interaction (Path=/interaction/<uid>) and its resume (Path=/oidc/auth/<uid>) */
    interaction: pathBound('interaction'),
    resume: pathBound('interaction_resume'),
    /** our forms' CSRF secret (Path=/) */
    csrf: host('csrf'),
    /** the device cookie (Path=/) */
    device: host('gh_device'),
    /** the account pages' sign-in state (Path=/account) */
    accountState: pathBound('gh_account_state'),
  };
}
