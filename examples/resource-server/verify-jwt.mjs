// Style 1: JWT access tokens, checked locally with `jose` against Gatehouse's published keys.
// Gatehouse issues a JWT (ES256) when the app asks for this API as a `resource` (RFC 8707): its `aud` is that URL.
import { createRemoteJWKSet, jwtVerify } from 'jose';

export async function jwtVerifier({ issuer, audience }) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  if (meta.issuer !== issuer) throw new Error(`discovery names issuer ${meta.issuer}, expected ${issuer}`);
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  return async (token) => {
    // signature (a key from the JWKS), iss, aud, exp/nbf, and the RFC 9068 type; then the user claims we rely on
    const { payload } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['ES256', 'RS256'], clockTolerance: 5 });
    return { sub: payload.sub, acr: payload.acr, amr: payload.amr, scope: payload.scope, client_id: payload.client_id };
  };
}
