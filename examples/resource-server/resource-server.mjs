// A tiny API protected by Gatehouse access tokens. Two routes:
//   GET /hello   any valid access token
//   GET /admin   only a token from a sign-in with a second factor; otherwise 401 with
//                WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="urn:gatehouse:acr:mfa"
//                (RFC 9470), which tells the app to send the user back to Gatehouse with those acr_values (step-up).
// `verify(token)` is one of verify-jwt.mjs (JWT access tokens, checked locally) or verify-introspection.mjs (any
// token, asked of Gatehouse).
import http from 'node:http';

export const ACR_MFA = 'urn:gatehouse:acr:mfa';

/** a token whose sign-in used a second factor (Gatehouse: acr urn:gatehouse:acr:mfa, amr contains "mfa") */
export function hasSecondFactor(claims) {
  return claims.acr === ACR_MFA || (Array.isArray(claims.amr) && claims.amr.includes('mfa'));
}

function deny(res, status, params) {
  const header = 'Bearer ' + Object.entries(params).map(([k, v]) => `${k}="${String(v).replace(/["\\]/g, '')}"`).join(', ');
  res.writeHead(status, { 'www-authenticate': header, 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: params.error, error_description: params.error_description }));
}

export function createResourceServer({ verify, realm = 'api' }) {
  return http.createServer(async (req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    if (req.method !== 'GET' || (path !== '/hello' && path !== '/admin')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
    if (!m) return deny(res, 401, { realm });
    let claims;
    try {
      claims = await verify(m[1]);
    } catch (err) {
      return deny(res, 401, { realm, error: 'invalid_token', error_description: err.message ?? 'invalid token' });
    }
    if (path === '/admin' && !hasSecondFactor(claims)) {
      return deny(res, 401, {
        realm,
        error: 'insufficient_user_authentication',
        error_description: 'A sign-in with two-factor authentication is required',
        acr_values: ACR_MFA,
      });
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ route: path, sub: claims.sub, acr: claims.acr, amr: claims.amr }));
  });
}
